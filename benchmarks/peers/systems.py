"""The workloads, once per system: raw orjson (the limit), flowsheet, MLflow (sqlite, file store), dvclive.

Each function does one workload in the calling process and returns a dict with `seconds` (the timed
part only: the logging loop, not imports or store creation) and counts. MLflow and dvclive are imported
inside the functions, so this module imports (and the flowsheet and raw parts run) without them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

KEYS = [f"metric_{i}" for i in range(10)]
PARAMS = {f"param_{i}": i * 0.5 for i in range(20)}
MANY_PARAMS, MANY_METRICS, MANY_STEPS = 10, 5, 100
SYSTEMS = ("raw", "ours", "mlflow", "mlflow-file", "dvclive")
LABELS = {"raw": "raw orjson (limit)", "ours": "flowsheet", "mlflow": "MLflow default (sqlite)",
          "mlflow-file": "MLflow file store", "dvclive": "dvclive"}
# MLflow 3 refuses its file store unless this is set; the child processes set it for "mlflow-file".
FILE_STORE_ENV = {"MLFLOW_ALLOW_FILE_STORE": "true"}


def mlflow_uri(system: str, folder: str) -> str:
    """MLflow's default backend is `sqlite:///mlflow.db` in the working directory; we put it in folder."""
    if system == "mlflow":
        return f"sqlite:///{Path(folder).absolute() / 'mlflow.db'}"
    return (Path(folder).absolute() / "mlruns").as_uri()


def _quiet_mlflow(system: str, folder: str):
    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(mlflow_uri(system, folder))
    return mlflow


def _dvclive(folder: str, **options):
    from dvclive import Live

    return Live(folder, report=None, save_dvc_exp=False, dvcyaml=None, **options)


def _raw_line(kind: str, **fields) -> bytes:
    import orjson

    record = {"v": 1, "kind": kind, "t": int(time.time() * 1000), **fields}
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


# ---------------------------------------------------------------- workload 1: log_metric loop


def log_metric_loop(system: str, folder: str, calls: int) -> dict:
    """One run, 20 params, `calls` single-value calls over 10 keys (step = call // 10)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    if system == "raw":
        import orjson

        dumps, option, now = orjson.dumps, orjson.OPT_APPEND_NEWLINE, time.time
        with open(Path(folder) / "run.jsonl", "ab") as file:
            file.write(b"".join(_raw_line("param", key=k, value=v) for k, v in PARAMS.items()))
            write = file.write
            started = time.perf_counter()
            for i in range(calls):
                write(dumps({"v": 1, "kind": "metric", "t": int(now() * 1000), "key": KEYS[i % 10],
                             "value": i * 0.001, "step": i // 10}, option=option))
            seconds = time.perf_counter() - started
    elif system == "ours":
        import logger

        logger.set_log_dir(folder)
        with logger.start_run():
            logger.log_params(PARAMS)
            log_metric = logger.log_metric
            started = time.perf_counter()
            for i in range(calls):
                log_metric(KEYS[i % 10], i * 0.001, step=i // 10)
            seconds = time.perf_counter() - started
    elif system.startswith("mlflow"):
        mlflow = _quiet_mlflow(system, folder)
        with mlflow.start_run():
            mlflow.log_params(PARAMS)
            log_metric = mlflow.log_metric
            started = time.perf_counter()
            for i in range(calls):
                log_metric(KEYS[i % 10], i * 0.001, step=i // 10)
            seconds = time.perf_counter() - started
    elif system == "dvclive":
        with _dvclive(folder) as live:
            live.log_params(PARAMS)
            log_metric, next_step = live.log_metric, live.next_step
            started = time.perf_counter()
            for i in range(calls):
                log_metric(KEYS[i % 10], i * 0.001)
                if i % 10 == 9:  # dvclive's step is implicit: the 10 keys share one
                    next_step()
            seconds = time.perf_counter() - started
    else:
        raise ValueError(f"unknown system {system!r}")
    return {"seconds": seconds, "count": calls}


# ---------------------------------------------------------------- workload 2: batch calls


def batch_loop(system: str, folder: str, steps: int) -> dict:
    """`steps` batch calls of the 10 keys each (the same points as workload 1 when steps = calls / 10)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    if system == "raw":
        import orjson

        dumps, option, now = orjson.dumps, orjson.OPT_APPEND_NEWLINE, time.time
        with open(Path(folder) / "run.jsonl", "ab") as file:
            started = time.perf_counter()
            for step in range(steps):
                t = int(now() * 1000)
                file.write(b"".join(dumps({"v": 1, "kind": "metric", "t": t, "key": key, "value": step * 0.001,
                                           "step": step}, option=option) for key in KEYS))
            seconds = time.perf_counter() - started
    elif system == "ours":
        import logger

        logger.set_log_dir(folder)
        with logger.start_run():
            log_metrics = logger.log_metrics
            started = time.perf_counter()
            for step in range(steps):
                log_metrics({key: step * 0.001 for key in KEYS}, step=step)
            seconds = time.perf_counter() - started
    elif system.startswith("mlflow"):
        mlflow = _quiet_mlflow(system, folder)
        with mlflow.start_run():
            log_metrics = mlflow.log_metrics
            started = time.perf_counter()
            for step in range(steps):
                log_metrics({key: step * 0.001 for key in KEYS}, step=step)
            seconds = time.perf_counter() - started
    elif system == "dvclive":
        return {"skipped": "dvclive has no batch call"}
    else:
        raise ValueError(f"unknown system {system!r}")
    return {"seconds": seconds, "count": steps * len(KEYS)}


