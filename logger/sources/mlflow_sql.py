"""MLflow's SQL tracking store in SQLite (`mlflow.db`): read through logger/mlflow_sql_store.py.

A `Source` (logger/sources/__init__.py). It claims a file that is named like a database (`mlflow.db`,
`*.db`, `*.sqlite`, `*.sqlite3`), starts with SQLite's header and holds MLflow's tables. A database of
another program is left alone without a word. A damaged or locked file is claimed when it is named
`mlflow.db`, or was an MLflow database before: it is then a problem, not an error.

The folders beside a claimed database where MLflow keeps artifacts by default, `mlruns/` (the client's)
and `mlartifacts/` (`mlflow server`'s), are not walked into: their files are the runs' artifacts, not
runs of their own. An `mlruns/` that is an MLflow file store is walked into.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..format import MLFLOW_DATABASE, MLFLOW_STORE_DIR
from ..logtree import list_folder
from ..mlflow_sql_store import SERVED_ARTIFACTS, SqlStoreReader
from ..mlflow_sqlite import database_stamp, is_mlflow_database, named_like_database
from ..mlflow_store import looks_like_store
from ..model import LogData, Problem
from . import Changes, Claim, Listing, Source, register

# What the claim found for a file while it looked the same: path -> (its stamp, whether it is MLflow's).
_verdicts: dict[Path, tuple[tuple, bool]] = {}
MAX_VERDICTS = 4096


def is_claimed(path: Path) -> bool:
    """Whether the source reads `path` (already named like a database): see the module's docstring."""
    stamp = database_stamp(path)
    held = _verdicts.get(path)
    if held is not None and held[0] == stamp:
        return held[1]
    verdict = is_mlflow_database(path, os.path.realpath(path.parent))
    if verdict is None:  # locked or damaged: asked again on the next walk
        return path.name == MLFLOW_DATABASE or held is not None and held[1] and _inode(held[0]) == _inode(stamp)
    if len(_verdicts) >= MAX_VERDICTS:
        _verdicts.clear()
    _verdicts[path] = (stamp, verdict)
    return verdict


def _inode(stamp: tuple) -> int | None:
    return stamp[0][2] if stamp[0] else None


@register
class MlflowDatabaseSource(Source):
    name = "mlflow-sql"
    label = "MLflow database"
    order = 5
    per_unit = True  # one database an instance: the reader merges them (their experiment ids collide)

    @classmethod
    def claim(cls, listing: Listing) -> Claim | None:
        found = [listing.path / name for name in sorted(listing.regular)
                 if named_like_database(name) and is_claimed(listing.path / name)]
        if not found:
            return None
        skip = {SERVED_ARTIFACTS} & listing.dirs
        if MLFLOW_STORE_DIR in listing.dirs:
            artifacts = list_folder(listing.path / MLFLOW_STORE_DIR)
            if artifacts is not None and not looks_like_store(artifacts):
                skip.add(MLFLOW_STORE_DIR)
        return Claim(found, skip=frozenset(skip))

    def __init__(self, root: Path, running_window: float):
        super().__init__(root, running_window)
        self._readers: dict[Path, SqlStoreReader] = {}

    def refresh(self, now: float, units: list[Path]) -> Changes:
        self._readers = {unit: self._readers.get(unit) or SqlStoreReader(unit, self.root) for unit in units}
        changes = Changes()
        data = LogData()
        for reader in self._readers.values():
            runs, experiments = reader.read(now, self.running_window)
            part = reader.data
            data.problems += part.problems
            for experiment_id, experiment in part.experiments.items():
                kept = data.experiments.setdefault(experiment_id, experiment)
                if kept is not experiment and kept.name != experiment.name:
                    data.problems.append(Problem(reader.rel, None, f"experiment id {experiment_id!r} is also "
                                                 f"{kept.name!r} in {kept.path}: its runs are shown there"))
            for run_id, run in part.runs.items():
                kept_run = data.runs.setdefault(run_id, run)
                if kept_run is not run:
                    data.problems.append(Problem(reader.rel, None, f"run id {run_id!r} is also in "
                                                 f"{kept_run.path}: skipped"))
            changes.runs |= {run_id for run_id in runs if data.runs.get(run_id) is part.runs.get(run_id)}
            changes.experiments |= experiments
        changes.runs &= set(data.runs)
        changes.experiments |= {data.runs[run_id].experiment_id for run_id in changes.runs}
        self.data = data
        return changes
