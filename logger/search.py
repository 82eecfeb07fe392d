"""MLflow's read API over a log directory: search_runs, get_run, get_metric_history, search_experiments.

Every call brings a cached `LogReader` for the directory up to date (an incremental read), so a
notebook that calls `get_run` in a loop does not re-read the logs each time; what this process logged
is written out first, so a read sees it. Problems found while reading are emitted once each as
`LogProblemWarning`s. Unknown run ids raise `NotFoundError` (MLflow's RESOURCE_DOES_NOT_EXIST, also a
`LookupError`). Runs and experiments come back as `logger.entities` objects, params and tags as text
(`param_text`), as MLflow returns them. Deleted runs (`delete_run`) are left out unless a search asks
for them (`run_view_type=ViewType.ALL` or `DELETED_ONLY`); `get_run` finds them.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import entities
from .entities import LifecycleStage, Metric, ViewType
from .exceptions import InvalidParameterValue, NotSupported, ResourceDoesNotExist
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


NotFoundError = ResourceDoesNotExist  # no run (or experiment) with that id: also a LookupError and a ValueError
OUTPUT_FORMATS = ("pandas", "list")


# ---------------------------------------------------------------- reading, with a small cache

_readers: dict[Path, LogReader] = {}


def load(log_dir: str | os.PathLike | None = None) -> LogData:
    """The log directory's data, brought up to date; new problems become warnings (once each)."""
    from .paths import get_log_dir, path_from_uri
    from .writer import flush_all

    flush_all()  # what this process logged is read back: a get_run right after log_metric sees the point
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
                order_by: Iterable[str] | None = None, max_results: int | None = None,
                view_type: int = ViewType.ACTIVE_ONLY) -> list[Run]:
    """Runs of the experiments (all when None) passing the filter, sorted; deleted runs only if `view_type`
    asks for them. InvalidParameterValue (a ValueError) on a bad filter or order."""
    try:
        matches = parse_filter(filter_string).matches
        order = parse_order_by(order_by)
    except ValueError as error:
        raise InvalidParameterValue(str(error)) from None
    shown = _shown(view_type)
    wanted = None if experiment_ids is None else set(experiment_ids)
    rows = [(run_row(run), run) for run in data.runs.values()
            if (wanted is None or run.experiment_id in wanted) and run.deleted in shown]
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


def _shown(view_type) -> tuple[bool, ...]:
    """The values of `Run.deleted` a view shows."""
    if isinstance(view_type, str):
        view_type = ViewType.from_string(view_type)
    shown = {ViewType.ACTIVE_ONLY: (False,), ViewType.DELETED_ONLY: (True,), ViewType.ALL: (False, True)}
    if view_type not in shown:
        raise InvalidParameterValue(f"run_view_type must be ViewType.ACTIVE_ONLY, DELETED_ONLY or ALL, "
                                    f"got {view_type!r}")
    return shown[view_type]


def search_runs(experiment_ids=None, filter_string: str = "", run_view_type: int = ViewType.ACTIVE_ONLY,
                max_results: int | None = None, order_by=None, output_format: str = "pandas",
                search_all_experiments: bool = False, experiment_names=None, log_dir=None, **_mlflow_only):
    """Runs as a pandas DataFrame with MLflow's columns, or with output_format="list" as a list of
    `logger.entities.Run`. All experiments when no ids or names are given."""
    if output_format not in OUTPUT_FORMATS:
        raise InvalidParameterValue(f"output_format must be 'pandas' or 'list', got {output_format!r}")
    data = load(log_dir)
    runs = select_runs(data, _experiment_ids(data, experiment_ids, experiment_names), filter_string, order_by,
                       max_results, run_view_type)
    return [entity_run(run) for run in runs] if output_format == "list" else runs_frame(runs)


# ---------------------------------------------------------------- single runs and experiments


def _find_run(data: LogData, run_id: str) -> Run:
    run = data.runs.get(run_id)
    if run is None:
        raise NotFoundError(f"run {run_id!r} not found in the log directory")
    return run


def entity_run(run: Run) -> entities.Run:
    """A run as MLflow's read API gives it, from `run_row`: params and tags as text, latest metrics."""
    row = run_row(run)
    attributes = row["attributes"]
    info = entities.RunInfo(run.run_id, run.experiment_id, run.name, run.status, run.start_time, run.end_time,
                            attributes["artifact_uri"], attributes["user"], run.parent_run_id,
                            LifecycleStage.DELETED if run.deleted else LifecycleStage.ACTIVE)
    inputs = [entities.DatasetInput(
        entities.Dataset(use.name, use.digest, use.source_type, use.source, use.schema, use.profile),
        [entities.InputTag(key, value) for key, value in use.tags.items()]) for use in run.inputs]
    return entities.Run(info, entities.RunData(row["params"], row["metrics"], row["tags"]), entities.RunInputs(inputs))


def get_run(run_id: str, log_dir=None) -> entities.Run:
    """The run, deleted or not (its `info.lifecycle_stage` says)."""
    return entity_run(_find_run(load(log_dir), run_id))


def get_metric_history(run_id: str, key: str, log_dir=None) -> list[Metric]:
    """Every point of a metric in logged order; [] when the run never logged it."""
    history = _find_run(load(log_dir), run_id).metrics.get(key)
    if history is None:
        return []
    return [Metric(key, value, timestamp=stamp, step=step)
            for value, step, stamp in zip(history.values, history.steps, history.timestamps)]


def entity_experiment(experiment: Experiment) -> entities.Experiment:
    location = experiment.artifact_location or Path(experiment.path).as_uri()
    return entities.Experiment(experiment.experiment_id, experiment.name, location,
                               {k: param_text(v) for k, v in experiment.tags.items()}, experiment.created)


def search_experiments(view_type: int = ViewType.ACTIVE_ONLY, max_results: int | None = None,
                       filter_string: str | None = None, order_by=None, log_dir=None,
                       **_mlflow_only) -> list[entities.Experiment]:
    """Every experiment, by name (flowsheet has no deleted experiments: DELETED_ONLY finds none)."""
    if filter_string or order_by:
        raise NotSupported("search_experiments takes no filter_string or order_by in flowsheet: filter and sort "
                           "the returned list in Python (each has .name, .experiment_id, .tags, .creation_time)")
    if False not in _shown(view_type):
        return []
    found = sorted(load(log_dir).experiments.values(), key=lambda e: (e.name, e.experiment_id))
    found = found if max_results is None else found[:max_results]
    return [entity_experiment(e) for e in found]


def list_experiments(log_dir=None, **_mlflow_only) -> list[entities.Experiment]:
    return search_experiments(log_dir=log_dir)