# ---------------------------------------------------------------- workload 3: many runs


def many_runs(system: str, folder: str, runs: int) -> dict:
    """`runs` runs x 10 params x 5 metrics x 100 steps (one batch call per step where the system has one)."""
    from benchmarks.process import folder_bytes

    Path(folder).mkdir(parents=True, exist_ok=True)
    keys = KEYS[:MANY_METRICS]
    params = lambda r: {f"param_{p}": p + r * 0.5 for p in range(MANY_PARAMS)}  # noqa: E731
    values = lambda r, step: {key: 1.0 / (step + m + 1) + r * 1e-6 for m, key in enumerate(keys)}  # noqa: E731
    started = time.perf_counter()
    if system == "raw":
        import orjson

        dumps, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        for r in range(runs):
            run_id = f"{r:032x}"
            run_dir = Path(folder) / "many-runs" / run_id
            run_dir.mkdir(parents=True)
            with open(run_dir / "run.jsonl", "ab") as file:
                file.write(_raw_line("start", run_id=run_id, experiment_id="many-runs", name=f"run-{r}",
                                     parent_run_id=None, description=None, system={}))
                file.write(b"".join(_raw_line("param", key=k, value=v) for k, v in params(r).items()))
                for step in range(MANY_STEPS):
                    t = int(time.time() * 1000)
                    file.write(b"".join(dumps({"v": 1, "kind": "metric", "t": t, "key": k, "value": v, "step": step},
                                              option=option) for k, v in values(r, step).items()))
                file.write(_raw_line("end", status="FINISHED"))
    elif system == "ours":
        import logger

        logger.set_log_dir(folder)
        logger.set_experiment("many-runs")
        for r in range(runs):
            with logger.start_run(run_name=f"run-{r}"):
                logger.log_params(params(r))
                for step in range(MANY_STEPS):
                    logger.log_metrics(values(r, step), step=step)
    elif system.startswith("mlflow"):
        mlflow = _quiet_mlflow(system, folder)
        started = time.perf_counter()  # not the database's creation and migration, done once per store
        mlflow.set_experiment("many-runs")
        for r in range(runs):
            with mlflow.start_run(run_name=f"run-{r}"):
                mlflow.log_params(params(r))
                for step in range(MANY_STEPS):
                    mlflow.log_metrics(values(r, step), step=step)
    elif system == "dvclive":
        for r in range(runs):
            with _dvclive(os.path.join(folder, f"run-{r}")) as live:
                live.log_params(params(r))
                for step in range(MANY_STEPS):
                    for key, value in values(r, step).items():
                        live.log_metric(key, value)
                    live.next_step()
    else:
        raise ValueError(f"unknown system {system!r}")
    seconds = time.perf_counter() - started
    apparent, disk = folder_bytes(Path(folder))
    return {"seconds": seconds, "count": runs, "bytes": apparent, "disk_bytes": disk}


