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

Choices where MLflow leaves room:
- Experiment ids stay MLflow's (`0`, `5360806...`) so the site's URLs match what users know; the
  importer (reporter/import_mlflow.py) is what renames them to flowsheet's name-based ids.
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
from urllib.parse import unquote, urlparse

import yaml

from logger.model import Artifact, Experiment, LogData, MetricHistory, Problem, Run

META = "meta.yaml"
TRASH = ".trash"
ARTIFACTS_DIR = "artifacts"
# MLflow's RunStatus codes (mlflow/entities/run_status.py); SCHEDULED means "not started yet".
STATUS_CODES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
DONE = ("FINISHED", "FAILED", "KILLED")
# Folders MLflow keeps beside runs and experiments that are neither: not reported as problems.
NOT_RUNS = {"tags", "datasets", "models", "traces", "outputs", "inputs"}
NOT_EXPERIMENTS = {"models"}  # the file-based model registry lives in mlruns/models/
# MLflow's system tags -> the `Run.system` keys of docs/FORMAT.md.
SYSTEM_TAGS = {
    "mlflow.user": "user",
    "mlflow.source.name": "entry_point",
    "mlflow.source.git.commit": "git_commit",
    "mlflow.source.git.branch": "git_branch",
    "mlflow.project.entryPoint": "command",
}
RUN_NAME_TAG = "mlflow.runName"
NOTE_TAG = "mlflow.note.content"
PARENT_TAG = "mlflow.parentRunId"


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
    if _is_store(folder / "mlruns") and not _has_flowsheet_experiments(folder):
        return folder / "mlruns"
    return None


def _is_store(folder: Path) -> bool:
    if (folder / META).is_file():
        return False  # one experiment's folder (or a run's), not a whole store
    if (folder / "0" / META).is_file():  # the Default experiment MLflow always creates
        return not _has_flowsheet_experiments(folder)
    found = False
    for entry in _subfolders(folder):
        if (Path(entry.path) / "experiment.jsonl").exists():
            return False  # flowsheet's own format wins
        found = found or (Path(entry.path) / META).is_file()
    return found


def _has_flowsheet_experiments(folder: Path) -> bool:
    return any((Path(entry.path) / "experiment.jsonl").exists() for entry in _subfolders(folder))


