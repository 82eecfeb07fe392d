"""An MLflow file store (`mlruns/`): read through logger/mlflow_store.py, re-reading only what changed.

A `Source` (logger/sources/__init__.py). It claims a log directory that is a store (or holds one as
`mlruns/`), and then it alone reads it: a store is one whole format, not logs among others.
"""

from __future__ import annotations

from pathlib import Path

from logger.mlflow_files import MlflowFiles
from logger.mlflow_store import StoreReader, is_mlflow_store, store_root
from logger.sources import Changes, Source, register


@register
class MlflowStoreSource(Source):
    name = "mlflow"
    order = 0
    exclusive = True

    @classmethod
    def claims(cls, root: Path) -> bool:
        return is_mlflow_store(root)

    def __init__(self, root: Path, running_window: float):
        super().__init__(root, running_window)
        self._reader: StoreReader | None = None
        self._statuses: dict[str, str] = {}

    def refresh(self, now: float) -> Changes:
        root = store_root(self.root) or self.root
        if self._reader is None or self._reader.store.root != root:
            self._reader = StoreReader(MlflowFiles(root))  # the reader never reads artifacts outside the store
        old, data = self.data, self._reader.read(self.running_window, now)
        # Unchanged experiments and runs are the very objects of the last read (StoreReader keeps them).
        runs = {run_id for run_id, run in data.runs.items()
                if old.runs.get(run_id) is not run or self._statuses.get(run_id) != run.status}
        experiments = {experiment_id for experiment_id, experiment in data.experiments.items()
                       if old.experiments.get(experiment_id) is not experiment}
        self._statuses = {run_id: run.status for run_id, run in data.runs.items()}
        self.data = data
        return Changes(experiments=experiments | {data.runs[run_id].experiment_id for run_id in runs}, runs=runs)
