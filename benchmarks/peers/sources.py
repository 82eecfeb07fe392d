"""Reading other trackers' logs in place, measured against their own tools and against flowsheet's logs.

    python -m benchmarks.peers.sources [--scale S] [--repeats N] [--no-save]      (make bench-sources)

- An `mlflow.db` of 1,000 runs x 10 params x 5 metrics x 100 steps, written by MLflow itself (its
  client's log_batch into its SQLite store): flowsheet's reader (every run with every metric history)
  against `mlflow.search_runs` over the same database (latest values only). Target: flowsheet faster.
- 1,000,000 TensorBoard scalars written by tensorboardX (10 tags x 100,000 steps), and the same points
  in flowsheet's own logs: flowsheet's reader over each. Target: event files within 3x of flowsheet's logs.

Needs MLflow and tensorboardX, so it runs in the peers' virtualenv, not in the suite. Both readers of a
comparison run in turn within each repeat (medians), in this one process, after one warm-up each.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.common import side_by_side, table

RESULTS = Path(__file__).resolve().parents[1] / "results"
RUNS, PARAMS, METRICS, STEPS = 1_000, 10, 5, 100
TB_TAGS, TB_STEPS = 10, 100_000
TARGET_TB_RATIO = 3.0


def make_mlflow_db(folder: Path, runs: int) -> Path:
    import mlflow
    from mlflow.entities import Metric, Param

    db = folder / "mlflow.db"
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    client = mlflow.MlflowClient()
    experiment_id = client.create_experiment("sweep", artifact_location=(folder / "mlruns").as_uri())
    now = int(time.time() * 1000)
    for index in range(runs):
        run = client.create_run(experiment_id, run_name=f"trial-{index}")
        run_id = run.info.run_id
        params = [Param(f"param_{p}", str(index * p)) for p in range(PARAMS)]
        metrics = [Metric(f"metric_{m}", (index + step) / (m + 1), now + step, step)
                   for m in range(METRICS) for step in range(STEPS)]
        client.log_batch(run_id, metrics=metrics, params=params)
        client.set_terminated(run_id)
    return db


def make_event_files(folder: Path, tags: int, steps: int) -> Path:
    from tensorboardX import SummaryWriter

    logdir = folder / "tensorboard" / "run"
    writer = SummaryWriter(str(logdir), flush_secs=3600, max_queue=10_000)
    for step in range(steps):
        for tag in range(tags):
            writer.add_scalar(f"metric_{tag}", step / (tag + 1), step, walltime=1_700_000_000 + step)
    writer.close()
    return folder / "tensorboard"


def make_flowsheet_logs(folder: Path, tags: int, steps: int) -> Path:
    import logger as flowsheet

    logs = folder / "flowsheet"
    flowsheet.set_tracking_uri(str(logs))
    with flowsheet.start_run(run_name="run"):
        for step in range(steps):
            flowsheet.log_metrics({f"metric_{tag}": step / (tag + 1) for tag in range(tags)}, step=step)
    return logs


def count_points(data) -> int:
    return sum(len(history) for run in data.runs.values() for history in run.metrics.values())


def bench_mlflow_db(folder: Path, scale: float, repeats: int) -> list[dict]:
    import mlflow

    from logger.reader import read_logs

    runs = max(1, round(RUNS * scale))
    db = make_mlflow_db(folder, runs)
    ours = read_logs(db)
    assert len(ours.runs) == runs and count_points(ours) == runs * METRICS * STEPS, "the reader missed points"
    theirs = mlflow.search_runs(search_all_experiments=True, max_results=runs + 10)
    assert len(theirs) == runs
    times = side_by_side({"flowsheet": lambda: read_logs(db),
                          "mlflow": lambda: mlflow.search_runs(search_all_experiments=True, max_results=runs + 10)},
                         repeats)
    ratio = times["mlflow"] / times["flowsheet"]
    return [
        {"measure": f"flowsheet reads mlflow.db ({runs:,} runs, every history)",
         "value": f"{times['flowsheet']:.2f} s"},
        {"measure": "mlflow.search_runs over it (latest values)", "value": f"{times['mlflow']:.2f} s"},
        {"measure": "mlflow / flowsheet", "value": f"{ratio:.1f}x", "target": "> 1x", "met": ratio > 1.0},
    ]


def bench_event_files(folder: Path, scale: float, repeats: int) -> list[dict]:
    from logger.reader import read_logs

    steps = max(10, round(TB_STEPS * scale))
    events = make_event_files(folder, TB_TAGS, steps)
    logs = make_flowsheet_logs(folder, TB_TAGS, steps)
    points = TB_TAGS * steps
    assert count_points(read_logs(events)) == points, "the event-file reader missed points"
    assert count_points(read_logs(logs)) == points
    times = side_by_side({"events": lambda: read_logs(events), "flowsheet": lambda: read_logs(logs)}, repeats)
    ratio = times["events"] / times["flowsheet"]
    return [
        {"measure": f"flowsheet reads {points:,} TensorBoard scalars", "value": f"{times['events']:.2f} s"},
        {"measure": "the same points from flowsheet's logs", "value": f"{times['flowsheet']:.2f} s"},
        {"measure": "event files / flowsheet logs", "value": f"{ratio:.2f}x", "target": f"<= {TARGET_TB_RATIO:g}x",
         "met": ratio <= TARGET_TB_RATIO},
    ]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peers.sources")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-save", action="store_true")
    options = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="flowsheet-bench-sources-") as tmp:
        for name, bench in (("mlflow_db", bench_mlflow_db), ("event_files", bench_event_files)):
            folder = Path(tmp) / name
            folder.mkdir()
            rows = bench(folder, options.scale, options.repeats)
            print(table(f"Reading {name.replace('_', ' ')} (medians of {options.repeats})", rows) + "\n")
            results[name] = rows
    if not options.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "sources.json").write_text(json.dumps(results, indent=1) + "\n")
    return results


if __name__ == "__main__":
    main()
