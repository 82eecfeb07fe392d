"""`reporter serve --watch`: from a metric line appended to a run file to the rebuilt run page on disk.

Two logs (scaled by `scale`), each timed as the median over repeated appends:
- 1,000 runs: the tree scan and the summary pages (experiment, home, compare) grow with the runs;
- one run with 1,000,000 points already logged: the cost should follow what was appended, not the history.
Plus a burst: appends at ~1,000 lines a second for one second, counting the rebuilds it causes.

The same watcher (inotify), debouncer, Rebuilder and event hub as `reporter serve`, in this process
and without HTTP (serving a file is not what is measured). Appends come one at a time, each once the
previous one is on the page, as a training loop logging every few hundred milliseconds would.

    python -m benchmarks.bench_serve [scale]      # scale 0.01 takes a few seconds
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

from benchmarks.common import table
from reporter.live.rebuild import SUMMARY_INTERVAL

RUNS = 1000
POINTS = 1_000_000
APPENDS = 20
TARGET_MS = 300.0
T0 = 1_732_700_000_000
EXPERIMENT = "bench-00000000"
TIMEOUT = 30.0


def _write_experiment(folder: Path) -> Path:
    experiment = folder / EXPERIMENT
    experiment.mkdir(parents=True)
    (experiment / "experiment.jsonl").write_bytes(orjson.dumps({
        "v": 1, "kind": "experiment", "t": T0, "experiment_id": EXPERIMENT, "name": "bench",
        "artifact_location": None}) + b"\n")
    return experiment


def _start(run_id: str, name: str, t: int) -> bytes:
    return orjson.dumps({"v": 1, "kind": "start", "t": t, "run_id": run_id, "experiment_id": EXPERIMENT,
                         "name": name, "parent_run_id": None, "description": None, "system": {"user": "bench"}})


def _metric(key: str, value: float, step: int, t: int) -> bytes:
    return orjson.dumps({"v": 1, "kind": "metric", "t": t, "key": key, "value": value, "step": step})


def many_runs(folder: Path, runs: int, steps: int = 20) -> Path:
    """`runs` finished runs with a few params and metrics; returns the run file that will grow."""
    experiment = _write_experiment(folder)
    for r in range(runs):
        run_id = f"{r:032x}"
        t = T0 + r * 1000
        lines = [_start(run_id, f"run-{r}", t)]
        lines += [orjson.dumps({"v": 1, "kind": "param", "t": t, "key": f"p{p}", "value": r + p}) for p in range(5)]
        lines += [_metric(f"m{m}", 1.0 / (s + m + 1), s, t + s) for s in range(steps) for m in range(3)]
        if r:  # run 0 is still training
            lines.append(orjson.dumps({"v": 1, "kind": "end", "t": t + steps, "status": "FINISHED"}))
        (experiment / run_id).mkdir()
        (experiment / run_id / "run.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return experiment / f"{0:032x}" / "run.jsonl"


def long_run(folder: Path, points: int) -> Path:
    """One run with `points` points of one metric already logged; returns its run file."""
    experiment = _write_experiment(folder)
    run_id = "f" * 32
    (experiment / run_id).mkdir()
    path = experiment / run_id / "run.jsonl"
    with open(path, "wb") as out:
        out.write(_start(run_id, "long", T0) + b"\n")
        for first in range(0, points, 100_000):
            out.write(b"".join(_metric("loss", 1.0 / (s + 1), s, T0 + s) + b"\n"
                               for s in range(first, min(points, first + 100_000))))
    return path


def _page_of(run_file: Path, out_dir: Path) -> Path:
    return out_dir / "runs" / run_file.parent.name / "index.html"


def _wait_for_text(page: Path, text: bytes, deadline: float) -> bool:
    """Poll the page (a short sleep between looks) until it contains `text`."""
    while time.perf_counter() < deadline:
        try:
            if text in page.read_bytes():
                return True
        except OSError:
            pass
        time.sleep(0.002)
    return False


def measure(folder: Path, run_file: Path, appends: int, burst_seconds: float = 0.0) -> dict:
    """Serve-style watching of `folder`; returns latencies (ms) of `appends` appends and the burst's rebuilds."""
    from reporter.config import BuildConfig
    from reporter.live.rebuild import Rebuilder
    from reporter.live.report import RebuildReport
    from reporter.live.server import EventHub, start_watching

    out_dir = folder.parent / (folder.name + "-site")
    config = BuildConfig.from_options(folder, out_dir)
    rebuilder = Rebuilder(config)
    began = time.perf_counter()
    first = rebuilder.rebuild(full=True)
    if first.error:
        raise RuntimeError(f"the first build failed: {first.error}")
    first_build_s = time.perf_counter() - began
    rebuilds = []
    original = rebuilder.rebuild

    def counted(*args, **kwargs):
        outcome = original(*args, **kwargs)
        rebuilds.append(outcome)
        return outcome

    rebuilder.rebuild = counted
    watcher = start_watching(rebuilder, EventHub(), RebuildReport(quiet=True))
    page = _page_of(run_file, out_dir)
    latencies = []
    step = 10_000_000
    try:
        time.sleep(0.2)  # let the observer settle on the new tree
        for i in range(appends):
            step += 1
            value = 1000.5 + i  # shown on the run page as "1000.5", "1001.5", ...
            line = _metric("live", value, step, T0 + step) + b"\n"
            start = time.perf_counter()
            with open(run_file, "ab") as out:
                out.write(line)
            if not _wait_for_text(page, f"{value:.6g}".encode(), start + TIMEOUT):
                raise RuntimeError(f"the run page did not show append {i} within {TIMEOUT} s")
            latencies.append((time.perf_counter() - start) * 1000)
            time.sleep(0.05)
        burst_rebuilds = None
        if burst_seconds:
            time.sleep(SUMMARY_INTERVAL + 0.2)  # past the summary interval: put-off pages flushed
            before = len(rebuilds)
            end = time.perf_counter() + burst_seconds
            with open(run_file, "ab") as out:
                while time.perf_counter() < end:
                    step += 1
                    out.write(_metric("burst", 0.5, step, T0 + step) + b"\n")
                    out.flush()
                    time.sleep(0.001)
            time.sleep(0.4)  # the last batch settles
            burst_rebuilds = len(rebuilds) - before
    finally:
        watcher.stop()
    return {"latencies_ms": latencies, "median_ms": statistics.median(latencies), "max_ms": max(latencies),
            "first_build_s": first_build_s, "burst_rebuilds": burst_rebuilds}


