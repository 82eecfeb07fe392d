"""`reporter import-mlflow`: convert an MLflow file store (`mlruns/`) into flowsheet's log format.

    result = import_mlflow("mlruns", "runs")
    print(result.summary())

Mapping (docs/FORMAT.md is the target format):
- An MLflow experiment becomes the flowsheet experiment of the same *name*: its folder is
  `experiment_id_for(name)` (or an existing folder that already holds that name), so `Default` or
  `houses` merge with native experiments of that name. Its tags become `experiment_tag` lines.
- A run keeps its MLflow run id (32 hex digits, like flowsheet's). Its `run.jsonl` is a `start` line
  (name, parent, note, the system info from MLflow's tags), then params and tags (at the run's start
  time: MLflow does not record when they were logged), metric points and `artifact` lines, in time
  order, then an `end` line for FINISHED, FAILED and KILLED runs. Params and tags stay strings, as
  MLflow stored them; NaN and infinities travel as the format's strings.
- Artifacts are hard-linked when the store and the log dir share a filesystem, else copied. An
  `artifact_uri` naming a folder outside the store is only followed into folders the user names
  (`--allow-artifacts-outside PATH`); otherwise that is a problem and the run's own `artifacts/` is used.

Nothing is read from outside the store (logger/mlflow_store.py reads every file through
logger/safepath.py), and a run whose id is not a plain folder name is skipped by the reader, so every
file written lies under `log_dir`.

Idempotent and append-only: every line is built from MLflow's data alone (times included), so
importing again builds the same bytes. A run file that exists already gets only the lines it does
not hold yet (counted as a multiset, so repeated identical points are kept), and never a second
`start` line. Importing twice writes nothing the second time; importing after MLflow logged more
appends just the new points, tags and the `end` line. Nothing is ever rewritten or removed.
Not handled: a run MLflow reopened after it ended keeps its first `end` (no `resume` line is made).

Lines flowsheet's reader would reject (keys over 250 characters or with control characters, values
over 6,000 characters) are left out and reported as problems, as are the store's own bad files.
"""

from __future__ import annotations

import collections
import fcntl
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logger import events
from logger.artifacts import destination, place
from logger.experiments import experiment_id_for, find_by_name
from logger.format import (
    ARTIFACT,
    ARTIFACTS_DIR,
    END,
    END_STATUSES,
    EXPERIMENT,
    EXPERIMENT_FILE,
    EXPERIMENT_TAG,
    FORMAT_VERSION,
    KIND_FIELD,
    METRIC,
    PARAM,
    RUN_FILE,
    START,
    TAG,
    VERSION_FIELD,
)
from logger.mlflow_files import MlflowFiles
from logger.mlflow_store import read_store, store_root
from logger.model import Experiment, Problem, Run
from logger.safepath import open_inside


class MlflowImportError(Exception):
    """The import could not start; the message is one line for the user."""


@dataclass
class ImportResult:
    experiments: int = 0
    experiments_created: int = 0
    runs_created: int = 0
    runs_updated: int = 0
    runs_unchanged: int = 0
    lines_written: int = 0
    artifacts_linked: int = 0
    artifacts_copied: int = 0
    artifacts_unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    log_dir: Path | None = None

    def summary(self) -> str:
        return (f"{self.experiments} experiment(s) ({self.experiments_created} new), "
                f"{self.runs_created + self.runs_updated + self.runs_unchanged} run(s): {self.runs_created} new, "
                f"{self.runs_updated} updated, {self.runs_unchanged} unchanged; {self.lines_written} line(s) written; "
                f"artifacts: {self.artifacts_linked} linked, {self.artifacts_copied} copied, "
                f"{self.artifacts_unchanged} unchanged; {len(self.problems)} problem(s)")


# ---------------------------------------------------------------- events, pure


def _event(kind: str, t: int, **fields: Any) -> dict:
    # Not events.event(): that one stamps a missing (or 0) time with "now", and the lines must be reproducible.
    return {VERSION_FIELD: FORMAT_VERSION, KIND_FIELD: kind, "t": t, **fields}


def experiment_events(experiment: Experiment, experiment_id: str) -> tuple[dict, list[dict]]:
    """The `experiment` line and its `experiment_tag` lines."""
    t = experiment.created or 0
    first = _event(EXPERIMENT, t, experiment_id=experiment_id, name=experiment.name, artifact_location=None)
    tags = [_event(EXPERIMENT_TAG, t, key=key, value=value) for key, value in sorted(experiment.tags.items())]
    return first, tags


