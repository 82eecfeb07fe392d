"""The runs the store writes to: logger `Run` objects, opened once per process and reopened when needed.

MLflow calls the store with a run id; the logger writes through a `Run`. A run this store created
stays open until MLflow ends it. A run it did not create (another process's, or one that has ended)
is reopened without a `resume` line when MLflow only logs to it, since MLflow lets a client log to a
finished run and the run stays finished; it is resumed (a `resume` line: running again) when MLflow
sets it RUNNING, as `mlflow.start_run(run_id=...)` does. Every call's lines are on disk when it
returns, as MLflow's own stores promise, so that the reads that follow see them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .. import experiments
from ..format import END_STATUSES, NOTE_TAG, PARENT_TAG, RUN_NAME_TAG, SYSTEM_TAGS
from ..model import Experiment
from ..run import Run
from ..segments import is_run_folder
from ..system import system_info
from .entities import invalid, not_found

T = TypeVar("T")


class RunHandles:
    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self._runs: dict[str, Run] = {}
        self._appending: set[str] = set()  # runs reopened only to append to: not running in this process
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- creating

    def create(self, experiment: Experiment, start_time: int | None, tags: dict, run_name: str | None) -> Run:
        """A new run; MLflow's own tags for the parent, the name and the note go to the start line."""
        tags = dict(tags)
        parent = tags.pop(PARENT_TAG, None) or None
        description = tags.pop(NOTE_TAG, None)
        named = tags.get(RUN_NAME_TAG)
        if run_name and named is not None and str(named) != run_name:
            raise invalid(f"the run name {run_name!r} and the tag {RUN_NAME_TAG}={named!r} disagree")
        if run_name or named:
            tags.pop(RUN_NAME_TAG, None)
        system = system_info()  # what the start line records anyway: MLflow's copies of it are left out
        for tag, field in SYSTEM_TAGS.items():
            if tag in tags and field in system and str(tags[tag]) == str(system[field]):
                del tags[tag]
        run = checked(lambda: Run.create(Path(experiment.path), experiment.experiment_id, run_name or named,
                                          parent, description, tags, start_time=start_time))
        with self._lock:
            self._runs[run.info.run_id] = run
        return run

    # ---------------------------------------------------------------- writing

    def write(self, run_id: str, action: Callable[[Run], T]) -> T:
        """Run `action` on the run, reopened if need be, and put its lines on disk before returning."""
        with self._lock:
            run = self._open(run_id)
            result = checked(lambda: action(run))
            checked(run.flush)
        return result

    def is_open(self, run_id: str) -> bool:
        """Whether this store created or resumed the run and it has not ended since."""
        with self._lock:
            run = self._runs.get(run_id)
            return run is not None and not run.ended and run_id not in self._appending

    def set_status(self, run_id: str, status: str, end_time: int | None) -> None:
        with self._lock:
            if status in END_STATUSES:
                run = self._open(run_id)
                checked(lambda: run.end(status, end_time))
                del self._runs[run_id]
                self._appending.discard(run_id)
            elif not self.is_open(run_id):  # RUNNING or SCHEDULED: running again
                old = self._runs.pop(run_id, None)
                if old is not None and not old.ended:
                    checked(old.flush)
                self._runs[run_id] = checked(lambda: Run.resume(self.folder(run_id)))
                self._appending.discard(run_id)

    def flush(self) -> None:
        with self._lock:
            for run in self._runs.values():
                if not run.ended:
                    checked(run.flush)

    # ---------------------------------------------------------------- finding

    def folder(self, run_id: str) -> Path:
        """The folder of a flowsheet run of this log directory; an id is a folder name, never a pattern."""
        with self._lock:
            run = self._runs.get(run_id)
        if run is not None:
            return run.folder
        if not isinstance(run_id, str) or not run_id or run_id.startswith(".") or "/" in run_id \
                or "\\" in run_id or not run_id.isprintable():
            raise invalid(f"{run_id!r} is not a valid run id")
        for experiment_folder in experiments._experiment_folders(self.log_dir):
            if is_run_folder(experiment_folder / run_id):
                return experiment_folder / run_id
        raise not_found(f"Run '{run_id}' (a flowsheet run that can be written to, in {self.log_dir})")

    def _open(self, run_id: str) -> Run:
        run = self._runs.get(run_id)
        if run is None or run.ended:
            run = checked(lambda: Run.resume(self.folder(run_id), announce=False))
            self._runs[run_id] = run
            self._appending.add(run_id)
        return run


def checked(action: Callable[[], T]) -> T:
    """The logger's ValueError/TypeError as MLflow's INVALID_PARAMETER_VALUE; OSError as MLflow's error."""
    from mlflow.exceptions import MlflowException

    try:
        return action()
    except MlflowException:
        raise
    except (ValueError, TypeError) as error:
        raise invalid(error) from error
    except OSError as error:
        raise MlflowException(f"flowsheet could not write the run: {error}") from error
