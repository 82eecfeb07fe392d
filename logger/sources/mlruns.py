"""MLflow file stores (`mlruns/`): read through logger/mlflow_store.py, re-reading only what changed.

A `Source` (logger/sources/__init__.py). It claims each folder of the walk that is a store, as one
unit: nothing under a store is anyone else's (a run's artifacts may hold event files or JSONL logs,
which are the run's artifacts, not runs). One instance reads one store (`per_unit`): the reader merges
stores, whose experiment ids often collide ("0" is every store's Default).
"""

from __future__ import annotations

from pathlib import Path

from ..mlflow_files import MlflowFiles
from ..mlflow_store import StoreReader, looks_like_store
from . import Changes, Claim, Listing, Source, register


@register
class MlflowStoreSource(Source):
    name = "mlflow"
    label = "MLflow file store"
    order = 0
    per_unit = True

    @classmethod
    def claim(cls, listing: Listing) -> Claim | None:
        return Claim([listing.path], owns=True) if looks_like_store(listing) else None

    def __init__(self, root: Path, running_window: float):
        super().__init__(root, running_window)
        self._reader: StoreReader | None = None
        self._statuses: dict[str, str] = {}

    def refresh(self, now: float, units: list[Path]) -> Changes:
        [store] = units
        if self._reader is None:
            self._reader = StoreReader(MlflowFiles(store))  # the reader never reads artifacts outside the store
        old, data = self.data, self._reader.read(self.running_window, now)
        # Unchanged experiments and runs are the very objects of the last read (StoreReader keeps them).
        runs = {run_id for run_id, run in data.runs.items()
                if old.runs.get(run_id) is not run or self._statuses.get(run_id) != run.status}
        experiments = {experiment_id for experiment_id, experiment in data.experiments.items()
                       if old.experiments.get(experiment_id) is not experiment}
        self._statuses = {run_id: run.status for run_id, run in data.runs.items()}
        self.data = data
        return Changes(experiments=experiments | {data.runs[run_id].experiment_id for run_id in runs}, runs=runs)
