"""How fast the reader is against the floor of parsing JSON at all.

Generates runs x params x metrics x steps lines (1,000 x 10 x 5 x 1,000 at scale 1: 5 million points),
and the same points in the compact form (version 2's `metrics` lines), then times, side by side (median of 3):
- a bare loop of `orjson.loads` over the same lines, already in memory (the floor);
- `read_logs` on the folder (reading the files, splitting lines, building the model);
- `read_logs` on the compact folder (goal: no slower than the bare loop over one line a point);
- `LogReader.refresh()` after appending one line to one run.

    python -m benchmarks.bench_read [scale]      # scale 0.01 takes a couple of seconds
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

from logger.reader import LogReader, read_logs

from benchmarks.common import side_by_side, table

RUNS, PARAMS, METRICS, STEPS = 1000, 10, 5, 1000
TARGET_RATIO = 2.0
TARGET_REFRESH_MS = 50.0
T0 = 1_732_700_000_000


def _sizes(scale: float) -> tuple[int, int]:
    """Scale the number of runs and of steps (each by the square root), keeping params and metrics."""
    factor = max(scale, 1e-6) ** 0.5
    return max(1, round(RUNS * factor)), max(1, round(STEPS * factor))


def generate(folder: Path, runs: int, steps: int, compact: bool = False) -> list[bytes]:
    """Write the log tree with orjson; returns every line (without newline) for the bare loop.

    `compact`: the same points as version 2's `metrics` lines, one a step (what log_metrics writes)."""
    dumps = orjson.dumps
    every: list[bytes] = []
    experiment_id = "bench-00000000"
    experiment = folder / experiment_id
    experiment.mkdir(parents=True)
    (experiment / "experiment.jsonl").write_bytes(dumps({"v": 1, "kind": "experiment", "t": T0,
                                                         "experiment_id": experiment_id, "name": "bench",
                                                         "artifact_location": None}) + b"\n")
    for r in range(runs):
        run_id = f"{r:032x}"
        t = T0 + r * 10_000_000
        lines = [dumps({"v": 1, "kind": "start", "t": t, "run_id": run_id, "experiment_id": experiment_id,
                        "name": f"run-{r}", "parent_run_id": None, "description": None,
                        "system": {"user": "bench", "host": "h", "python": "3.11"}})]
        lines += [dumps({"v": 1, "kind": "param", "t": t, "key": f"param_{p}", "value": p * 0.1 + r})
                  for p in range(PARAMS)]
        for step in range(steps):
            t += 1
            if compact:
                lines.append(dumps({"v": 2, "kind": "metrics", "t": t, "s": step,
                                    "m": {f"metric_{m}": 1.0 / (step + m + 1) + r * 1e-6 for m in range(METRICS)}}))
                continue
            lines += [dumps({"v": 1, "kind": "metric", "t": t, "key": f"metric_{m}",
                             "value": 1.0 / (step + m + 1) + r * 1e-6, "step": step}) for m in range(METRICS)]
        lines.append(dumps({"v": 1, "kind": "end", "t": t + 1, "status": "FINISHED"}))
        blob = b"\n".join(lines)
        (experiment / run_id).mkdir()
        (experiment / run_id / "run.jsonl").write_bytes(blob + b"\n")
        if not compact:  # split again rather than keep orjson's own bytes: each of those holds a ~4 KiB buffer
            every += blob.split(b"\n")
    return every


def run(scale: float = 1.0) -> dict:
    runs, steps = _sizes(scale)
    folder = Path(tempfile.mkdtemp(prefix="flowsheet-bench-"))
    try:
        # A tuple of bytes, which the garbage collector stops tracking: a list of 5 M lines would be traversed
        # by every full collection during the reads, a cost of this benchmark and not of reading.
        lines = tuple(generate(folder / "v1", runs, steps))
        points = runs * METRICS * steps

        def bare() -> None:
            loads = orjson.loads
            for line in lines:
                loads(line)

        compact_folder = folder / "compact"
        generate(compact_folder, runs, steps, compact=True)
        cpu: dict[str, list[float]] = {"bare": [], "read": [], "compact": []}

        def on_cpu(name: str, work):  # CPU time beside the wall time: a shared machine stretches the latter
            def timed() -> None:
                started = time.process_time()
                work()
                cpu[name].append(time.process_time() - started)
            return timed

        seconds = side_by_side({"bare": on_cpu("bare", bare), "read": on_cpu("read", lambda: read_logs(folder / "v1")),
                                "compact": on_cpu("compact", lambda: read_logs(compact_folder))}, 3)
        bare_s, read_s, compact_s = seconds["bare"], seconds["read"], seconds["compact"]
        cpu_ratio = statistics.median(cpu["compact"]) / statistics.median(cpu["bare"])
        read_cpu_ratio = statistics.median(cpu["read"]) / statistics.median(cpu["bare"])
        compact_points = sum(len(h) for run in read_logs(compact_folder).runs.values() for h in run.metrics.values())
        assert compact_points == points, (compact_points, points)
        reader = LogReader(folder / "v1")
        reader.refresh()
        target = folder / "v1" / "bench-00000000" / f"{0:032x}" / "run.jsonl"
        refresh_times = []
        for extra in range(3):
            with open(target, "ab") as file:
                file.write(orjson.dumps({"v": 1, "kind": "metric", "t": T0 + extra, "key": "late",
                                         "value": 1.0, "step": extra}) + b"\n")
            began = time.perf_counter()
            changes = reader.refresh()
            refresh_times.append(time.perf_counter() - began)
            assert changes.runs == {f"{0:032x}"}, changes
        refresh_s = statistics.median(refresh_times)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result = {"scale": scale, "runs": runs, "steps": steps, "lines": len(lines), "points": points,
              "bare_loads_s": bare_s, "read_logs_s": read_s, "ratio": read_s / bare_s,
              "refresh_ms": refresh_s * 1000, "target_ratio": TARGET_RATIO, "target_refresh_ms": TARGET_REFRESH_MS,
              "read_compact_s": compact_s, "compact_ratio": compact_s / bare_s, "compact_cpu_ratio": cpu_ratio,
              "read_cpu_ratio": read_cpu_ratio}
    print(f"{runs} runs x {PARAMS} params x {METRICS} metrics x {steps} steps = {points:,} points, "
          f"{len(lines):,} lines (scale {scale})\n")
    print("| measure | time | target |")
    print("| --- | --- | --- |")
    print(f"| bare `orjson.loads` loop | {bare_s:.3f} s | |")
    print(f"| `read_logs` | {read_s:.3f} s | |")
    print(f"| ratio | {result['ratio']:.2f}x | <= {TARGET_RATIO:.0f}x |")
    print(f"| the same ratio in CPU time (process_time of each, medians; informative) | {read_cpu_ratio:.2f}x | |")
    print(f"| refresh after one appended line | {result['refresh_ms']:.1f} ms | < {TARGET_REFRESH_MS:.0f} ms |")
    print()
    print(table("Reading the compact form (version 2: one `metrics` line a step, as log_metrics writes)", [
        {"measure": "`read_logs` of the same points as `metrics` lines", "value": f"{compact_s:.3f} s"},
        {"measure": "... over the bare `orjson.loads` loop over one-line-per-point logs", "value":
         f"{compact_s / bare_s:.2f}x", "target": "<= 1.00x", "met": compact_s <= bare_s},
        {"measure": "the same ratio in CPU time (process_time of each, medians)", "value": f"{cpu_ratio:.2f}x",
         "target": "(informative)"}]))
    return result


if __name__ == "__main__":
    run(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
