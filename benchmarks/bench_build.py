"""`reporter build` at sweep scale: cold (parallel) build, incremental rebuild, memory; against a bare parse.

At scale 1: 10,000 runs x 10 params x 5 metrics x 100 steps (5.1 M lines, `bench_site.write_runs`), and
100,000 runs x 10 params x 5 metrics x 10 steps for memory. Rows, measured side by side in one run:
- a bare `orjson.loads` loop over every line of the logs (read and split included): the peer;
- the cold build in a child process (`python -m reporter build`): its time and ratio to the bare loop
  (target <= 3x), its peak memory summed over the build and its pool workers (proportional set size,
  so pages the workers share with the parent count once; target < 400 MB);
- a second build after one appended line (target < 1 s and < 5% of the cold build): the wall time a
  user waits (start-up and reading the logs included), and the time after reading as the build reports it;
- the 100,000-run cold build's peak memory (target < 1.5 GB), stopped at CAP_HUGE_S.

    python -m benchmarks.bench_build [scale]
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from benchmarks.bench_site import append_metric, write_runs
from benchmarks.common import median_seconds, table
from benchmarks.process import ROOT

TARGET_RATIO, TARGET_MB, TARGET_REBUILD_S, TARGET_REBUILD_SHARE, TARGET_HUGE_MB = 3.0, 400.0, 1.0, 0.05, 1500.0
CAP_BUILD_S, CAP_HUGE_S = 240.0, 150.0  # a build still running then is stopped and reported as a miss


def sizes(scale: float) -> tuple[int, int]:
    """(runs of the main workload, runs of the memory workload): run counts shrink faster than scale,
    so --scale 0.01 takes seconds."""
    return max(3, round(10_000 * scale ** 1.5)), max(3, round(100_000 * scale ** 1.5))


def bare_parse(log_dir: Path) -> int:
    """Every line of every run file through orjson.loads: what reading the logs costs at the least."""
    loads, count = orjson.loads, 0
    for path in sorted(log_dir.glob("*/*/run.jsonl")):
        for line in path.read_bytes().splitlines():
            loads(line)
            count += 1
    return count


def tree_pss_kb(pid: int) -> int:
    """Proportional set size of a process and its descendants (a forked pool shares the parent's pages)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return total


def build_child(log_dir: Path, out_dir: Path, cap: float, *options: str) -> dict:
    """`python -m reporter build` with its wall time, the time it reports, and the peak memory of its tree."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "reporter", "build", str(log_dir), "-o", str(out_dir), *options],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    peak_kb, stopped = 0, False
    while process.poll() is None:
        peak_kb = max(peak_kb, tree_pss_kb(process.pid))
        if time.perf_counter() - started > cap:
            process.kill()
            stopped = True
            break
        time.sleep(0.1)
    out, err = process.communicate()
    wall = time.perf_counter() - started
    text = out.decode(errors="replace")
    reported = re.search(r"problem\(s\); ([0-9.]+) s", text)
    error = f"stopped after {cap:.0f} s" if stopped else \
        (None if process.returncode == 0 else err.decode(errors="replace").strip()[-200:])
    return {"wall_s": wall, "build_s": float(reported.group(1)) if reported else None, "peak_mb": peak_kb / 1024,
            "error": error, "cache": next((line for line in text.splitlines() if line.startswith("Build cache")), ""),
            "read": next((line for line in text.splitlines() if line.startswith("Read ")), "")}


def _met(value: float | None, limit: float) -> bool:
    return value is not None and value < limit


def run(scale: float = 1.0) -> dict:
    runs, huge_runs = sizes(scale)
    folder = Path(tempfile.mkdtemp(prefix="flowsheet-bench-build-"))
    rows: list[dict] = []
    results: dict = {"scale": scale, "runs": runs, "huge_runs": huge_runs}
    try:
        logs, site = folder / "logs", folder / "site"
        write_runs(logs, "sweep", runs, 10, 5, 100)
        label = f"{runs:,} runs x 10 params x 5 metrics x 100 steps"
        lines = bare_parse(logs)
        bare = median_seconds(lambda: bare_parse(logs), 3)
        serial = build_child(logs, folder / "serial", CAP_BUILD_S, "--jobs", "1")  # the pool's worth, side by side
        shutil.rmtree(folder / "serial", ignore_errors=True)
        cold = build_child(logs, site, CAP_BUILD_S)
        append_metric(logs)
        again = build_child(logs, site, CAP_BUILD_S)
        results.update(lines=lines, bare_s=bare, cold=cold, serial=serial, rebuild=again)
        rows.append({"measure": f"{label}: bare orjson.loads loop over its {lines:,} lines", "value": f"{bare:.2f} s"})
        if cold["error"]:
            rows.append({"measure": f"{label}: cold build", "value": f"failed: {cold['error']}",
                         "target": f"<= {TARGET_RATIO:g}x the bare loop", "met": False})
        else:
            ratio = cold["wall_s"] / bare
            rows.append({"measure": f"{label}: cold build (child process, start-up and reading included; "
                                    f"after reading: {cold['build_s']} s)",
                         "value": f"{cold['wall_s']:.2f} s = {ratio:.1f}x the bare loop",
                         "target": f"<= {TARGET_RATIO:g}x", "met": ratio <= TARGET_RATIO})
        if not serial["error"]:
            rows.append({"measure": f"{label}: the same cold build in one process (--jobs 1)",
                         "value": f"{serial['wall_s']:.2f} s = {serial['wall_s'] / bare:.1f}x the bare loop, "
                                  f"{serial['peak_mb']:,.0f} MB peak"})
        rows.append({"measure": f"{label}: cold build peak memory (build + pool workers, PSS)",
                     "value": f"{cold['peak_mb']:,.0f} MB", "target": f"< {TARGET_MB:g} MB",
                     "met": _met(cold["peak_mb"], TARGET_MB) and not cold["error"]})
        share = again["wall_s"] / cold["wall_s"] if not again["error"] and not cold["error"] else None
        rows.append({"measure": f"{label}: second build after one appended line (child process, start-up and "
                                f"reading included; after reading: {again['build_s']} s) [{again['read']}; "
                                f"{again['cache']}]",
                     "value": f"{again['wall_s']:.2f} s" if not again["error"] else f"failed: {again['error']}",
                     "target": f"< {TARGET_REBUILD_S:g} s",
                     "met": not again["error"] and again["wall_s"] < TARGET_REBUILD_S})
        rows.append({"measure": f"{label}: second build / cold build",
                     "value": f"{share:.1%}" if share is not None else "n/a",
                     "target": f"< {TARGET_REBUILD_SHARE:.0%}", "met": _met(share, TARGET_REBUILD_SHARE)})
        shutil.rmtree(logs, ignore_errors=True)
        shutil.rmtree(site, ignore_errors=True)

        huge = folder / "huge"
        write_runs(huge, "huge", huge_runs, 10, 5, 10)
        measured = build_child(huge, folder / "huge-site", CAP_HUGE_S)
        results["huge"] = measured
        note = f" ({measured['error']}: peak so far)" if measured["error"] else f" in {measured['wall_s']:.0f} s"
        rows.append({"measure": f"{huge_runs:,} runs x 10 params x 5 metrics x 10 steps: cold build peak memory{note}",
                     "value": f"{measured['peak_mb']:,.0f} MB", "target": f"< {TARGET_HUGE_MB:g} MB",
                     "met": _met(measured["peak_mb"], TARGET_HUGE_MB) and not measured["error"]})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(table(f"reporter build at sweep scale (scale {scale:g}, each build in a child process)", rows))
    results["rows"] = rows
    return results


if __name__ == "__main__":
    run(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
