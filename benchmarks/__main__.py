"""`make bench`: every benchmark in turn, each printing a Markdown table; the numbers go to benchmarks/results/.

    python -m benchmarks [--scale S] [--only NAME ...]

Every comparison is a ratio of measurements taken side by side in the same run, and every time is a
median over repeats: the machines are shared and noisy, so absolute seconds are not stable.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import time
from pathlib import Path

BENCHMARKS = ("bench_log", "bench_read", "bench_site", "bench_build", "bench_size", "bench_page", "bench_table",
              "bench_markdown", "bench_serve", "bench_zoom", "bench_storage")
RESULTS = Path(__file__).resolve().parent / "results"


def available() -> list[str]:
    here = Path(__file__).resolve().parent
    return [name for name in BENCHMARKS if (here / f"{name}.py").exists()]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink every workload (smoke runs use 0.01)")
    parser.add_argument("--only", nargs="*", default=None, help="benchmark modules to run")
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/results/")
    options = parser.parse_args(argv)
    names = options.only or available()
    print(f"# flowsheet benchmarks ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, scale {options.scale:g})\n")
    results = {}
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        results[name] = module.run(options.scale)
        print()
    if not options.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str))
    return results


if __name__ == "__main__":
    main()
