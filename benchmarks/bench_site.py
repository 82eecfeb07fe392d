"""Workloads 3, 5 and 6: writing many runs through the logger, and `reporter build` on growing logs.

At scale 1 (sizes below):
- workload 3: 1,000 runs x 10 params x 5 metrics x 100 steps written through the logger (seconds, bytes);
- workload 5: `reporter build` of one run of 10 metrics x 10,000 steps, and of workload 3's log;
- workload 6: `reporter build` of 10,000 runs (10 params, 5 metrics x 10 steps each) and of 10 runs of
  10 metrics x 100,000 steps (1,000,000 points a run); then the incremental rebuild that `reporter serve`
  does after one appended line (`reporter.live.rebuild.Rebuilder`).

Each build runs as `python -m reporter build` in a child process, so its time is what a user waits for
(start-up included) and its peak RSS is its own (`os.wait4`). Below scale 0.1 everything runs in this
process instead (no clean peak memory, but the smoke test stays fast). A build that passes its time cap
is stopped and reported as a miss, so one slow build cannot hold up `make bench`.

    python -m benchmarks.bench_site [scale]
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from benchmarks.common import table
from benchmarks.process import ChildFailed, ChildTimeout, folder_bytes, megabytes, python_child

T0 = 1_732_700_000_000
CHILD_SCALE = 0.1  # from this scale on, workloads run in child processes
TARGET_W3_S, TARGET_W3_MB = 30.0, 300.0
TARGET_LONG_S = 60.0
TARGET_INCREMENTAL_S = 1.0
# Time caps (seconds): a build still running is stopped and reported as a miss, so that `make bench`
# stays within its budget however slow the reporter is; twice the target where there is one.
CAP_BUILD_S = 120.0
CAP_W3_S = 2 * TARGET_W3_S
CAP_WIDE_S = 60.0
CAP_LONG_S = 2 * TARGET_LONG_S
CAP_INCREMENTAL_S = 90.0


@dataclass(frozen=True)
class Sizes:
    one_steps: int  # workload 5: one run, 10 metrics x one_steps
    many_runs: int  # workload 3: many_runs x 10 params x 5 metrics x many_steps
    many_steps: int
    wide_runs: int  # workload 6: wide_runs x 10 params x 5 metrics x 10 steps
    long_runs: int  # workload 6: long_runs x 10 metrics x long_steps
    long_steps: int


def sizes(scale: float) -> Sizes:
    """Counts shrink with scale, run counts faster than steps (every run costs a page, and the smoke
    test at scale 0.01 must take seconds); the floors keep every page kind present."""
    def scaled(full: int, floor: int, power: float = 1.0) -> int:
        return max(floor, round(full * scale ** power))
    return Sizes(one_steps=scaled(10_000, 50), many_runs=scaled(1_000, 2, 1.5), many_steps=scaled(100, 10),
                 wide_runs=scaled(10_000, 3, 2.0), long_runs=scaled(10, 1, 0.5), long_steps=scaled(100_000, 100))


# ---------------------------------------------------------------- logs


def write_runs(folder: Path, experiment: str, runs: int, params: int, metrics: int, steps: int) -> int:
    """Write runs straight to the format with orjson (fast, no logger); returns the number of points."""
    dumps = orjson.dumps
    experiment_dir = folder / experiment
    experiment_dir.mkdir(parents=True, exist_ok=True)
    (experiment_dir / "experiment.jsonl").write_bytes(dumps(
        {"v": 1, "kind": "experiment", "t": T0, "experiment_id": experiment, "name": experiment,
         "artifact_location": None}) + b"\n")
    for r in range(runs):
        run_id = f"{zlib.crc32(experiment.encode()):08x}{r:024x}"
        t = T0 + r * 1_000_000
        run_dir = experiment_dir / run_id
        run_dir.mkdir()
        with open(run_dir / "run.jsonl", "wb") as file:
            file.write(dumps({"v": 1, "kind": "start", "t": t, "run_id": run_id, "experiment_id": experiment,
                              "name": f"run-{r}", "parent_run_id": None, "description": None,
                              "system": {"user": "bench"}}) + b"\n")
            file.write(b"".join(dumps({"v": 1, "kind": "param", "t": t, "key": f"param_{p}", "value": p + r * 0.5})
                                + b"\n" for p in range(params)))
            # One step's lines at a time: a 1,000,000-point run never sits in memory whole.
            for step in range(steps):
                t += 1
                file.write(b"".join(dumps({"v": 1, "kind": "metric", "t": t, "key": f"metric_{m}",
                                           "value": 1.0 / (step + m + 1) + r * 1e-6, "step": step}) + b"\n"
                                    for m in range(metrics)))
            file.write(dumps({"v": 1, "kind": "end", "t": t + 1, "status": "FINISHED"}) + b"\n")
    return runs * metrics * steps


def log_many(log_dir: str, runs: int, steps: int) -> dict:
    """Workload 3 through the logger's fluent API, as a training script would log it."""
    import logger

    logger.set_log_dir(log_dir)
    keys = [f"metric_{m}" for m in range(5)]
    started = time.perf_counter()
    logger.set_experiment("many-runs")
    for r in range(runs):
        with logger.start_run(run_name=f"run-{r}"):
            logger.log_params({f"param_{p}": p + r * 0.5 for p in range(10)})
            log_metrics = logger.log_metrics
            for step in range(steps):
                log_metrics({key: 1.0 / (step + m + 1) + r * 1e-6 for m, key in enumerate(keys)}, step=step)
    return {"seconds": time.perf_counter() - started}


