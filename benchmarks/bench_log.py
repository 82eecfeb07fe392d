"""Logging speed: log_metric / log_metrics against a raw orjson append loop, and the cost of `import logger`."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from benchmarks.common import side_by_side, table

ROOT = Path(__file__).resolve().parents[1]


def run(scale: float = 1.0) -> dict:
    import logger

    calls = max(1000, int(100_000 * scale))
    keys = [f"metric_{i}" for i in range(10)]
    repeats = 5 if scale >= 1 else 2
    with tempfile.TemporaryDirectory() as folder:
        logger.set_log_dir(folder)
        raw_path = Path(folder) / "raw.jsonl"

        def raw_loop():  # the limit: the same events, appended with no checks at all
            dumps, option, now = orjson.dumps, orjson.OPT_APPEND_NEWLINE, time.time
            with open(raw_path, "ab") as file:
                write = file.write
                for i in range(calls):
                    write(dumps({"v": 1, "kind": "metric", "t": int(now() * 1000), "key": keys[i % 10],
                                 "value": i * 0.001, "step": i}, option=option))

        def fluent_loop():
            with logger.start_run():
                logger.log_params({f"param_{i}": i for i in range(20)})
                log_metric = logger.log_metric
                for i in range(calls):
                    log_metric(keys[i % 10], i * 0.001, step=i)

        def batch_loop():
            with logger.start_run():
                log_metrics = logger.log_metrics
                for i in range(calls // 10):
                    log_metrics({key: i * 0.001 for key in keys}, step=i)

        seconds = side_by_side({"raw": raw_loop, "log_metric": fluent_loop, "log_metrics": batch_loop}, repeats)
        logger.set_log_dir(None)
    rate = calls / seconds["log_metric"]
    ratio = seconds["raw"] / seconds["log_metric"]
    batch_rate = calls / seconds["log_metrics"]
    import_ms = import_overhead_ms("import logger", 10 if scale >= 1 else 3)
    alias_ms = import_overhead_ms("import flowsheet", 10 if scale >= 1 else 3)
    first_use_ms = import_overhead_ms("import logger; logger.set_log_dir(__import__('tempfile').mkdtemp()); "
                                      "logger.log_metric('x', 1.0)", 10 if scale >= 1 else 3)
    rows = [
        {"measure": "log_metric calls/s", "value": f"{rate:,.0f}", "target": ">= 300,000", "met": rate >= 300_000},
        {"measure": "log_metric rate / raw orjson loop", "value": f"{ratio:.2f}", "target": ">= 0.50",
         "met": ratio >= 0.5},
        {"measure": "log_metrics (10 keys) values/s", "value": f"{batch_rate:,.0f}", "target": ">= 1,000,000",
         "met": batch_rate >= 1_000_000},
        {"measure": "`import logger` over `python -c pass`", "value": f"{max(import_ms, 0):.0f} ms",
         "target": "<= 50 ms",
         "met": import_ms <= 50},
        {"measure": "`import flowsheet` over `python -c pass`", "value": f"{max(alias_ms, 0):.0f} ms",
         "target": "<= 50 ms", "met": alias_ms <= 50},
        {"measure": "`import logger` + first `log_metric` (loads orjson, starts a run, reads git)",
         "value": f"{first_use_ms:.0f} ms", "target": "(informative)"},
    ]
    print(table(f"Logging ({calls:,} calls, median of {repeats})", rows))
    return {"calls_per_s": rate, "ratio_to_raw": ratio, "batch_values_per_s": batch_rate, "import_ms": import_ms,
            "alias_import_ms": alias_ms,
            "first_use_ms": first_use_ms,
            "rows": rows}


def import_overhead_ms(code: str, repeats: int) -> float:
    """Median time of `python -c code` minus that of `python -c pass`, run alternately."""
    def timed(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        return time.perf_counter() - start

    bare, with_logger = [], []
    for _ in range(repeats):
        bare.append(timed("pass"))
        with_logger.append(timed(code))
    bare.sort()
    with_logger.sort()
    return (with_logger[len(with_logger) // 2] - bare[len(bare) // 2]) * 1000


if __name__ == "__main__":
    run()