# ---------------------------------------------------------------- workload 4: read back


def read_back(system: str, folder: str) -> dict:
    """Workload 3's runs into a DataFrame of runs (params and latest metrics); imports are not timed."""
    reader = _reader(system, folder)
    started = time.perf_counter()
    frame = reader()
    return {"seconds": time.perf_counter() - started, "count": len(frame)}


def _reader(system: str, folder: str):
    import pandas as pd

    if system == "raw":  # the floor: parse every line, keep params and the last value of each metric
        import orjson

        def read():
            rows = []
            for path in sorted(Path(folder).glob("*/*/run.jsonl")):
                row = {}
                for line in path.read_bytes().splitlines():
                    event = orjson.loads(line)
                    kind = event["kind"]
                    if kind == "metric":
                        row[f"metrics.{event['key']}"] = event["value"]
                    elif kind == "param":
                        row[f"params.{event['key']}"] = event["value"]
                    elif kind == "start":
                        row["run_id"] = event["run_id"]
                rows.append(row)
            return pd.DataFrame(rows)
        return read
    if system == "ours":
        import logger.search

        return lambda: logger.search.search_runs(log_dir=folder)
    if system.startswith("mlflow"):
        mlflow = _quiet_mlflow(system, folder)
        return lambda: mlflow.search_runs(experiment_names=["many-runs"])
    if system == "dvclive":  # dvclive has no reader: its files, by hand
        import json

        import yaml

        def read():
            rows = []
            for run_dir in sorted(Path(folder).iterdir()):
                row = {"run": run_dir.name}
                params = yaml.safe_load((run_dir / "params.yaml").read_text())
                row.update({f"params.{k}": v for k, v in params.items()})
                metrics = json.loads((run_dir / "metrics.json").read_text())
                row.update({f"metrics.{k}": v for k, v in metrics.items()})
                rows.append(row)
            return pd.DataFrame(rows)
        return read
    raise ValueError(f"unknown system {system!r}")


# ---------------------------------------------------------------- workload 5: one run's report


def write_dvclive_run(folder: str, metrics: int, steps: int) -> None:
    """dvclive's files for one run, written directly (its own logging of 10,000 steps takes a minute)."""
    plots = Path(folder) / "plots" / "metrics"
    plots.mkdir(parents=True, exist_ok=True)
    summary = {}
    for m in range(metrics):
        key = f"metric_{m}"
        values = [1.0 / (step + m + 1) for step in range(steps)]
        (plots / f"{key}.tsv").write_text(f"step\t{key}\n" + "".join(f"{s}\t{v}\n" for s, v in enumerate(values)))
        summary[key] = values[-1]
    summary["step"] = steps - 1
    import json

    (Path(folder) / "metrics.json").write_text(json.dumps(summary, indent=4))


def dvclive_report(folder: str) -> dict:
    """dvclive's HTML report of the run in folder: `Live(resume=True, report="html").make_report()`."""
    started = time.perf_counter()
    live = _dvclive_resume(folder)
    live.make_report()
    report = Path(folder) / "report.html"
    return {"seconds": time.perf_counter() - started, "bytes": report.stat().st_size}


def _dvclive_resume(folder: str):
    from dvclive import Live

    return Live(folder, resume=True, report="html", save_dvc_exp=False, dvcyaml=None)
