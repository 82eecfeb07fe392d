"""Log formats the reader understands: one `Source` per format, each in a module of this package.

`logger.reader.LogReader` walks the log directory once per refresh (logger/logtree.py). At every
folder it asks the sources, in `order`, what they read there (`claim`); then it lets each source
bring its part of the model (`LogData`) up to date from its units, and merges the parts.

Adding a log format is one new module here (and its tests), nothing else edited:

    # logger/sources/csvlogs.py (relative imports, so that the package works under the name
    # `flowsheet` too, beside a user's own logger.py: see flowsheet/__init__.py)
    from ..logtree import Claim
    from . import Changes, Source, register

    @register
    class CsvSource(Source):
        name = "csv"
        order = 50                      # asked, and merged, in this order: the first holding an id keeps it

        @classmethod
        def claim(cls, listing):        # cheap: called for every folder of every refresh
            if "metrics.csv" in listing.regular:
                return Claim([listing.path], owns=True)
            return None

        def refresh(self, now, units):  # read what changed since the last call into self.data
            ...
            return Changes(runs={...})  # ids added or changed by this call

Most formats are one run per folder, re-read whole when a file in it changes: logger/sources/units.py
(`UnitSource`) does the bookkeeping, and such a source only says how to read one unit.

Every module of this package is imported when the reader first asks for the sources, so the
`@register` runs without any list to edit. A source must keep the reader's promises (logger/reader.py):
never write, never raise on file content (a bad line or file is a `Problem` in `data.problems`),
read nothing from outside the log directory (logger/safepath.py), and read incrementally: a refresh
re-reads only what changed.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..logtree import Claim, Listing
from ..model import LogData, Problem, Run

__all__ = ["Changes", "Claim", "Listing", "Source", "count_by_source", "register", "registered", "source_label",
           "unregister"]


@dataclass
class Changes:
    """What one `refresh()` found. `experiments` includes the experiments of added, changed or removed runs."""

    experiments: set[str] = field(default_factory=set)
    runs: set[str] = field(default_factory=set)  # added or changed (status included)
    removed_runs: set[str] = field(default_factory=set)
    removed_experiments: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)  # found by this refresh, not reported before
    everything: bool = False  # the first read

    def __bool__(self) -> bool:
        return bool(self.everything or self.experiments or self.runs or self.removed_runs
                    or self.removed_experiments or self.problems)


class Source:
    """One log format under one log directory; `refresh` brings `data` up to date and says what changed."""

    name = ""
    label = ""  # how the terminal names it ("MLflow database"); the name when empty
    order = 100  # sources are asked, and merged, in this order
    per_unit = False  # True: one instance per unit (a store of its own), each refreshed with that unit alone

    @classmethod
    def claim(cls, listing: Listing) -> Claim | None:
        """What this source reads in the folder `listing` describes, or None. Asked for every folder on
        every refresh: decide from the names, and stat or open a file only when the names already fit."""
        raise NotImplementedError

    def __init__(self, root: Path, running_window: float):
        self.root = root
        self.running_window = running_window  # seconds: a run silent for longer is no longer RUNNING
        self.data = LogData()

    def refresh(self, now: float, units: list[Path]) -> Changes:
        """Read what changed since the last call; `units` are what this source claimed in this refresh's walk.
        `now` (seconds since the epoch) decides RUNNING vs UNFINISHED.

        The removed runs and experiments and the new problems are worked out by the reader: a source
        may leave those fields empty."""
        raise NotImplementedError

    # Runs known from an earlier process (logger/sources/known.py); a source that cannot use them has none.
    def adopt(self, known: dict[str, Any]) -> None:
        """Start from these exported runs (rel path -> entry) instead of reading their unchanged files."""

    def export(self) -> dict[str, Any]:
        """This source's runs as entries `adopt` takes in another process."""
        return {}

    def read_points(self, paths: set[str]) -> dict[str, dict[str, Any]]:
        """Read the adopted runs of these `Run.path`s from their logs now: their metric histories, by path
        (the next refresh starts from what was read)."""
        return {}

    def forget(self, paths: set[str]) -> None:
        """Read the runs of these `Run.path`s from their logs at the next refresh, not from adopted entries."""


_registry: list[type[Source]] = []
_loaded = False


def register(source: type[Source]) -> type[Source]:
    """Make `source` one the reader asks (a class decorator). Registering twice changes nothing."""
    if source not in _registry:
        _registry.append(source)
    return source


def unregister(source: type[Source]) -> None:
    if source in _registry:
        _registry.remove(source)


def registered() -> list[type[Source]]:
    """Every registered source, in `order`; the modules of this package are imported first."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")
    return sorted(_registry, key=lambda source: (source.order, source.name))


def source_label(name: str) -> str:
    """How people call the format of a run whose `Run.source` is `name` ("MLflow database")."""
    labels = {"plain": "plain JSONL"} | {source.name: source.label or source.name for source in registered()}
    return labels.get(name, name)


def count_by_source(runs: Iterable[Run]) -> dict[str, int]:
    """How many of `runs` each format brought, by the format's label ("MLflow database": 3), most first."""
    counts: dict[str, int] = {}
    for run in runs:
        label = source_label(run.source)
        counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