def run(scale: float = 1.0) -> dict:
    runs = max(2, round(RUNS * scale))
    points = max(1000, round(POINTS * scale))
    appends = max(5, round(APPENDS * min(1.0, scale * 10)))
    root = Path(tempfile.mkdtemp(prefix="flowsheet-bench-serve-"))
    try:
        burst = 1.0 if scale >= 0.1 else 0.5
        many = measure(root / "many", many_runs(root / "many", runs), appends, burst_seconds=burst)
        long = measure(root / "long", long_run(root / "long", points), appends)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows = [
        {"measure": f"append -> run page on disk, {runs:,} runs (median of {appends})",
         "value": f"{many['median_ms']:.0f} ms (max {many['max_ms']:.0f})", "target": f"< {TARGET_MS:.0f} ms",
         "met": many["median_ms"] < TARGET_MS},
        {"measure": f"append -> run page on disk, run with {points:,} points (median of {appends})",
         "value": f"{long['median_ms']:.0f} ms (max {long['max_ms']:.0f})", "target": f"< {TARGET_MS:.0f} ms",
         "met": long["median_ms"] < TARGET_MS},
        {"measure": f"rebuilds during {1.0 if scale >= 0.1 else 0.5:g} s of appends at ~1,000 lines/s",
         "value": str(many["burst_rebuilds"]),
         "target": "a few, not one per line",
         "met": many["burst_rebuilds"] is not None and many["burst_rebuilds"] <= 10},
        {"measure": f"first full build, {runs:,} runs", "value": f"{many['first_build_s']:.1f} s"},
        {"measure": f"first full build, {points:,} points", "value": f"{long['first_build_s']:.1f} s"},
    ]
    print(table(f"reporter serve: live rebuild latency (scale {scale:g})", rows))
    return {"scale": scale, "runs": runs, "points": points, "appends": appends, "target_ms": TARGET_MS,
            "many_runs": many, "long_run": long}


if __name__ == "__main__":
    run(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
