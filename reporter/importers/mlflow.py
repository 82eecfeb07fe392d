"""`reporter import-mlflow`: an MLflow file store (`mlruns/`) into flowsheet's log format.

    result = import_mlflow("mlruns", "runs")
    print(result.summary())

The case of `reporter import` (reporter/importers/logs.py, where the mapping is described) for one
MLflow file store, read by logger/mlflow_store.py with the folders outside the store that the user
allows runs' `artifact_uri` to name (`--allow-artifacts-outside PATH`); an `artifact_uri` naming any
other folder outside the store is a problem, and the run's own `artifacts/` is used. MLflow's run ids
are 32 hex digits, so runs keep them.

Nothing is read from outside the store and those folders (logger/mlflow_store.py reads every file
through logger/safepath.py, and so does the artifact copy), and a run whose id is not a plain folder
name is skipped by the store reader.
"""

from __future__ import annotations

import os
from pathlib import Path

from logger.mlflow_files import MlflowFiles
from logger.mlflow_store import read_store, store_root

from reporter.importers.lines import missing_lines, run_events
from reporter.importers.logs import ImportResult, LogImportError, import_data, refuse_overlap

__all__ = ["ImportResult", "MlflowImportError", "import_mlflow", "missing_lines", "run_events"]


class MlflowImportError(LogImportError):
    """The import could not start; the message is one line for the user."""


def import_mlflow(mlruns_dir: str | os.PathLike, log_dir: str | os.PathLike, *, link: bool = True,
                  allow_artifacts_outside=()) -> ImportResult:
    """Import every live experiment and run of an MLflow file store into `log_dir`. See the module doc.

    `allow_artifacts_outside`: folders outside the store that runs' `artifact_uri` may name.

    Raises MlflowImportError (one-line message) when `mlruns_dir` is not a store or it and `log_dir` overlap.
    """
    source = Path(mlruns_dir).expanduser().absolute()
    if not source.is_dir():
        raise MlflowImportError(f"{mlruns_dir}: no such directory")
    root = store_root(source)
    if root is None:
        raise MlflowImportError(f"{mlruns_dir}: not an MLflow file store (no <experiment id>/meta.yaml folders)")
    target = Path(log_dir).expanduser().absolute()
    try:
        refuse_overlap(root, target, mlruns_dir, log_dir)
    except LogImportError as error:
        raise MlflowImportError(str(error)) from None
    store = MlflowFiles(root, allow_artifacts_outside)
    data = read_store(store)
    return import_data(data, target, [root, *(Path(folder) for folder in store.outside_allowed)], link=link)