def run_events(run: Run, experiment_id: str) -> tuple[dict, list[dict]]:
    """The run's `start` line, and every other line in time order (`end` last)."""
    start_t = run.start_time if run.start_time is not None else (run.last_time or 0)
    start = _event(START, start_t, run_id=run.run_id, experiment_id=experiment_id, name=run.name,
                   parent_run_id=run.parent_run_id, description=run.description, system=dict(run.system))
    body: list[dict] = []
    body += [_event(PARAM, start_t, key=key, value=value) for key, value in sorted(run.params.items())]
    body += [_event(TAG, start_t, key=key, value=value) for key, value in sorted(run.tags.items())]
    for key, history in sorted(run.metrics.items()):
        body += [_event(METRIC, t, key=key, value=events.metric_value(value), step=step)
                 for value, step, t in zip(history.values, history.steps, history.timestamps)]
    end_t = run.end_time if run.end_time is not None else (run.last_time or start_t)
    body += [_event(ARTIFACT, end_t, path=artifact.path, size=artifact.size) for artifact in run.artifacts]
    body.sort(key=lambda event: event["t"])  # stable: same-time lines keep the order above
    if run.status in END_STATUSES:
        body.append(_event(END, end_t, status=run.status))  # last in the file, whatever its time
    return start, body


def check_event(event: dict) -> str | None:
    """Why flowsheet's reader would skip this line, or None when it is fine."""
    if "key" in event:
        try:
            events.check_key(event["key"], f"{event['kind']} key")
        except ValueError as error:
            return str(error)
    if event[KIND_FIELD] in (PARAM, TAG, EXPERIMENT_TAG):
        value = event["value"]
        if len(value if isinstance(value, str) else str(value)) > events.MAX_VALUE_LENGTH:
            return f"{event['kind']} {event['key']!r}: value is longer than {events.MAX_VALUE_LENGTH} characters"
    return None


def missing_lines(existing: bytes, wanted: list[bytes]) -> list[bytes]:
    """The lines of `wanted` that `existing` does not hold yet, as a multiset: a line twice is wanted twice."""
    have = collections.Counter(line + b"\n" for line in existing.split(b"\n") if line)
    out = []
    for line in wanted:
        if have[line] > 0:
            have[line] -= 1
        else:
            out.append(line)
    return out


# ---------------------------------------------------------------- writing


