"""Reading a log directory back into `logger.model.LogData`: tolerant, incremental, streaming.

    reader = LogReader("runs")
    changes = reader.refresh()      # first call: reads everything
    ...                             # the logger appends lines
    changes = reader.refresh()      # reads only the new bytes of the files that grew

What it promises (docs/FORMAT.md is the format):
- It never writes under the log directory.
- Nothing in the files makes it raise: a bad line is skipped and recorded as a `Problem` (file, line,
  reason) in `data.problems`, and the rest of the file is still read. A last line without its `\\n` is
  not read until the newline arrives. Only a missing log directory raises (FileNotFoundError /
  NotADirectoryError).
- Files are read in 1 MiB chunks from the offset of the last complete line; a file that shrank or
  was replaced (other inode, or the bytes before the offset changed) is read again whole.
- Any other `*.jsonl` whose first line is a flat JSON object is a "plain" metric log: a run of its own.

Each log format is a `Source` (logger/sources/): flowsheet's own logs and plain JSONL logs
(logger/sources/flowsheet.py), MLflow file stores (logger/sources/mlruns.py) and the other trackers'
formats beside them. The reader walks the directory once per refresh, lets each registered source claim
what it reads (logger/logtree.py), refreshes those that claimed something, and merges their models;
an id two sources hold is kept by the first (in `Source.order`) and the other is reported. Experiments
two sources found in the same folder are one experiment.

A reader may start from runs an earlier process knew (`LogReader(known=...)`, what `export()` gave;
`reporter build` keeps them in its cache): their unchanged files are not read, and their metrics are
summaries (`SummaryHistory`) until `forget()` has them read (logger/sources/known.py).

The log path may also be one file (an `mlflow.db`, an event file): the reader then reads that file alone,
and the folder holding it is the boundary nothing is read outside of.

Deliberate choices where the format leaves room:
- The `start` line must come first. A run file whose first event is something else is read anyway
  (its id and experiment come from the folders) and that is reported once; a later `start` line is
  skipped and reported.
- The `v` field is not checked (later versions add fields and kinds, which are handled).
- A run belongs to the experiment of the folder it lies in, whatever its start line says.
- A param or tag value that is a JSON object or array (the logger never writes one) is kept as its
  compact JSON text, so the model holds scalars only.
- Symlinked folders are not followed while looking for logs. Nothing is read from outside the log
  directory (`logger.safepath`): a link out (the artifacts folder itself, a file or folder in it,
  notes.md) is skipped and reported, and so are FIFOs, sockets and devices, which are never opened.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from .logtree import Listings, find_units
from .model import LogData, Problem
from .parsing_plain import is_plain_record
from .sources import Changes, Source, count_by_source, registered

__all__ = ["Changes", "LogProblemWarning", "LogReader", "log_root", "read_logs", "is_plain_record"]


class LogProblemWarning(UserWarning):
    """A line or file the reader skipped; the message is `file:line: reason`."""


def _check_dir(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"log directory not found: {path}")
    if not path.is_dir():
        raise NotADirectoryError(f"log directory is not a directory: {path}")


def log_root(path: str | os.PathLike) -> Path:
    """The folder a log path stands for: itself, or the folder holding it when it is a file."""
    path = Path(path).expanduser().absolute()
    return path.parent if path.is_file() else path


class LogReader:
    """Follows one log directory (or one log file); `refresh()` brings `data` up to date and says what changed."""

    def __init__(self, log_dir: str | os.PathLike, running_window: float = 600.0,
                 known: dict[str, dict[str, Any]] | None = None):
        """`known`: runs an earlier process exported (`export`), by source name: the sources start from
        them and read only the files that changed since (logger/sources/known.py)."""
        path = Path(log_dir).expanduser().absolute()
        self.only = path if path.is_file() else None  # a file named alone: read it and nothing beside it
        self.root = path.parent if self.only else path
        _check_dir(self.root)
        self.running_window = running_window
        self.data = LogData()
        self._sources: dict[tuple[type[Source], Path | None], Source] = {}  # (kind, its unit when per_unit)
        self.units: dict[type[Source], list[Path]] = {}  # what each source claimed in the last walk
        self._refreshed = False
        self._known = known or {}
        self._listings = Listings()  # the walk's listings, reused for folders that did not change

    def refresh(self, now: float | None = None) -> Changes:
        """Read what changed since the last call. `now` (seconds since the epoch) decides RUNNING vs UNFINISHED."""
        if self.only is not None and not self.only.exists():
            raise FileNotFoundError(f"log file not found: {self.only}")
        _check_dir(self.root)
        now = time.time() if now is None else now
        self.units = find_units(self.root, registered(), self.only, self._listings)
        # A source that reads one store per unit (`Source.per_unit`) gets an instance for each.
        wanted = {(kind, unit if kind.per_unit else None): [unit] if kind.per_unit else units
                  for kind, units in self.units.items() for unit in units}
        self._sources = {key: self._sources.get(key) or self._new_source(key[0]) for key in wanted}
        changes = Changes(everything=not self._refreshed)
        parts = []
        for key, source in self._sources.items():
            part = source.refresh(now, wanted[key])
            parts.append((source.data, part))
        old = self.data
        self.data, renamed = merge_parts([data for data, _ in parts])
        for (_, part), renames in zip(parts, renamed):
            changes.experiments |= {renames.get(experiment_id, experiment_id) for experiment_id in part.experiments}
            changes.runs |= part.runs
        self._refreshed = True
        return _settle(changes, old, self.data)

    def _new_source(self, kind: type[Source]) -> Source:
        source = kind(self.root, self.running_window)
        known = self._known.get(kind.name)
        if known and not kind.per_unit:
            source.adopt(known)
        return source

    def export(self) -> dict[str, dict[str, Any]]:
        """What the sources know of their runs, by source name, for `known` in a later process."""
        exported = {source.name: source.export() for source in self._sources.values() if not source.per_unit}
        return {name: entries for name, entries in exported.items() if entries}

    def read_points(self, paths: set[str]) -> dict[str, dict[str, Any]]:
        """The metric histories of the runs of these `Run.path`s known as summaries only, read from their
        logs now (without a walk of the whole folder), by path."""
        found: dict[str, dict[str, Any]] = {}
        for source in self._sources.values():
            found.update(source.read_points(paths))
        return found

    def forget(self, paths: set[str]) -> None:
        """Read the runs of these `Run.path`s from their logs at the next refresh (known as summaries only)."""
        for source in self._sources.values():
            source.forget(paths)

    def runs_by_source(self) -> dict[str, int]:
        """How many runs each format brought, by its label (the terminal's "read" line)."""
        return count_by_source(self.data.runs.values())


def merge_parts(parts: list[LogData]) -> tuple[LogData, list[dict[str, str]]]:
    """Several sources' models as one, and per part the experiment ids it had to rename.

    Experiments two parts found in the same folder are one. An experiment id two parts use for different
    things (every MLflow store has an experiment "0") stays with the first; a later one gets the id with a
    suffix made from its path, the same on every read, and its runs follow it (as copies: a source's own
    model is never changed). A run id two parts hold stays with the first and the other is reported."""
    if len(parts) == 1:
        return parts[0], [{}]
    merged = LogData()
    renamed: list[dict[str, str]] = []
    for part in parts:
        merged.problems += part.problems
        renames: dict[str, str] = {}
        for experiment_id, experiment in part.experiments.items():
            kept = merged.experiments.get(experiment_id)
            if kept is not None and kept.path == experiment.path:
                continue
            if kept is not None:
                digest = hashlib.sha256(experiment.path.encode("utf-8", "surrogateescape")).hexdigest()[:8]
                renames[experiment_id] = experiment_id = f"{experiment_id}-{digest}"
                experiment = replace(experiment, experiment_id=experiment_id)
            merged.experiments.setdefault(experiment_id, experiment)
        for run_id, run in part.runs.items():
            if run_id in merged.runs:
                merged.problems.append(Problem(run.path, None, f"run id {run_id!r} is used by "
                                                               f"{merged.runs[run_id].path}; skipped"))
                continue
            if run.experiment_id in renames:
                run = replace(run, experiment_id=renames[run.experiment_id])
            merged.runs[run_id] = run
        renamed.append(renames)
    return merged, renamed


def _settle(changes: Changes, old: LogData, new: LogData) -> Changes:
    """Complete what the sources said changed: removals and new problems follow from the two models."""
    changes.runs &= set(new.runs)
    changes.removed_runs = set(old.runs) - set(new.runs)
    changes.removed_experiments = set(old.experiments) - set(new.experiments)
    changes.experiments |= set(new.experiments) - set(old.experiments)
    changes.experiments |= {old.runs[run_id].experiment_id for run_id in changes.removed_runs}
    changes.experiments &= set(new.experiments)
    known = set(old.problems)
    changes.problems = [problem for problem in new.problems if problem not in known]
    return changes


def read_logs(log_dir: str | os.PathLike, running_window: float = 600.0) -> LogData:
    """Read a whole log directory once."""
    reader = LogReader(log_dir, running_window)
    reader.refresh()
    return reader.data
