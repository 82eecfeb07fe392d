"""Reading MLflow's SQL tracking store in SQLite (`mlflow.db`) into `LogData`, again and again.

    reader = SqlStoreReader(Path("runs/mlflow.db"), Path("runs"))
    runs, experiments = reader.read(now, running_window)   # ids added or changed; reader.data is the model

The tables (MLflow 1.x to 3.x): `experiments` and `experiment_tags`, `runs`, `params`, `tags`, and
`metrics`, a point a row (NaN stored as 0 with `is_nan`, an infinity as the greatest float).
`latest_metrics` is not read: MLflow updates it in the transaction that inserts the points, so it says
nothing the histories do not (the latest value is found by MLflow's rule, `MetricHistory.latest_index`).
Datasets, inputs, traces and 3.x's logged models have no place in flowsheet's model and are not read.

Choices, as logger/mlflow_store.py (the file store's reader) makes them:
- MLflow's experiment and run ids are kept; params and tags stay strings; every tag is kept.
- Deleted experiments and runs are left out, and so are the runs of a deleted experiment.
- A RUNNING or SCHEDULED run is RUNNING while its last activity (start, end, newest point) is recent,
  UNFINISHED after: a database copied from a cluster often holds runs whose process died.
- Name, note, parent and system fields come from the `mlflow.*` tags; the `runs` columns fill in what
  the tags lack (`name`, `user_id`, `source_name`, `source_version`, `entry_point_name`).
- Artifacts are listed from the run's `artifact_uri` when it is a local folder (a `file://` URI or a path;
  a relative path is taken from the database's folder; `mlflow-artifacts:/x` is `mlartifacts/x` there, as
  `mlflow server` keeps them) inside the log directory; one outside is a problem and is not read. MLflow
  stores absolute paths: when the folder is gone (the project was copied from another machine),
  `<root>/<experiment id>/<run id>/artifacts` is looked for beside the database.

Incremental: nothing is opened while the file and its `-wal` look the same. Otherwise one read
transaction (logger/mlflow_sql_fetch.py) brings experiments, runs, params and tags whole and the points
after the last rowid read. Runs whose row, params and tags are unchanged keep their object, and new
points are appended to the histories held. A running run's artifacts are listed again on every read
(logging an artifact does not touch the database); a finished run's when its row changes.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlparse

from .format import END_STATUSES, MLFLOW_ARTIFACTS_DIR, NOTE_TAG, PARENT_TAG, RUN_NAME_TAG, SYSTEM_TAGS
from .mlflow_files import MlflowFiles, id_problem
from .mlflow_sql_fetch import DELETED, MAX_TEXT, SERIES, RunRow, Snapshot, fetch
from .mlflow_sqlite import Unreadable, connect, database_stamp, read_header, why
from .model import Experiment, LogData, MetricHistory, Problem, Run
from .safepath import is_inside

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")  # runs.status, as MLflow spells them
STILL_GOING = ("RUNNING", "SCHEDULED")
SERVED_ARTIFACTS = "mlartifacts"  # where `mlflow server` stores `mlflow-artifacts:/` URIs, beside where it runs
# The runs columns that stand in for a system tag the run lacks (old clients wrote columns, not tags).
SYSTEM_COLUMNS = {"user": "user_id", "entry_point": "source_name", "git_commit": "source_version",
                  "command": "entry_point_name"}


def artifact_folder(uri: str | None, database_folder: Path, experiment_id: str, run_id: str) -> Path | None:
    """The local folder a run's `artifact_uri` names, found on this machine; None when there is none."""
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        path = Path(unquote(parsed.path))
    elif parsed.scheme == "":
        path = Path(uri)
    elif parsed.scheme == "mlflow-artifacts":  # `mlflow server` keeps them in ./mlartifacts by default
        path = Path(SERVED_ARTIFACTS, unquote(parsed.path).lstrip("/"))
    else:
        return None  # s3://, dbfs:/...: not on this disk
    path = database_folder / path  # an absolute path stays itself
    if path.is_dir():
        return path
    parts = path.parts
    if len(parts) >= 4 and parts[-3:] == (experiment_id, run_id, MLFLOW_ARTIFACTS_DIR):
        moved = database_folder.joinpath(*parts[-4:])
        if moved.is_dir():
            return moved
    return None