def _subfolders(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            return [e for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


# ---------------------------------------------------------------- reading


class _Store:
    """One pass over a store; collects problems as it goes."""

    def __init__(self, root: Path):
        self.root = root
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def problem(self, path: Path, line: int | None, reason: str) -> None:
        self.problems.append(Problem(self.rel(path), line, reason))

    def meta(self, folder: Path) -> dict | None:
        """A meta.yaml as a dict, or None (reported) when it is missing or unreadable."""
        path = folder / META
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.problem(folder, None, f"no {META}: not an MLflow experiment or run folder")
            return None
        except (OSError, UnicodeDecodeError) as error:
            self.problem(path, None, f"cannot read: {_why(error)}")
            return None
        try:
            meta = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            reason = getattr(error, "problem", None) or str(error).splitlines()[0]
            self.problem(path, mark.line + 1 if mark else None, f"malformed YAML ({reason})")
            return None
        if not isinstance(meta, dict):
            self.problem(path, None, f"expected a YAML mapping, got {type(meta).__name__}")
            return None
        return meta

    def key_files(self, folder: Path, what: str) -> dict[str, str]:
        """`params/`, `tags/`: key -> file content; a key with `/` is a subfolder."""
        found: dict[str, str] = {}
        for key, path in _walk_keys(folder):
            try:
                found[key] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                self.problem(path, None, f"cannot read {what} {key!r}: {_why(error)}")
        return found

    def metric(self, key: str, path: Path) -> MetricHistory:
        """One metric file, read line by line (they can hold millions of points)."""
        history = MetricHistory(key)
        try:
            with open(path, "rb") as file:
                for number, raw in enumerate(file, 1):
                    fields = raw.split()
                    if not fields:
                        continue
                    try:
                        history.append(*_metric_point(fields))
                    except ValueError as error:
                        self.problem(path, number, f"bad metric line {raw.strip()[:60]!r}: {error}")
        except OSError as error:
            self.problem(path, None, f"cannot read metric {key!r}: {_why(error)}")
        return history


def _metric_point(fields: list[bytes]) -> tuple[float, int, int]:
    """`timestamp value [step]` -> (value, step, timestamp); ValueError says what is wrong."""
    if len(fields) not in (2, 3):
        raise ValueError(f"expected `timestamp value [step]`, got {len(fields)} field(s)")
    try:
        timestamp = int(fields[0])
    except ValueError:
        raise ValueError("timestamp is not an integer") from None
    try:
        value = float(fields[1])  # Python's float() reads MLflow's `nan`, `inf` and `-inf`
    except ValueError:
        raise ValueError("value is not a number") from None
    try:
        step = int(fields[2]) if len(fields) == 3 else 0  # MLflow before 1.0 wrote no step
    except ValueError:
        raise ValueError("step is not an integer") from None
    return value, step, timestamp


def _walk_keys(folder: Path) -> list[tuple[str, Path]]:
    """Files under `folder` as (`a/b` key, path), sorted; subfolders make the `/` of keys."""
    found: list[tuple[str, Path]] = []
    stack = [(folder, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as entries:
                listed = list(entries)
        except OSError:
            continue
        for entry in listed:
            if entry.is_dir(follow_symlinks=False):
                stack.append((Path(entry.path), prefix + entry.name + "/"))
            elif entry.is_file():
                found.append((prefix + entry.name, Path(entry.path)))
    found.sort()
    return found


def _why(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)


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


def artifact_folder(run_folder: Path, artifact_uri: Any) -> Path:
    """Where the run's artifacts are: `artifact_uri` when it is a local folder that exists, else `<run>/artifacts`.

    After an `rsync` from another machine, the `file://` URI names a path that only existed there.
    """
    if isinstance(artifact_uri, str) and artifact_uri:
        parsed = urlparse(artifact_uri)
        if parsed.scheme in ("", "file") and not parsed.netloc:
            candidate = Path(unquote(parsed.path))
            if candidate.is_absolute() and candidate.is_dir():
                return candidate
    return run_folder / ARTIFACTS_DIR


def list_artifacts(folder: Path) -> list[Artifact]:
    """Files under a run's artifact folder, sorted; symlinks are not followed out of it."""
    found: list[Artifact] = []
    for rel, path in _walk_keys(folder):
        if path.is_symlink() or any(part.startswith(".") for part in rel.split("/")):
            continue
        try:
            found.append(Artifact(rel, path.stat().st_size))
        except OSError:
            continue
    return found


def read_mlflow_store(path: str | os.PathLike, running_window: float = 600.0, now: float | None = None) -> LogData:
    """Every live experiment and run of an MLflow file store. `now` (seconds) decides RUNNING vs UNFINISHED.

    Raises only when `path` is missing or not a folder (FileNotFoundError / NotADirectoryError).
    """
    folder = Path(path).expanduser().absolute()
    if not folder.exists():
        raise FileNotFoundError(f"MLflow store not found: {folder}")
    if not folder.is_dir():
        raise NotADirectoryError(f"MLflow store is not a directory: {folder}")
    root = store_root(folder) or folder
    store = _Store(root)
    data = LogData()
    now_ms = (time.time() if now is None else now) * 1000.0
    for entry in sorted(_subfolders(root), key=lambda e: e.name):
        if entry.name in NOT_EXPERIMENTS and not (Path(entry.path) / META).exists():
            continue
        experiment = _read_experiment(store, Path(entry.path))
        if experiment is None:
            continue
        data.experiments[experiment.experiment_id] = experiment
        for run_entry in sorted(_subfolders(Path(entry.path)), key=lambda e: e.name):
            if run_entry.name in NOT_RUNS and not (Path(run_entry.path) / META).exists():
                continue
            run = _read_run(store, Path(run_entry.path), experiment.experiment_id)
            if run is None:
                continue
            if run.status in ("RUNNING", "SCHEDULED"):
                last = run.last_time if run.last_time is not None else -math.inf
                run.status = "RUNNING" if last >= now_ms - running_window * 1000.0 else "UNFINISHED"
            if run.run_id in data.runs:
                store.problem(Path(run_entry.path), None, f"run id {run.run_id} also in {data.runs[run.run_id].path}")
                continue
            data.runs[run.run_id] = run
    data.problems = store.problems
    return data


def _read_experiment(store: _Store, folder: Path) -> Experiment | None:
    meta = store.meta(folder)
    if meta is None:
        return None
    if meta.get("lifecycle_stage") == "deleted":
        return None
    experiment_id = folder.name  # MLflow names the folder after the id; the folder is what runs point into
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        store.problem(folder / META, None, "no experiment name; using the folder's name")
        name = experiment_id
    location = meta.get("artifact_location")
    experiment = Experiment(experiment_id, name, str(folder),
                            artifact_location=location if isinstance(location, str) else None,
                            created=_int_or_none(meta.get("creation_time")))
    experiment.tags.update(store.key_files(folder / "tags", "experiment tag"))
    return experiment


def _read_run(store: _Store, folder: Path, experiment_id: str) -> Run | None:
    meta = store.meta(folder)
    if meta is None:
        return None
    if meta.get("lifecycle_stage") == "deleted":
        return None
    run_id = meta.get("run_id") or meta.get("run_uuid") or folder.name
    run = Run(run_id=str(run_id), experiment_id=experiment_id, name=str(run_id), path=str(folder), source="mlflow")
    status = _status(meta.get("status"))
    if status is None:
        store.problem(folder / META, None, f"unknown run status {meta.get('status')!r}; reading the run as unfinished")
        status = "UNFINISHED"
    run.status = status
    run.start_time = _int_or_none(meta.get("start_time"))
    run.end_time = _int_or_none(meta.get("end_time")) if status in DONE else None
    run.params = store.key_files(folder / "params", "param")
    run.tags = store.key_files(folder / "tags", "tag")
    for key, path in _walk_keys(folder / "metrics"):
        run.metrics[key] = store.metric(key, path)

    tags = run.tags
    run.name = tags.get(RUN_NAME_TAG) or meta.get("run_name") or meta.get("name") or run.run_id
    run.name = str(run.name)
    run.parent_run_id = tags.get(PARENT_TAG) or None
    run.description = tags.get(NOTE_TAG)
    run.system = {field: tags[tag] for tag, field in SYSTEM_TAGS.items() if tags.get(tag)}
    if "user" not in run.system and meta.get("user_id"):
        run.system["user"] = str(meta["user_id"])
    run.artifacts = list_artifacts(artifact_folder(folder, meta.get("artifact_uri")))

    times = [t for t in (run.start_time, run.end_time) if t is not None]
    times += [max(history.timestamps) for history in run.metrics.values() if len(history)]
    run.last_time = max(times) if times else None
    if run.start_time is None and times:
        run.start_time = min(times)
    return run


# ---------------------------------------------------------------- following a store (LogReader.refresh)


def _run_fingerprint(run: Run) -> tuple:
    # Not Run.__eq__: arrays holding NaN never compare equal. MLflow only appends metric points.
    return (run.name, run.status, run.start_time, run.end_time, run.last_time, run.parent_run_id, run.description,
            run.experiment_id, sorted(run.params.items()), sorted(run.tags.items()), sorted(run.system.items()),
            sorted((key, len(history)) for key, history in run.metrics.items()),
            [(a.path, a.size) for a in run.artifacts])


def diff_log_data(old: LogData, new: LogData) -> dict[str, Any]:
    """What changed from one read of a store to the next, as the fields of `logger.reader.Changes`."""
    runs = {run_id for run_id, run in new.runs.items()
            if run_id not in old.runs or _run_fingerprint(old.runs[run_id]) != _run_fingerprint(run)}
    removed_runs = set(old.runs) - set(new.runs)
    removed_experiments = set(old.experiments) - set(new.experiments)
    experiments = {experiment_id for experiment_id, experiment in new.experiments.items()
                   if experiment_id not in old.experiments or old.experiments[experiment_id] != experiment}
    experiments |= {new.runs[run_id].experiment_id for run_id in runs}
    experiments |= {old.runs[run_id].experiment_id for run_id in removed_runs}
    seen = set(old.problems)
    return {"experiments": experiments - removed_experiments, "runs": runs, "removed_runs": removed_runs,
            "removed_experiments": removed_experiments, "problems": [p for p in new.problems if p not in seen]}
