"""Logging: log_metric / log_metrics against a raw orjson append loop, bytes on disk per point, `import logger`.

The raw loop is the fair limit for `log_metric(key, value, step=i)`: per call it builds the 5-field
dict with `time.time()`, `orjson.dumps(..., option=OPT_APPEND_NEWLINE)` and writes it to a buffered
file opened "ab", flushed at the end. (Until 2026-11 this benchmark's raw loop also wrote a sixth
field and turned the time into integer milliseconds: ~40% more work per call, which made log_metric
look 0.69x the limit where an outside harness measured 0.34x.) Both loops are timed warm: the run
is open before the clock starts, and the time ends after `flush()`.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

from benchmarks.common import side_by_side, table
from benchmarks.process import folder_bytes

ROOT = Path(__file__).resolve().parents[1]
# The peers' bytes per metric point in the same 1,000-run workload (500,000 points), measured by
# `make bench-peers` (benchmarks/peers/, W3): apparent sizes as issue #18's baseline table gives them
# (MLflow's file store measured 37.8 again on 2026-11-29), and allocated blocks (`du`) from the
# README's table (dvclive 29 MB, MLflow file store 91 MB for the 1,000 runs).
PEER_BYTES_PER_POINT = {"dvclive": 23, "MLflow file store": 37}
PEER_DU_PER_POINT = {"dvclive": 58, "MLflow file store": 182}
RUNS, PARAMS, METRICS, STEPS = 1000, 10, 5, 100


def run(scale: float = 1.0) -> dict:
    import logger

    calls = max(1000, int(100_000 * scale))
    keys = [f"metric_{i}" for i in range(10)]
    repeats = 7 if scale >= 1 else 2
    with tempfile.TemporaryDirectory() as folder:
        logger.set_log_dir(folder)
        raw_path = Path(folder) / "raw.jsonl"

        def raw_loop():  # the limit, exactly as the outside harness wrote it
            dumps, option, now = orjson.dumps, orjson.OPT_APPEND_NEWLINE, time.time
            with open(raw_path, "ab") as file:
                write = file.write
                for i in range(calls):
                    write(dumps({"kind": "metric", "key": keys[i % 10], "value": i * 0.001, "step": i, "t": now()},
                                option=option))
                file.flush()

        def old_raw_loop():  # this benchmark's raw loop before: a sixth field and the time as integer ms
            dumps, option, now = orjson.dumps, orjson.OPT_APPEND_NEWLINE, time.time
            with open(raw_path, "ab") as file:
                write = file.write
                for i in range(calls):
                    write(dumps({"v": 1, "kind": "metric", "t": int(now() * 1000), "key": keys[i % 10],
                                 "value": i * 0.001, "step": i}, option=option))

        flusher_ns: list[int] = []

        def fluent_loop():
            before = _flusher_cpu_ns()
            log_metric = logger.log_metric
            for i in range(calls):
                log_metric(keys[i % 10], i * 0.001, step=i)
            logger.flush()
            flusher_ns.append(_flusher_cpu_ns() - before)

        def batch_loop():
            log_metrics = logger.log_metrics
            for i in range(calls // 10):
                log_metrics({key: i * 0.001 for key in keys}, step=i)
            logger.flush()

        with logger.start_run():  # opened before any clock starts: warm, as a training loop is
            logger.log_params({f"param_{i}": i for i in range(20)})
            seconds = side_by_side({"raw": raw_loop, "log_metric": fluent_loop, "old raw": old_raw_loop,
                                    "log_metrics": batch_loop}, repeats)
        disk = disk_per_point(Path(folder) / "disk", scale)
        logger.set_log_dir(None)
    rate = calls / seconds["log_metric"]
    ratio = seconds["raw"] / seconds["log_metric"]
    old_ratio = seconds["old raw"] / seconds["log_metric"]
    batch_rate = calls / seconds["log_metrics"]
    flusher_share = sorted(flusher_ns)[len(flusher_ns) // 2] / 1e9 / seconds["log_metric"]
    cold = cold_ratio(calls, 3)
    import_ms = import_overhead_ms("import logger", 10 if scale >= 1 else 3)
    alias_ms = import_overhead_ms("import flowsheet", 10 if scale >= 1 else 3)
    first_use_ms = import_overhead_ms("import logger; logger.set_log_dir(__import__('tempfile').mkdtemp()); "
                                      "logger.log_metric('x', 1.0)", 10 if scale >= 1 else 3)
    smallest_peer = min(PEER_BYTES_PER_POINT.values())
    peers = ", ".join(f"{name} ~{size}" for name, size in PEER_BYTES_PER_POINT.items())
    peers_du = ", ".join(f"{name} ~{size}" for name, size in PEER_DU_PER_POINT.items())
    rows = [
        {"measure": f"log_metric calls/s (run open, {calls:,} calls then flush())", "value": f"{rate:,.0f}",
         "target": ">= 300,000", "met": rate >= 300_000},
        {"measure": "log_metric rate / raw loop (5-field dict with time.time(), dumps, buffered 'ab' write)",
         "value": f"{ratio:.2f}", "target": ">= 0.50", "met": ratio >= 0.5},
        {"measure": "log_metric rate / this benchmark's old raw loop (6 fields, int ms)",
         "value": f"{old_ratio:.2f}", "target": "(informative: the 0.69x of before)"},
        {"measure": "log_metric rate / raw loop, cold: fresh processes, the first call starts the run",
         "value": f"{cold:.2f}", "target": "(informative: what a harness timing a whole script sees)"},
        {"measure": "flusher thread's CPU time during the log_metric loop", "value": f"{flusher_share:.1%}",
         "target": "(informative)"},
        {"measure": "log_metrics (10 keys) values/s", "value": f"{batch_rate:,.0f}", "target": ">= 1,000,000",
         "met": batch_rate >= 1_000_000},
        {"measure": f"disk per point, {disk['runs']:,} runs x {PARAMS} params x {METRICS} metrics x {STEPS} steps "
                    "via log_metrics (all files, apparent size)", "value": f"{disk['per_point']:.1f} bytes",
         "target": f"< every peer ({peers}; make bench-peers)", "met": disk["per_point"] < smallest_peer},
        {"measure": "the same, as allocated on disk (`du`: a file takes whole 4 KiB blocks)",
         "value": f"{disk['du_per_point']:.1f} bytes", "target": f"< every peer ({peers_du})",
         "met": disk["du_per_point"] < min(PEER_DU_PER_POINT.values())},
        {"measure": "the same points as version-1 lines (one line a point)",
         "value": f"{disk['v1_per_point']:.1f} bytes", "target": "(informative: the ~92 of before)"},
        {"measure": "`import logger` over `python -c pass`", "value": f"{max(import_ms, 0):.0f} ms",
         "target": "<= 50 ms", "met": import_ms <= 50},
        {"measure": "`import flowsheet` over `python -c pass`", "value": f"{max(alias_ms, 0):.0f} ms",
         "target": "<= 50 ms", "met": alias_ms <= 50},
        {"measure": "`import logger` + first `log_metric` (loads orjson, starts a run, reads git)",
         "value": f"{first_use_ms:.0f} ms", "target": "(informative)"},
    ]
    print(table(f"Logging ({calls:,} calls, median of {repeats} alternating repeats)", rows))
    return {"calls_per_s": rate, "ratio_to_raw": ratio, "ratio_to_old_raw": old_ratio, "cold_ratio": cold,
            "flusher_share": flusher_share,
            "batch_values_per_s": batch_rate, "disk": disk, "import_ms": import_ms, "alias_import_ms": alias_ms,
            "first_use_ms": first_use_ms, "rows": rows}


def disk_per_point(folder: Path, scale: float) -> dict:
    """Bytes per metric point of the 1,000-run workload written through log_metrics (every file of the log
    folder counted, params and start lines included), and of the same points as one line each."""
    import logger

    from benchmarks.bench_site import write_runs

    runs = max(2, round(RUNS * scale))
    logger.set_log_dir(folder / "compact")
    logger.set_experiment("many-runs")
    for r in range(runs):
        with logger.start_run(run_name=f"run-{r}"):
            logger.log_params({f"param_{p}": p + r * 0.5 for p in range(PARAMS)})
            for step in range(STEPS):
                logger.log_metrics({f"metric_{m}": 1.0 / (step + m + 1) + r * 1e-6 for m in range(METRICS)}, step=step)
    points = runs * METRICS * STEPS
    write_runs(folder / "v1", "many-runs", runs, PARAMS, METRICS, STEPS)
    apparent, allocated = folder_bytes(folder / "compact")
    return {"runs": runs, "points": points, "per_point": apparent / points, "du_per_point": allocated / points,
            "v1_per_point": folder_bytes(folder / "v1")[0] / points}


COLD = """
import sys, tempfile, time
import orjson
import logger
calls = int(sys.argv[2])
logger.set_log_dir(tempfile.mkdtemp())
started = time.perf_counter()
if sys.argv[1] == "raw":
    dumps, option, now = orjson.dumps, orjson.OPT_APPEND_NEWLINE, time.time
    with open(logger.get_log_dir() / "raw.jsonl", "ab") as file:
        for i in range(calls):
            file.write(dumps({"kind": "metric", "key": "loss", "value": i * 0.001, "step": i, "t": now()},
                             option=option))
        file.flush()