def _append(path: Path, lines: list[bytes]) -> None:
    """Append whole lines under the writer's lock; a torn last line is closed first, as writers do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        data = b"".join(lines)
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


class _Importer:
    def __init__(self, store: MlflowFiles, log_dir: Path, link: bool):
        self.store = store
        self.log_dir = log_dir
        self.link = link
        self.result = ImportResult(log_dir=log_dir)

    def problem(self, file: str, reason: str) -> None:
        # Named relative to the store, like the store reader's own problems.
        self.result.problems.append(Problem(Path(os.path.relpath(file, self.store.root)).as_posix(), None, reason))

    def encode_checked(self, where: str, items: list[dict]) -> list[bytes]:
        lines = []
        for event in items:
            reason = check_event(event)
            if reason:
                self.problem(where, f"not imported: {reason}")
            else:
                lines.append(events.encode(event))
        return lines

    def experiment(self, experiment: Experiment) -> tuple[str, Path]:
        """Make (or find) the flowsheet experiment of that name; returns its id and folder."""
        found = find_by_name(self.log_dir, experiment.name)
        experiment_id = found.experiment_id if found else experiment_id_for(experiment.name)
        folder = Path(found.path) if found else self.log_dir / experiment_id  # a hand-made folder keeps its name
        path = folder / EXPERIMENT_FILE
        first, tags = experiment_events(experiment, experiment_id)
        if found:  # merge: only the tags it does not hold with that value yet
            lines = self.encode_checked(experiment.path, [t for t in tags if found.tags.get(t["key"]) != t["value"]])
        else:
            lines = self.encode_checked(experiment.path, [first] + tags)
        if not found:
            self.result.experiments_created += 1
        if lines:
            _append(path, lines)
            self.result.lines_written += len(lines)
        return experiment_id, folder

    def run(self, run: Run, experiment_id: str, experiment_folder: Path) -> None:
        folder = experiment_folder / run.run_id
        path = folder / RUN_FILE
        start, body = run_events(run, experiment_id)
        wanted = self.encode_checked(run.path, body)
        existing = _read(path)
        new = missing_lines(existing, wanted)
        if not existing.strip():
            new = [events.encode(start)] + new
        self.copy_artifacts(run, folder / ARTIFACTS_DIR)
        if not new:
            self.result.runs_unchanged += 1
            return
        _append(path, new)
        self.result.lines_written += len(new)
        if existing.strip():
            self.result.runs_updated += 1
        else:
            self.result.runs_created += 1

    def copy_artifacts(self, run: Run, target_root: Path) -> None:
        if not run.artifacts:
            return
        source_root = run.artifacts_dir  # a real path, checked when the store was read
        if source_root is None:
            return
        for artifact in run.artifacts:
            try:
                # Opened through the same check as every read of the store: the file may have changed since.
                with open_inside(os.path.join(source_root, *artifact.path.split("/")), source_root) as source:
                    self.copy_artifact(source, target_root, artifact.path)
            except (OSError, ValueError) as error:
                reason = getattr(error, "strerror", None) or error
                self.problem(f"{run.path}/{artifact.path}", f"artifact not imported: {reason}")

    def copy_artifact(self, source, target_root: Path, relative: str) -> None:
        target_root.mkdir(parents=True, exist_ok=True)
        target = destination(target_root, relative)
        if _same_file(source, target):
            self.result.artifacts_unchanged += 1
            return
        if self.link:
            try:
                place(target, lambda temporary: _hard_link(source, temporary))
                self.result.artifacts_linked += 1
                return
            except OSError:
                self.link = False  # another filesystem (or no hard links): copy from now on
        source.seek(0)
        place(target, lambda temporary: _copy(source, temporary))
        self.result.artifacts_copied += 1


def _hard_link(source, temporary: Path) -> None:
    """Hard-link the file `source` is open on. OSError (then it is copied) when the name now leads elsewhere."""
    os.link(source.name, temporary, follow_symlinks=False)
    if not os.path.samestat(os.stat(temporary), os.fstat(source.fileno())):
        raise OSError(f"{source.name} changed while it was imported")


def _copy(source, temporary: Path) -> None:
    with open(temporary, "wb") as target:
        shutil.copyfileobj(source, target)


def _same_file(source, target: Path) -> bool:
    """Already imported: the same inode (hard link), or a copy of the same size and content."""
    try:
        a, b = os.fstat(source.fileno()), target.stat()
    except FileNotFoundError:
        return False
    if os.path.samestat(a, b):
        return True
    if a.st_size != b.st_size:
        return False
    with open(target, "rb") as two:
        while True:
            x, y = source.read(1 << 20), two.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def import_mlflow(mlruns_dir: str | os.PathLike, log_dir: str | os.PathLike, *, link: bool = True,
                  allow_artifacts_outside=()) -> ImportResult:
    """Import every live experiment and run of an MLflow file store into `log_dir`. See the module doc.

    `allow_artifacts_outside`: folders outside the store that runs' `artifact_uri` may name.

    Raises MlflowImportError (one-line message) when `mlruns_dir` is not a store or `log_dir` lies inside it.
    """
    source = Path(mlruns_dir).expanduser().absolute()
    if not source.is_dir():
        raise MlflowImportError(f"{mlruns_dir}: no such directory")
    root = store_root(source)
    if root is None:
        raise MlflowImportError(f"{mlruns_dir}: not an MLflow file store (no <experiment id>/meta.yaml folders)")
    target = Path(log_dir).expanduser().absolute()
    resolved_root, resolved_target = root.resolve(), target.resolve()
    if resolved_target == resolved_root or resolved_root in resolved_target.parents:
        raise MlflowImportError(f"{log_dir}: the log directory must not be inside the MLflow store {mlruns_dir}")
    store = MlflowFiles(root, allow_artifacts_outside)
    data = read_store(store)
    importer = _Importer(store, target, link)
    importer.result.problems.extend(data.problems)
    target.mkdir(parents=True, exist_ok=True)
    made: dict[str, tuple[str, Path]] = {}  # MLflow experiment id -> flowsheet id and folder
    for experiment in data.experiments.values():
        made[experiment.experiment_id] = importer.experiment(experiment)
        importer.result.experiments += 1
    for run in data.runs.values():
        importer.run(run, *made[run.experiment_id])
    return importer.result


