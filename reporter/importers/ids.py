"""Which id each imported run takes in the target log directory.

A run keeps its id when the id can be a folder name and is free in the target, or already names this
same run there. Otherwise it takes a derived id, 32 hex digits from its format, its experiment's name
and its id (the same every time), and two tags say where it came from: `flowsheet.source` (its format)
and `flowsheet.source_run_id` (its id there).

"This same run" is told by place: the run of that id in the target lies in the folder this import
writes it to (its experiment's, found by name), and carries the same `flowsheet.source*` tags as the
run being imported (none, unless it was renamed by an earlier import). Nothing else is compared: a
format may not know when a run started, and comparing content would give a growing run a new id at
every import. So two sources whose runs have the same format, id and experiment name (the same
`lightning_logs/version_0` in two projects, whose ids follow from the path) are taken for one run:
import them into separate log directories.

A run imported once under a derived id keeps it, even after its own id becomes free.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from logger.format import EXPERIMENT_FILE, NOTES_FILE, SOURCE_FORMAT_TAG, SOURCE_RUN_ID_TAG
from logger.mlflow_files import id_problem
from logger.model import LogData, Run


def derived_run_id(source: str, experiment_name: str, run_id: str) -> str:
    """The id a run takes when its own cannot be used: the same for the same format, experiment and id."""
    key = "\0".join((source, experiment_name, run_id)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(key).hexdigest()[:32]


def usable_id(run_id: str) -> bool:
    """Whether `run_id` can name a run's folder: a plain folder name, and not a file an experiment folder holds."""
    return id_problem(run_id) is None and run_id not in (EXPERIMENT_FILE, NOTES_FILE)


def origin_tags(run: Run) -> dict[str, str]:
    """The tags a renamed run carries: its format and its own id."""
    return {SOURCE_FORMAT_TAG: run.source, SOURCE_RUN_ID_TAG: run.run_id}


def _origin(tags: dict) -> tuple:
    return tags.get(SOURCE_FORMAT_TAG), tags.get(SOURCE_RUN_ID_TAG)


class RunIds:
    """Hands out target ids, given what the target's reader read there before the import."""

    def __init__(self, target: LogData):
        self.target = target.runs
        self.by_folder = {os.path.normpath(run.path): run_id for run_id, run in target.runs.items()}
        self.taken: set[str] = set()  # ids handed out by this import

    def place(self, run: Run, experiment_name: str, experiment_folder: Path) -> tuple[str | None, bool]:
        """(the target id, whether it is a derived one), or (None, False) when neither id is free."""
        derived = derived_run_id(run.source, experiment_name, run.run_id)
        renamed = _origin(origin_tags(run))
        if derived in self.target and self._ours(derived, experiment_folder, renamed):
            chosen, is_derived = derived, True  # renamed before: stays renamed
        elif usable_id(run.run_id) and self._ours(run.run_id, experiment_folder, _origin(run.tags)):
            chosen, is_derived = run.run_id, False
        elif self._ours(derived, experiment_folder, renamed):
            chosen, is_derived = derived, True
        else:
            return None, False
        self.taken.add(chosen)
        return chosen, is_derived

    def _ours(self, run_id: str, experiment_folder: Path, origin: tuple) -> bool:
        """Whether `run_id` is free in `experiment_folder`, or names there the run of that origin."""
        if run_id in self.taken:
            return False
        folder = os.path.normpath(experiment_folder / run_id)
        held = self.target.get(run_id)
        if held is None:
            return folder not in self.by_folder  # a folder whose start line names another id is not free
        return os.path.normpath(held.path) == folder and _origin(held.tags) == origin