else:
    for i in range(calls):
        logger.log_metric("loss", i * 0.001, step=i)  # no start_run: the first call starts the run
    logger.flush()
print(time.perf_counter() - started)
"""


def cold_ratio(calls: int, repeats: int) -> float:
    """log_metric over the raw loop, each timed in a fresh process from its first call: the run's start
    (system info, git) is inside the time, as when a harness times a script that never called start_run."""
    times: dict[str, list[float]] = {"raw": [], "ours": []}
    for _ in range(repeats):
        for which in times:
            done = subprocess.run([sys.executable, "-c", COLD, which, str(calls)], cwd=ROOT, check=True,
                                  capture_output=True, text=True)
            times[which].append(float(done.stdout.split()[-1]))
    return sorted(times["raw"])[repeats // 2] / sorted(times["ours"])[repeats // 2]


def _flusher_cpu_ns() -> int:
    """CPU time the logger's flusher thread has used so far (Linux: its schedstat), 0 where unknown."""
    for thread in threading.enumerate():
        if thread.name == "flowsheet-flusher" and thread.native_id is not None:
            try:
                with open(f"/proc/self/task/{thread.native_id}/schedstat") as stat:
                    return int(stat.read().split()[0])
            except (OSError, ValueError, IndexError):
                return 0
    return 0


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
