"""The bookkeeping of formats that keep one run per folder (or file): re-read a unit whole when it changed.

A subclass of `UnitSource` says what it claims (`claim`), how to read one unit (`read_unit`) and, when
the default will not do, which files tell that a unit changed (`stamp`). The base class keeps each
unit's last reading and its stamp, re-reads only the units whose stamp moved, puts every run in the
experiment of the folder its unit lies in (one experiment per folder, shared with any other source that
finds runs there), and decides RUNNING vs FINISHED for runs whose format records no end (one silent for
longer than the running window ended with its last write, as a plain JSONL log does).

Ids are made from the unit's path under the log directory, so they stay the same from one build to the
next and on every machine that holds a copy of the logs: `run_id_for` (32 hex digits, like MLflow's)
and `experiment_id_for_folder`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Experiment, LogData, Problem, Run
from ..parsing_plain import plain_experiment_id
from . import Changes, Source

UNKNOWN_END = "RUNNING"  # what read_unit leaves in run.status when the format records no end
MAX_STAMPED_FILES = 10_000  # a unit with more files than this is stamped by its first ones


def run_id_for(source: str, rel: str) -> str:
    """A stable run id for the unit at `rel` (its path under the log directory) read by `source`."""
    return hashlib.sha256(f"{source}:{rel}".encode()).hexdigest()[:32]


def experiment_id_for_folder(rel_folder: str) -> str:
    """The experiment of a folder of runs that have no experiment file of their own (plain JSONL logs too)."""
    return plain_experiment_id(rel_folder)


def file_stamp(path: Path) -> tuple:
    """Name, size, time and inode of one file (not following a link); None fields when it is gone."""
    try:
        info = os.lstat(path)
    except OSError:
        return (str(path), None)
    return (str(path), info.st_size, info.st_mtime_ns, info.st_ino)


def tree_stamp(folder: Path, limit: int = MAX_STAMPED_FILES) -> tuple:
    """`file_stamp` of every entry under `folder` (links not followed), sorted; at most `limit` entries."""
    found: list[tuple] = []
    stack = [folder]
    while stack and len(found) < limit:
        directory = stack.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            found.append((str(directory), None))
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
                found.append((entry.path, info.st_size, info.st_mtime_ns, info.st_ino))
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
            except OSError:
                found.append((entry.path, None))
    return tuple(sorted(found, key=repr))


@dataclass
class UnitRead:
    """What reading one unit gave: its runs (usually one) and the problems met."""

    runs: list[Run] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    read_statuses: dict[str, str] = field(default_factory=dict)  # as read: UNKNOWN_END is decided on each refresh


class UnitSource(Source):
    """A format with one run per unit (a folder or a file), re-read whole when its stamp changes."""

    def read_unit(self, unit: Path) -> UnitRead:
        """Every run of `unit`, with ids, names, params, metrics, times, artifacts. Never raises on content.

        Leave `run.status` at `UNKNOWN_END` when the format does not record how the run ended: it becomes
        RUNNING or FINISHED by the time of the last write. `run.experiment_id` is filled in afterwards."""
        raise NotImplementedError

    def stamp(self, unit: Path) -> tuple:
        """What tells that `unit` changed: by default every file under it (or the file itself)."""
        return tree_stamp(unit) if unit.is_dir() else (file_stamp(unit),)

    def experiment_folder(self, unit: Path) -> Path:
        """The folder whose experiment the unit's runs join: the one holding the unit (the log directory
        itself when the unit is the log directory: nothing above it is looked at)."""
        return unit.parent if unit != self.root else unit

    def rel(self, path: Path) -> str:
        """`path` under the log directory, "/"-separated ("" for the directory itself)."""
        rel = path.relative_to(self.root).as_posix()
        return "" if rel == "." else rel

    def __init__(self, root: Path, running_window: float):
        super().__init__(root, running_window)
        self._read: dict[Path, tuple[tuple, UnitRead]] = {}
        self._statuses: dict[str, str] = {}

    def refresh(self, now: float, units: list[Path]) -> Changes:
        old = self.data
        changed_units = set()
        for unit in units:
            stamp = self.stamp(unit)
            cached = self._read.get(unit)
            if cached is None or cached[0] != stamp:
                self._read[unit] = (stamp, self._read_safely(unit))
                changed_units.add(unit)
        for unit in set(self._read) - set(units):
            del self._read[unit]
        data = LogData()
        changes = Changes()
        window_ms = self.running_window * 1000.0
        for unit in sorted(self._read):
            stamp, read = self._read[unit]
            data.problems += read.problems
            folder = self.experiment_folder(unit)
            experiment = self._experiment(folder, data, old)
            for run in read.runs:
                if run.run_id in data.runs:
                    used_by = data.runs[run.run_id].path
                    data.problems.append(Problem(self.rel(unit) or ".", None,
                                                 f"run id {run.run_id!r} is used by {used_by}; skipped"))
                    continue
                run.experiment_id = experiment.experiment_id
                if read.read_statuses.get(run.run_id) == UNKNOWN_END:
                    last = run.last_time if run.last_time is not None else _newest(stamp)
                    run.status = "RUNNING" if last is not None and last >= now * 1000.0 - window_ms else "FINISHED"
                    run.end_time = None if run.status == "RUNNING" else last  # it ended when it fell silent
                data.runs[run.run_id] = run
                if unit in changed_units or self._statuses.get(run.run_id) != run.status:
                    changes.runs.add(run.run_id)
        self._statuses = {run_id: run.status for run_id, run in data.runs.items()}
        changes.experiments = {data.runs[run_id].experiment_id for run_id in changes.runs}
        changes.experiments |= set(data.experiments) - set(old.experiments)
        self.data = data
        return changes

    def _experiment(self, folder: Path, data: LogData, old: LogData) -> Experiment:
        rel = self.rel(folder)
        experiment_id = experiment_id_for_folder(rel)
        experiment = data.experiments.get(experiment_id)
        if experiment is None:
            experiment = old.experiments.get(experiment_id) or Experiment(experiment_id, folder.name, str(folder))
            data.experiments[experiment_id] = experiment
        return experiment

    def _read_safely(self, unit: Path) -> UnitRead:
        """`read_unit`, with a problem instead of a crash should a reader miss a case (a bug, reported)."""
        try:
            read = self.read_unit(unit)
            read.read_statuses = {run.run_id: run.status for run in read.runs}
            return read
        except Exception as error:  # noqa: BLE001 - the reader's promise: file content never makes it raise
            return UnitRead(problems=[Problem(self.rel(unit) or ".", None,
                                              f"not read ({type(error).__name__}: {error})")])


def _newest(stamp: tuple) -> int | None:
    """The newest modification time in a stamp, in milliseconds."""
    times = [entry[2] for entry in stamp if len(entry) > 2 and isinstance(entry[2], int)]
    return max(times) // 1_000_000 if times else None