def append_metric(log_dir: Path, key: str = "late", step: int = 0) -> Path:
    """Append one metric line to the first run file found (sorted); returns that file."""
    target = sorted(log_dir.glob("*/*/run.jsonl"))[0]
    with open(target, "ab") as file:
        file.write(orjson.dumps({"v": 1, "kind": "metric", "t": int(time.time() * 1000), "key": key,
                                 "value": 0.5, "step": step}) + b"\n")
    return target


def incremental(log_dir: str, out_dir: str, appends: int = 3, built: bool = True) -> dict:
    """`reporter serve`'s path after one appended line, `appends` times; the median rebuild time.

    built: out_dir already holds the site `reporter build` made from log_dir, so the rebuilder only reads
    the logs (as serve has after its first build) instead of building everything once more.
    """
    from reporter.config import BuildConfig
    from reporter.live.rebuild import Rebuilder, link_facts

    config = BuildConfig.from_options(log_dir, out_dir, quiet=True, force=True)
    rebuilder = Rebuilder(config)
    started = time.perf_counter()
    if built:
        rebuilder.reader.refresh()
        # What serve remembers after its first build (the pages showing each run's name and status).
        rebuilder._facts = link_facts(rebuilder.reader.data)
    else:
        first = rebuilder.rebuild(full=True)
        if first.error:
            raise RuntimeError(first.error)
    first_s = time.perf_counter() - started
    times, pages = [], []
    for step in range(appends):
        append_metric(Path(log_dir), step=10**9 + step)
        outcome = rebuilder.rebuild()
        if outcome.error:
            raise RuntimeError(outcome.error)
        times.append(outcome.seconds)
        pages.append(outcome.pages)
    return {"first_s": first_s, "incremental_s": statistics.median(times), "pages": max(pages)}


# ---------------------------------------------------------------- measuring


@dataclass
class Measure:
    seconds: float | None = None  # wall time (a child's includes interpreter start-up)
    peak_mb: float | None = None  # None when measured in this process
    result: dict | None = None
    error: str | None = None  # "stopped after 120 s", or the child's error


def in_child(function: str, *args, cap: float | None = None) -> Measure:
    """Call a function of this module in a fresh interpreter; it prints its dict result as JSON."""
    code = (f"import json, sys; from benchmarks.bench_site import {function}; "
            f"print(json.dumps({function}(*json.loads(sys.argv[1]))))")
    try:
        child = python_child(["-c", code, json.dumps([str(a) if isinstance(a, Path) else a for a in args])],
                             timeout=cap)
    except (ChildTimeout, ChildFailed) as exc:
        return Measure(error=str(exc))
    return Measure(child.seconds, child.peak_rss_mb, json.loads(child.stdout.strip().splitlines()[-1]))


