"""Reading an MLflow file store (an `mlruns/` folder) into the same `LogData` as flowsheet's own logs.

    if is_mlflow_store("mlruns"):
        data = read_mlflow_store("mlruns")

The layout MLflow's FileStore writes (MLflow 1.x and 2.x; 3.x deprecates it):

    mlruns/<experiment id>/meta.yaml          name, artifact_location, lifecycle_stage, creation_time
    mlruns/<experiment id>/tags/<key>         experiment tags, one file each (the value is the content)
    mlruns/<experiment id>/<run id>/meta.yaml run_id, run_name, status (1..5), start/end_time, user_id,
                                              lifecycle_stage, artifact_uri
    .../<run id>/metrics/<key>                one point a line: `timestamp value [step]`
    .../<run id>/params/<key>, tags/<key>     one file each; a key with `/` is a subfolder
    .../<run id>/artifacts/                   the run's artifacts (unless artifact_uri points elsewhere)
    mlruns/.trash/                            deleted experiments: ignored

What it promises, like the native reader: it never writes, and nothing in the files makes it raise;
a bad file or line is a `Problem(file, line, reason)` (file relative to the store) and the rest is
still read. Deleted experiments and runs (lifecycle_stage `deleted`) are left out.
The store is foreign input: every file is read through logger/mlflow_files.py, which reads nothing
from outside the store (links included) and nothing that is not a regular file, and refuses ids that
are not plain folder names. An `artifact_uri` outside the store is read only where the caller allows.

Choices where MLflow leaves room:
- Experiment ids stay MLflow's (`0`, `5360806...`) so the site's URLs match what users know; the
  importer (reporter/importers/mlflow.py) is what renames them to flowsheet's name-based ids.
- Params and tags stay strings, as MLflow stores them. All tags are kept, `mlflow.*` ones included.
- A RUNNING (or SCHEDULED) run is `RUNNING` while its last activity is recent and `UNFINISHED` after,
  as for native runs: an `mlruns/` copied from a cluster often holds runs whose process died.
- A run belongs to the experiment folder it lies in, whatever its meta.yaml says.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from .format import (
    END_STATUSES,
    EXPERIMENT_FILE,
    MLFLOW_METRICS_DIR,
    MLFLOW_PARAMS_DIR,
    MLFLOW_STORE_DIR,
    MLFLOW_TAGS_DIR,
    NOTE_TAG,
    PARENT_TAG,
    RUN_NAME_TAG,
    SYSTEM_TAGS,
)
from .mlflow_files import META, MlflowFiles, entries, id_problem
from .model import Experiment, LogData, Problem, Run
from .safepath import is_inside

# MLflow's RunStatus codes (mlflow/entities/run_status.py); SCHEDULED means "not started yet".
STATUS_CODES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
# Folders MLflow keeps beside runs and experiments that are neither: not reported as problems.
NOT_RUNS = {MLFLOW_TAGS_DIR, "datasets", "models", "traces", "outputs", "inputs"}
NOT_EXPERIMENTS = {"models"}  # the file-based model registry lives in mlruns/models/


# ---------------------------------------------------------------- recognising a store


def is_mlflow_store(path: str | os.PathLike) -> bool:
    """True for a folder holding `<experiment id>/meta.yaml` entries, or whose `mlruns/` child does."""
    return store_root(path) is not None


def store_root(path: str | os.PathLike) -> Path | None:
    """The store folder itself (`path` or `path/mlruns`), or None when `path` is not an MLflow store."""
    folder = Path(path)
    if _is_store(folder):
        return folder
    # A project folder holding mlruns/, unless it is a flowsheet log dir of its own.
    if _is_store(folder / MLFLOW_STORE_DIR) and not _has_flowsheet_experiments(folder):
        return folder / MLFLOW_STORE_DIR
    return None


def looks_like_store(listing) -> bool:
    """`_is_store` for a folder of the reader's walk (a `logger.logtree.Listing`), asked of every folder:
    MLflow names experiment folders by number, so a folder with no numbered subfolder is not looked into."""
    if META in listing.files or not any(name.isdigit() for name in listing.dirs):
        return False
    return _is_store(listing.where, [os.path.join(listing.where, name) for name in listing.dirs])


def _is_store(folder: str | os.PathLike, subfolders: list[str] | None = None) -> bool:
    """`subfolders`: the folder's subfolders when already listed. Strings and os.path, not Path: a flowsheet
    experiment folder of numbered runs is looked through on every refresh, a stat per run."""
    folder = os.fspath(folder)
    if os.path.isfile(os.path.join(folder, META)):
        return False  # one experiment's folder (or a run's), not a whole store
    if os.path.isfile(os.path.join(folder, "0", META)):  # the Default experiment MLflow always creates
        return not _has_flowsheet_experiments(Path(folder))
    if subfolders is None:
        subfolders = [entry.path for entry in _subfolders(Path(folder))]
    # An experiment's meta.yaml somewhere, and no flowsheet experiment (whose format wins): looked for in
    # that order, so that a folder of runs without any meta.yaml costs one stat a run.
    return any(os.path.isfile(os.path.join(subfolder, META)) for subfolder in subfolders) and \
        not any(os.path.exists(os.path.join(subfolder, EXPERIMENT_FILE)) for subfolder in subfolders)


def _has_flowsheet_experiments(folder: Path) -> bool:
    return any((Path(entry.path) / EXPERIMENT_FILE).exists() for entry in _subfolders(folder))


def _subfolders(folder: Path) -> list[os.DirEntry]:
    return [e for e in entries(folder) if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]


# ---------------------------------------------------------------- reading


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _status(value: Any) -> str | None:
    """MLflow's status (an int code in the file store; a name in some hand-made files) -> its name."""
    if isinstance(value, str) and value.upper() in STATUS_CODES.values():
        return value.upper()
    code = _int_or_none(value)
    return STATUS_CODES.get(code) if code is not None else None


