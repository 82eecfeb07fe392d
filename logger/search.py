"""MLflow's read API over a log directory: search_runs, get_run, get_metric_history, search_experiments.

Every call brings a cached `LogReader` for the directory up to date (an incremental read), so a
notebook that calls `get_run` in a loop does not re-read the logs each time. Problems found while
reading are emitted once each as `LogProblemWarning`s. Unknown run ids raise `NotFoundError`, a
`LookupError`. Params and tags come back as text (`param_text`), as MLflow returns them.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .filter import parse_filter
from .format import (
    ARTIFACTS_DIR,
    GIT_BRANCH_TAG,
    GIT_COMMIT_TAG,
    NOTE_TAG,
    PARENT_TAG,
    RUN_NAME_TAG,
    SOURCE_NAME_TAG,
    USER_TAG,
)
from .model import Experiment, LogData, Run
from .order import parse_order_by, sort_rows
from .reader import LogProblemWarning, LogReader
from .values import param_text

BASE_COLUMNS = ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time", "run_name",
                "parent_run_id")
_TIME_COLUMNS = ("start_time", "end_time")
_PANDAS_MIN_MS, _PANDAS_MAX_MS = -9_223_372_036_854, 9_223_372_036_854  # datetime64[ns] range, in ms
_MAX_READERS = 4


class NotFoundError(LookupError):
    """No run (or experiment) with that id in the log directory."""


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    step: int
    timestamp: int


@dataclass
class StoredRunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    user_id: str | None
    parent_run_id: str | None = None
    lifecycle_stage: str = "active"

    @property
    def run_uuid(self) -> str:
        return self.run_id


@dataclass
class StoredRunData:
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class StoredRun:
    info: StoredRunInfo
    data: StoredRunData


@dataclass
class StoredExperiment:
    experiment_id: str
    name: str
    artifact_location: str
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    lifecycle_stage: str = "active"


# ---------------------------------------------------------------- reading, with a small cache

_readers: dict[Path, LogReader] = {}


def load(log_dir: str | os.PathLike | None = None) -> LogData:
    """The log directory's data, brought up to date; new problems become warnings (once each)."""
    from .paths import get_log_dir, path_from_uri

    root = (get_log_dir() if log_dir is None else path_from_uri(log_dir)).absolute()
    reader = _readers.get(root)
    if reader is None:
        reader = LogReader(root)  # FileNotFoundError / NotADirectoryError go to the caller
        if len(_readers) >= _MAX_READERS:
            _readers.pop(next(iter(_readers)))
        _readers[root] = reader
    try:
        changes = reader.refresh()
    except OSError:
        _readers.pop(root, None)
        raise
    for problem in changes.problems:
        warnings.warn(str(problem), LogProblemWarning, stacklevel=3)
    return reader.data


# ---------------------------------------------------------------- runs as rows and frames


def artifact_uri(run: Run) -> str:
    folder = Path(run.path)
    return (folder / ARTIFACTS_DIR).as_uri() if run.source != "plain" else folder.parent.as_uri()


def system_tags(run: Run) -> dict[str, Any]:
    """The `mlflow.*` tags MLflow would have set itself, from what the start line recorded."""
    system = run.system or {}
    found = {RUN_NAME_TAG: run.name, PARENT_TAG: run.parent_run_id, USER_TAG: system.get("user"),
             SOURCE_NAME_TAG: system.get("entry_point"), GIT_COMMIT_TAG: system.get("git_commit"),
             GIT_BRANCH_TAG: system.get("git_branch"), NOTE_TAG: run.description}
    return {key: value for key, value in found.items() if value is not None}


def run_row(run: Run, published: bool = False) -> dict:
    """The one row of a run that every runs table is made from, and that the filter grammar
    (`logger.filter`, and filter.js in the browser) matches and sorts: search_runs' frame, `reporter runs`,
    the site's runs tables, runs.csv and exports.

    Params and tags are `param_text` strings (as MLflow stores them, and as the browser can still compare
    them after JSON), tags with MLflow's system tags first; metrics are the latest values (NaN kept).
    Everything comes from `run` alone, so a redacted run makes a redacted row; `published=True` leaves out
    the one field that names this machine, the artifact folder's URI.
    """
    user = (run.system or {}).get("user")
    return {
        "attributes": {"run_id": run.run_id, "run_name": run.name, "status": run.status,
                       "start_time": run.start_time, "end_time": run.end_time, "experiment_id": run.experiment_id,
                       "user": None if user is None else param_text(user),
                       "artifact_uri": None if published else artifact_uri(run), "parent_run_id": run.parent_run_id},
        "params": {key: param_text(value) for key, value in run.params.items()},
        "metrics": run.latest_metrics(),
        "tags": {key: param_text(value) for key, value in {**system_tags(run), **run.tags}.items()},
    }