class SqlStoreReader:
    """One MLflow database under a log directory `root`, read again by `read` as it changes."""

    def __init__(self, path: Path, root: Path):
        self.path = path
        self.root = root
        self.root_real = os.path.realpath(root)
        self.rel = path.relative_to(root).as_posix()
        self.data = LogData()
        self.points_read = 0  # metric points the last read fetched: what a refresh cost
        self._stamp: tuple | None = None
        self._since = 0  # the greatest metrics rowid read
        self._known: set[str] = set()  # every run id of the last read, shown or not
        self._experiments: dict[str, tuple[tuple, Experiment]] = {}  # id -> (what it was made from, it)
        self._runs: dict[str, tuple[tuple, Run, str]] = {}  # shown run id -> (made from, run, status read)
        self._series: dict[str, MetricHistory] = {}  # "<run id>\0<key>" -> the history held
        self._newest: dict[str, int] = {}  # run id -> time of its newest point
        self._files = MlflowFiles(root)
        self._artifact_problems: dict[str, list[Problem]] = {}
        self._problems: list[Problem] = []  # found by the last read
        self._bad_points = 0
        self._failure: Problem | None = None  # why the last attempt to read failed

    def read(self, now: float, running_window: float) -> tuple[set[str], set[str]]:
        """Bring `data` up to date; the ids of the runs and of the experiments added or changed."""
        runs: set[str] = set()
        experiments: set[str] = set()
        self.points_read = 0
        stamp = database_stamp(self.path)
        if stamp != self._stamp:
            snapshot = self._fetch(stamp)
            if snapshot is not None:
                experiments = self._take_experiments(snapshot)
                runs = self._take_runs(snapshot)
        runs |= self._settle(now, running_window)
        self._publish()
        return runs, experiments

    # ------------------------------------------------------------ reading the database

    def _fetch(self, stamp: tuple) -> Snapshot | None:
        header = read_header(self.path, self.root_real)
        if header is None:
            self._failure = Problem(self.rel, None, "cannot read the MLflow database: not a SQLite file any more")
            return None
        # Another file in its place, or a smaller one (vacuumed): rowids may have been given again.
        old = self._stamp[0] if self._stamp else None
        fresh = old is None or stamp[0] is None or old[2] != stamp[0][2] or stamp[0][0] < old[0]
        try:
            connection, immutable = connect(self.path, header)
        except Unreadable as error:
            self._failure = Problem(self.rel, None, f"cannot read the MLflow database: {error}")
            return None
        try:
            snapshot = fetch(connection, 0 if fresh else self._since, set() if fresh else self._known,
                             set(self._runs))
        except (sqlite3.Error, Unreadable) as error:
            reason = why(error) if isinstance(error, sqlite3.Error) else str(error)
            self._failure = Problem(self.rel, None, f"cannot read the MLflow database: {reason}")
            return None
        finally:
            connection.close()
        if immutable and database_stamp(self.path) != stamp:
            return None  # a writer opened it meanwhile: read it (not as immutable) on the next refresh
        self._stamp, self._failure = stamp, None
        self.points_read = sum(len(points.values) for points in snapshot.points.values())
        if snapshot.fresh:
            self._series, self._newest, self._runs, self._bad_points = {}, {}, {}, 0
        self._bad_points += snapshot.bad_points
        self._problems = []
        if snapshot.cut:
            self._problem(f"{snapshot.cut} text value(s) longer than {MAX_TEXT:,} characters were cut")
        if self._bad_points:
            self._problem(f"{self._bad_points} metric row(s) whose value, step or time is not a number were skipped")
        return snapshot

    def _problem(self, reason: str) -> None:
        self._problems.append(Problem(self.rel, None, reason))

    def _take_experiments(self, snapshot: Snapshot) -> set[str]:
        changed = set()
        experiments = {}
        for experiment_id, row in snapshot.experiments.items():
            if row[2] == DELETED:
                continue
            bad = id_problem(experiment_id)
            if bad:
                self._problem(f"experiment id {experiment_id[:60]!r} {bad}: experiment skipped")
                continue
            made_from = (row, snapshot.experiment_tags.get(experiment_id, {}))
            held = self._experiments.get(experiment_id)
            if held is None or held[0] != made_from:
                name, location, _, created = row
                experiment = Experiment(experiment_id, name or experiment_id, str(self.path),
                                        artifact_location=location, created=created)
                experiment.tags.update(made_from[1])
                held = (made_from, experiment)
                changed.add(experiment_id)
            experiments[experiment_id] = held
        self._experiments = experiments
        return changed

    def _take_runs(self, snapshot: Snapshot) -> set[str]:
        changed = set()
        shown = snapshot.visible()
        runs: dict[str, tuple[tuple, Run, str]] = {}
        for run_id, row in snapshot.runs.items():
            if run_id not in shown:
                if row.lifecycle_stage != DELETED and row.experiment_id not in snapshot.experiments:
                    self._problem(f"run {run_id[:60]!r} is in experiment {row.experiment_id[:60]!r}, "
                                  "which the database does not hold: run skipped")
                continue
            bad = id_problem(run_id)
            if bad:
                self._problem(f"run id {run_id[:60]!r} {bad}: run skipped")
                continue
            if row.experiment_id not in self._experiments:
                continue  # its experiment was skipped
            made_from = (row, snapshot.params.get(run_id, {}), snapshot.tags.get(run_id, {}))
            held = self._runs.get(run_id)
            if held is None or held[0] != made_from:
                run, status = self._make_run(*made_from, held[1] if held else None)
                held = (made_from, run, status)
                changed.add(run_id)
            runs[run_id] = held
        for run_id in self._runs.keys() - runs.keys():  # no longer shown: its points are let go
            for key in self._runs[run_id][1].metrics:
                self._series.pop(f"{run_id}{SERIES}{key}", None)
            self._newest.pop(run_id, None)
            self._artifact_problems.pop(run_id, None)
        self._runs = runs
        for series, points in snapshot.points.items():
            run_id, _, key = series.partition(SERIES)
            if not points.timestamps:
                continue  # its rows were all skipped
            history = self._series.get(series)
            if history is None:
                if run_id not in runs:
                    continue  # a deleted run's points
                history = runs[run_id][1].metrics.setdefault(key, MetricHistory(key))
                self._series[series] = history
            history.values.extend(points.values)
            history.steps.extend(points.steps)
            history.timestamps.extend(points.timestamps)
            self._newest[run_id] = max(self._newest.get(run_id, points.timestamps[0]), max(points.timestamps))
            changed.add(run_id)
        self._since, self._known = snapshot.last_rowid, set(snapshot.runs)
        return changed

    def _make_run(self, row: RunRow, params: dict, tags: dict, old: Run | None) -> tuple[Run, str]:
        """The run a row describes, and its status as stored (what RUNNING means is settled on each read)."""
        status = (row.status or "").upper()
        if status not in RUN_STATUSES:
            self._problem(f"run {row.run_id}: unknown status {row.status!r}; read as unfinished")
            status = "UNFINISHED"
        run = Run(run_id=row.run_id, experiment_id=row.experiment_id, path=str(self.path), source="mlflow-sql",
                  name=tags.get(RUN_NAME_TAG) or row.name or row.run_id, params=params, tags=tags)
        run.start_time = row.start_time
        run.end_time = row.end_time if status in END_STATUSES else None
        run.parent_run_id = tags.get(PARENT_TAG) or None
        run.description = tags.get(NOTE_TAG)
        run.system = {field: tags[tag] for tag, field in SYSTEM_TAGS.items() if tags.get(tag)}
        for field, column in SYSTEM_COLUMNS.items():
            value = getattr(row, column)
            if field not in run.system and value:
                run.system[field] = value
        if old is not None:
            run.metrics = old.metrics  # the histories held go on growing
            run.status = old.status
        self._list_artifacts(run, row)
        return run, status

    # ------------------------------------------------------------ what changes without the database

    def _settle(self, now: float, running_window: float) -> set[str]:
        """Statuses by the time of day, and the artifacts of running runs; the runs that changed."""
        changed = set()
        recent = (now - running_window) * 1000.0
        for run_id, (made_from, run, status) in self._runs.items():
            times = [t for t in (run.start_time, run.end_time, self._newest.get(run_id)) if t is not None]
            run.last_time = max(times) if times else None
            if status in STILL_GOING:
                status = "RUNNING" if run.last_time is not None and run.last_time >= recent else "UNFINISHED"
                if self._list_artifacts(run, made_from[0]):
                    changed.add(run_id)
            if run.status != status:
                run.status = status
                changed.add(run_id)
        return changed

    def _list_artifacts(self, run: Run, row: RunRow) -> bool:
        """Set the run's artifacts from its artifact folder; True when they changed."""
        folder = artifact_folder(row.artifact_uri, self.path.parent, row.experiment_id, row.run_id)
        found, where, problems = [], None, []
        if folder is not None and not is_inside(self.root_real, folder):
            problems = [Problem(self.rel, None, f"run {run.run_id}: its artifact_uri names a folder outside "
                                                "the log directory; its artifacts are not read")]
        elif folder is not None:
            self._files.problems = []
            found = self._files.artifact_files(folder, self.root_real)
            where, problems = os.path.realpath(folder), self._files.problems
        self._artifact_problems[run.run_id] = problems
        if (where, found) == (run.artifacts_dir, run.artifacts):
            return False
        run.artifacts_dir, run.artifacts = where, found
        return True

    def _publish(self) -> None:
        data = LogData()
        data.experiments = {experiment_id: held[1] for experiment_id, held in self._experiments.items()}
        data.runs = {run_id: held[1] for run_id, held in self._runs.items()}
        data.problems = list(self._problems)
        for problems in self._artifact_problems.values():
            data.problems += problems
        if self._failure is not None:
            data.problems.append(self._failure)
        self.data = data