def in_process(function, *args) -> Measure:
    started = time.perf_counter()
    try:
        result = function(*args)
    except Exception as exc:  # noqa: BLE001 - a failing workload is a row in the table, not a crash
        return Measure(error=f"{type(exc).__name__}: {exc}")
    return Measure(time.perf_counter() - started, None, result)


def build_site(log_dir: Path, out_dir: Path, children: bool, cap: float = CAP_BUILD_S) -> Measure:
    """`reporter build LOG -o OUT` as the user runs it."""
    shutil.rmtree(out_dir, ignore_errors=True)
    if children:
        try:
            child = python_child(["-m", "reporter", "build", str(log_dir), "-o", str(out_dir), "--quiet"], timeout=cap)
        except (ChildTimeout, ChildFailed) as exc:
            return Measure(error=str(exc))
        return Measure(child.seconds, child.peak_rss_mb, {})
    from reporter.commands.build import run_build

    measure = in_process(lambda: run_build(str(log_dir), str(out_dir), quiet=True))
    if measure.error is None and measure.result != 0:
        measure.error = f"reporter build exited with {measure.result}"
    return measure


# ---------------------------------------------------------------- the benchmark


def _site_row(label: str, measure: Measure, out_dir: Path, target_s: float | None = None,
              target_mb: float | None = None) -> list[dict]:
    """Rows for one build: time, peak memory, site size (or one row saying why there are no numbers)."""
    if measure.error:
        target = " and ".join(t for t in (f"< {target_s:g} s" if target_s else "",
                                          f"< {target_mb:g} MB peak" if target_mb else "") if t)
        return [{"measure": f"{label}: build", "value": f"failed: {measure.error}".replace("\n", " ")[:200],
                 "target": target, "met": False if target else None}]
    rows = [{"measure": f"{label}: build time", "value": f"{measure.seconds:.2f} s",
             "target": f"< {target_s:g} s" if target_s else "",
             "met": (measure.seconds < target_s) if target_s else None}]
    peak = "n/a (in process)" if measure.peak_mb is None else f"{measure.peak_mb:,.0f} MB"
    rows.append({"measure": f"{label}: peak RSS", "value": peak, "target": f"< {target_mb:g} MB" if target_mb else "",
                 "met": (measure.peak_mb < target_mb) if target_mb and measure.peak_mb is not None else None})
    apparent, _ = folder_bytes(out_dir)
    static, _ = folder_bytes(out_dir / "static")
    rows.append({"measure": f"{label}: site size",
                 "value": f"{megabytes(apparent)} ({megabytes(static)} of it static/)"})
    return rows