def read_mlflow_store(path: str | os.PathLike, running_window: float = 600.0, now: float | None = None,
                      allow_artifacts_outside=()) -> LogData:
    """Every live experiment and run of an MLflow file store. `now` (seconds) decides RUNNING vs UNFINISHED.

    `allow_artifacts_outside`: folders outside the store that runs' `artifact_uri` may name.
    Raises only when `path` is missing or not a folder (FileNotFoundError / NotADirectoryError).
    """
    folder = Path(path).expanduser().absolute()
    if not folder.exists():
        raise FileNotFoundError(f"MLflow store not found: {folder}")
    if not folder.is_dir():
        raise NotADirectoryError(f"MLflow store is not a directory: {folder}")
    return read_store(MlflowFiles(store_root(folder) or folder, allow_artifacts_outside), running_window, now)


def read_store(store: MlflowFiles, running_window: float = 600.0, now: float | None = None) -> LogData:
    """Every live experiment and run of the store `store` reads the files of (see `read_mlflow_store`)."""
    return StoreReader(store).read(running_window, now)


class StoreReader:
    """Reads a store; read again, it re-reads only the experiments and runs whose files changed.

    What changed is told without opening anything: the names, sizes, times and inodes of every file and
    folder under a run's folder (and under its artifact folder when that lies elsewhere in the store), and
    of an experiment's meta.yaml and tags/. Unchanged ones keep their objects (and their problems)."""

    def __init__(self, store: MlflowFiles):
        self.store = store
        self._experiments: dict[Path, tuple[tuple, Any, list[Problem]]] = {}  # folder -> (stamp, Experiment, problems)
        self._runs: dict[Path, tuple[tuple, Any, list[Problem]]] = {}  # folder -> (stamp, (Run, its meta status), ...)

    def read(self, running_window: float = 600.0, now: float | None = None) -> LogData:
        store = self.store
        store.problems = []
        data = LogData()
        now_ms = (time.time() if now is None else now) * 1000.0
        live_experiments: set[Path] = set()
        live_runs: set[Path] = set()
        for experiment_folder in store.folders(store.root, NOT_EXPERIMENTS):
            live_experiments.add(experiment_folder)
            stamp = _experiment_stamp(experiment_folder, store.real)
            experiment = self._cached(self._experiments, experiment_folder, stamp,
                                      _read_experiment, store, experiment_folder)
            if experiment is None:
                continue
            data.experiments[experiment.experiment_id] = experiment
            for run_folder in store.folders(experiment_folder, NOT_RUNS):
                live_runs.add(run_folder)
                read = self._cached(self._runs, run_folder, self._run_stamp(run_folder),
                                    _read_run_and_status, store, run_folder, experiment.experiment_id)
                run, meta_status = read
                if run is None:
                    continue
                run.status = meta_status
                if meta_status in ("RUNNING", "SCHEDULED"):
                    last = run.last_time if run.last_time is not None else -math.inf
                    run.status = "RUNNING" if last >= now_ms - running_window * 1000.0 else "UNFINISHED"
                if run.run_id in data.runs:
                    store.problem(run_folder, None, f"run id {run.run_id} also in {data.runs[run.run_id].path}")
                    continue
                data.runs[run.run_id] = run
        for cache, live in ((self._experiments, live_experiments), (self._runs, live_runs)):
            for folder in set(cache) - live:
                del cache[folder]
        data.problems = store.problems
        return data

    def _cached(self, cache: dict, folder: Path, stamp: tuple, read, *args) -> Any:
        """What `read(*args)` gave for `folder` when its files looked like `stamp`; read again when they changed."""
        hit = cache.get(folder)
        if hit is not None and hit[0] == stamp:
            self.store.problems.extend(hit[2])
            return hit[1]
        before = len(self.store.problems)
        value = read(*args)
        cache[folder] = (stamp, value, self.store.problems[before:])
        return value

    def _run_stamp(self, run_folder: Path) -> tuple:
        stamp = _tree_stamp(run_folder, self.store.real)
        hit = self._runs.get(run_folder)
        run = hit[1][0] if hit is not None else None
        if run is not None and run.artifacts_dir and not is_inside(os.path.realpath(run_folder), run.artifacts_dir):
            # artifact_uri names another folder of the store
            stamp += _tree_stamp(Path(run.artifacts_dir), self.store.real)
        return stamp