def select_runs(data: LogData, experiment_ids: Iterable[str] | None = None, filter_string: str = "",
                order_by: Iterable[str] | None = None, max_results: int | None = None) -> list[Run]:
    """Runs of the experiments (all when None) passing the filter, sorted; ValueError on a bad filter."""
    matches = parse_filter(filter_string).matches
    order = parse_order_by(order_by)
    wanted = None if experiment_ids is None else set(experiment_ids)
    rows = [(run_row(run), run) for run in data.runs.values() if wanted is None or run.experiment_id in wanted]
    by_row = {id(row): run for row, run in rows}
    kept = sort_rows([row for row, _ in rows if matches(row)], order)
    runs = [by_row[id(row)] for row in kept]
    return runs if max_results is None else runs[:max_results]


def runs_frame(runs: list[Run]):
    """MLflow's search_runs frame, from `run_row`: base columns, then metrics.*, params.*, tags.* (each sorted)."""
    import numpy as np
    import pandas as pd

    rows = [run_row(run) for run in runs]
    columns: dict[str, Any] = {name: pd.Series([row["attributes"][name] for row in rows], dtype=object)
                               for name in ("run_id", "experiment_id", "status", "artifact_uri")}
    for name in _TIME_COLUMNS:
        times = [row["attributes"][name] for row in rows]
        # A time pandas cannot hold (a log far in the future or past) is shown as missing, not raised.
        columns[name] = pd.to_datetime(pd.Series([np.nan if t is None or not _PANDAS_MIN_MS <= t <= _PANDAS_MAX_MS
                                                  else t for t in times], dtype="float64"), unit="ms", utc=True)
    for name in ("run_name", "parent_run_id"):
        columns[name] = pd.Series([row["attributes"][name] for row in rows], dtype=object)
    for part, dtype in (("metrics", "float64"), ("params", object), ("tags", object)):
        missing = np.nan if part == "metrics" else None
        for key in sorted({key for row in rows for key in row[part]}):
            columns[f"{part}.{key}"] = pd.Series([row[part].get(key, missing) for row in rows], dtype=dtype)
    frame = pd.DataFrame(columns)
    for name in _TIME_COLUMNS:
        frame[name] = frame[name].astype("datetime64[ns, UTC]")
    return frame


def _experiment_ids(data: LogData, experiment_ids, experiment_names) -> list[str] | None:
    if experiment_ids is None and experiment_names is None:
        return None
    if isinstance(experiment_ids, (str, int)):
        experiment_ids = [experiment_ids]
    if isinstance(experiment_names, str):
        experiment_names = [experiment_names]
    ids = [str(i) for i in experiment_ids or ()]
    names = set(experiment_names or ())
    ids += [e.experiment_id for e in data.experiments.values() if e.name in names]
    return ids


def search_runs(experiment_ids=None, filter_string: str = "", order_by=None, max_results: int | None = None,
                experiment_names=None, log_dir=None, **_mlflow_only):
    """Runs as a pandas DataFrame with MLflow's columns. All experiments when no ids or names are given."""
    data = load(log_dir)
    runs = select_runs(data, _experiment_ids(data, experiment_ids, experiment_names), filter_string, order_by,
                       max_results)
    return runs_frame(runs)


# ---------------------------------------------------------------- single runs and experiments


def _find_run(data: LogData, run_id: str) -> Run:
    run = data.runs.get(run_id)
    if run is None:
        raise NotFoundError(f"run {run_id!r} not found in the log directory")
    return run


def get_run(run_id: str, log_dir=None) -> StoredRun:
    run = _find_run(load(log_dir), run_id)
    row = run_row(run)
    info = StoredRunInfo(run.run_id, run.experiment_id, run.name, run.status, run.start_time, run.end_time,
                         row["attributes"]["artifact_uri"], row["attributes"]["user"], run.parent_run_id)
    data = StoredRunData(params=row["params"], metrics=row["metrics"], tags=row["tags"])
    return StoredRun(info, data)


def get_metric_history(run_id: str, key: str, log_dir=None) -> list[Metric]:
    """Every point of a metric in logged order; [] when the run never logged it."""
    history = _find_run(load(log_dir), run_id).metrics.get(key)
    if history is None:
        return []
    return [Metric(key, value, step, stamp)
            for value, step, stamp in zip(history.values, history.steps, history.timestamps)]


def _stored_experiment(experiment: Experiment) -> StoredExperiment:
    location = experiment.artifact_location or Path(experiment.path).as_uri()
    return StoredExperiment(experiment.experiment_id, experiment.name, location,
                            {k: param_text(v) for k, v in experiment.tags.items()}, experiment.created)


def search_experiments(max_results: int | None = None, log_dir=None, **_mlflow_only) -> list[StoredExperiment]:
    """Every experiment, by name."""
    found = sorted(load(log_dir).experiments.values(), key=lambda e: (e.name, e.experiment_id))
    found = found if max_results is None else found[:max_results]
    return [_stored_experiment(e) for e in found]


def list_experiments(log_dir=None, **_mlflow_only) -> list[StoredExperiment]:
    return search_experiments(log_dir=log_dir)