def run(scale: float = 1.0) -> dict:
    size = sizes(scale)
    children = scale >= CHILD_SCALE
    results: dict = {"scale": scale, "sizes": asdict(size), "children": children}
    rows: list[dict] = []
    folder = Path(tempfile.mkdtemp(prefix="flowsheet-bench-site-"))
    try:
        # Workload 5: one run of 10 metrics, and the rebuild a user watching it waits for.
        one = folder / "one"
        points = write_runs(one, "one-run", 1, 10, 10, size.one_steps)
        measure = build_site(one, folder / "one-site", children)
        rows += _site_row(f"W5 one run, 10 metrics x {size.one_steps:,} steps", measure, folder / "one-site")
        results["one_run"] = {"points": points, **asdict(measure), "site_bytes": folder_bytes(folder / "one-site")[0]}
        rows.append(_incremental(results, "one run", one, folder / "one-site", children, measure))

        # Workload 3 through the logger, then its report.
        many = folder / "many"
        measure = in_child("log_many", many, size.many_runs, size.many_steps) if children else \
            in_process(log_many, str(many), size.many_runs, size.many_steps)
        apparent, disk = folder_bytes(many)
        label = f"W3 {size.many_runs:,} runs x 10 params x 5 metrics x {size.many_steps} steps"
        if measure.error:
            rows.append({"measure": f"{label}: logging", "value": f"failed: {measure.error}"[:200]})
        else:
            logged = measure.result["seconds"]
            rows.append({"measure": f"{label}: logging through the logger",
                         "value": f"{logged:.2f} s ({size.many_runs * 5 * size.many_steps / logged:,.0f} points/s)"})
            rows.append({"measure": f"{label}: on disk", "value": f"{megabytes(apparent)} ({megabytes(disk)} du)"})
        results["many_log"] = {**asdict(measure), "bytes": apparent, "disk_bytes": disk}
        measure = build_site(many, folder / "many-site", children, cap=CAP_W3_S)
        rows += _site_row("W5 report of W3", measure, folder / "many-site", TARGET_W3_S, TARGET_W3_MB)
        results["many_site"] = {**asdict(measure), "site_bytes": folder_bytes(folder / "many-site")[0]}
        rows.append(_incremental(results, "W3 log", many, folder / "many-site", children, measure))
        shutil.rmtree(folder / "many-site", ignore_errors=True)

        # Workload 6: many runs, then long runs.
        wide = folder / "wide"
        experiments = min(10, size.wide_runs)  # ten experiments, as a team's log would have
        for e in range(experiments):
            count = size.wide_runs // experiments + (e < size.wide_runs % experiments)
            write_runs(wide, f"exp-{e}", count, 10, 5, 10)
        measure = build_site(wide, folder / "wide-site", children, cap=CAP_WIDE_S)
        rows += _site_row(f"W6 {size.wide_runs:,} runs (10 params, 5 metrics x 10 steps)", measure,
                          folder / "wide-site")
        results["wide_site"] = {**asdict(measure), "site_bytes": folder_bytes(folder / "wide-site")[0]}
        shutil.rmtree(folder / "wide-site", ignore_errors=True)
        shutil.rmtree(wide, ignore_errors=True)

        long = folder / "long"
        started = time.perf_counter()
        points = write_runs(long, "long-runs", size.long_runs, 0, 10, size.long_steps)
        results["long_write_s"] = time.perf_counter() - started
        measure = build_site(long, folder / "long-site", children, cap=CAP_LONG_S)
        rows += _site_row(f"W6 {size.long_runs} runs x {10 * size.long_steps:,} points (10 metrics)", measure,
                          folder / "long-site", TARGET_LONG_S)
        results["long_site"] = {**asdict(measure), "points": points,
                                "site_bytes": folder_bytes(folder / "long-site")[0]}
        rows.append(_incremental(results, "long runs", long, folder / "long-site", children, measure))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    where = "each build in a child process" if children else "in this process (scale < 0.1: no clean peak memory)"
    print(table(f"Reports and scale (scale {scale:g}, {where})", rows))
    results["rows"] = rows
    return results


def _incremental(results: dict, name: str, logs: Path, site: Path, children: bool, build: Measure) -> dict:
    """The serve path's rebuild after one appended line, on a site `reporter build` just made."""
    label = f"W6 incremental rebuild after one appended line, {name}"
    target = f"< {TARGET_INCREMENTAL_S:g} s"
    # A build stopped at its cap left a partial site: the rebuild still renders the same pages.
    measure = in_child("incremental", logs, site, cap=CAP_INCREMENTAL_S) if children else \
        in_process(incremental, str(logs), str(site))
    results[f"incremental_{name.replace(' ', '_')}"] = asdict(measure)
    if measure.error:
        return {"measure": label, "value": f"failed: {measure.error}"[:200], "target": target, "met": False}
    inc = measure.result["incremental_s"]
    partial = " (site left partial by the stopped build)" if build.error else ""
    return {"measure": f"{label} ({measure.result['pages']} pages rendered){partial}", "value": f"{inc * 1000:,.0f} ms",
            "target": target, "met": inc < TARGET_INCREMENTAL_S}


if __name__ == "__main__":
    run(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