def _read_run_and_status(store: MlflowFiles, folder: Path, experiment_id: str) -> tuple[Run | None, str | None]:
    # The status meta.yaml says, kept apart: whether a RUNNING run still runs depends on the time of each read.
    run = _read_run(store, folder, experiment_id)
    return run, None if run is None else run.status


def _experiment_stamp(folder: Path, boundary: str) -> tuple:
    return _tree_stamp(folder / MLFLOW_TAGS_DIR, boundary) + _entry_stamp(str(folder / META), boundary)


def _entry_stamp(path: str, boundary: str) -> tuple:
    """A file's name, time, size and inode; a link's target's when it stays inside the store (nothing outside
    is looked at, not even its time)."""
    try:
        info = os.stat(path) if is_inside(boundary, path) else os.lstat(path)
    except OSError:
        return ((path, None),)
    return ((path, info.st_mtime_ns, info.st_size, info.st_ino),)


def _tree_stamp(folder: Path, boundary: str) -> tuple:
    """`_entry_stamp` of everything under `folder`, without opening a file or listing a folder outside the store."""
    found: list[tuple] = []
    stack = [str(folder)]
    while stack:
        directory = stack.pop()
        if not is_inside(boundary, directory):
            found.append((directory, "outside"))  # the reader reports it; here it only must not be listed
            continue
        try:
            with os.scandir(directory) as listing:
                listed = list(listing)
        except OSError:
            found.append((directory, None))
            continue
        for entry in listed:
            found += _entry_stamp(entry.path, boundary)
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
    found.sort(key=repr)
    return tuple(found)


def _read_experiment(store: MlflowFiles, folder: Path) -> Experiment | None:
    experiment_id = folder.name  # MLflow names the folder after the id; the folder is what runs point into
    why = id_problem(experiment_id)
    if why:
        store.problem(folder, None, f"experiment id {experiment_id[:60]!r} {why}: experiment skipped")
        return None
    meta = store.meta(folder)
    if meta is None:
        return None
    if meta.get("lifecycle_stage") == "deleted":
        return None
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        store.problem(folder / META, None, "no experiment name; using the folder's name")
        name = experiment_id
    location = meta.get("artifact_location")
    experiment = Experiment(experiment_id, name, str(folder),
                            artifact_location=location if isinstance(location, str) else None,
                            created=_int_or_none(meta.get("creation_time")))
    experiment.tags.update(store.key_files(folder / MLFLOW_TAGS_DIR, "experiment tag"))
    return experiment


def _read_run(store: MlflowFiles, folder: Path, experiment_id: str) -> Run | None:
    meta = store.meta(folder)
    if meta is None:
        return None
    if meta.get("lifecycle_stage") == "deleted":
        return None
    run_id = str(meta.get("run_id") or meta.get("run_uuid") or folder.name)
    why = id_problem(run_id)
    if why:
        store.problem(folder / META, None, f"run id {run_id[:60]!r} {why}: run skipped")
        return None
    run = Run(run_id=run_id, experiment_id=experiment_id, name=str(run_id), path=str(folder), source="mlflow")
    status = _status(meta.get("status"))
    if status is None:
        store.problem(folder / META, None, f"unknown run status {meta.get('status')!r}; reading the run as unfinished")
        status = "UNFINISHED"
    run.status = status
    run.start_time = _int_or_none(meta.get("start_time"))
    run.end_time = _int_or_none(meta.get("end_time")) if status in END_STATUSES else None
    run.params = store.key_files(folder / MLFLOW_PARAMS_DIR, "param")
    run.tags = store.key_files(folder / MLFLOW_TAGS_DIR, "tag")
    for key, path in store.files_under(folder / MLFLOW_METRICS_DIR):
        run.metrics[key] = store.metric(key, path)

    tags = run.tags
    run.name = tags.get(RUN_NAME_TAG) or meta.get("run_name") or meta.get("name") or run.run_id
    run.name = str(run.name)
    run.parent_run_id = tags.get(PARENT_TAG) or None
    run.description = tags.get(NOTE_TAG)
    run.system = {field: tags[tag] for tag, field in SYSTEM_TAGS.items() if tags.get(tag)}
    if "user" not in run.system and meta.get("user_id"):
        run.system["user"] = str(meta["user_id"])
    run.artifacts_dir, run.artifacts = store.artifacts(folder, meta.get("artifact_uri"))

    times = [t for t in (run.start_time, run.end_time) if t is not None]
    times += [max(history.timestamps) for history in run.metrics.values() if len(history)]
    run.last_time = max(times) if times else None
    if run.start_time is None and times:
        run.start_time = min(times)
    return run
