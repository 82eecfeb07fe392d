"""More of MLflow's module-level calls, beside logger/fluent.py: tables, datasets, deleting runs, and the
model registry's calls, which flowsheet refuses with the alternative (it has no registry)."""

from __future__ import annotations

from .exceptions import no_registry
from .fluent import _default_experiment, _run_for_logging


def log_table(data, artifact_file: str, run_id: str | None = None) -> None:
    """A dict or DataFrame as a JSON table artifact; logged again, its rows are appended (logger/tables.py)."""
    from .tables import log_table as write_table

    write_table(_run_for_logging(run_id), data, artifact_file)


def load_table(artifact_file: str, run_ids: list[str] | None = None, extra_columns: list[str] | None = None):
    """The table of every run of the current experiment (or of `run_ids`) that logged it, as one DataFrame."""
    from .tables import load_table as read_tables

    experiment_id = None if run_ids is not None else _default_experiment().experiment_id
    return read_tables(artifact_file, run_ids, extra_columns, experiment_id)


def log_input(dataset=None, context: str | None = None, tags: dict | None = None, model=None) -> None:
    """Record a dataset the active run used (logger/data.py says what `dataset` may be)."""
    from .data import write_input

    write_input(_run_for_logging(), dataset, context, tags, model)


def delete_run(run_id: str) -> None:
    """Hide a run (search_runs, `reporter runs` and the site leave it out); MlflowClient().restore_run undoes it."""
    from .client import MlflowClient

    MlflowClient().delete_run(run_id)


def register_model(model_uri: str, name: str, *args, **kwargs):
    raise no_registry(f"register_model({model_uri!r}, {name!r})")


def set_registry_uri(uri: str) -> None:
    raise no_registry(f"set_registry_uri({uri!r})")


def get_registry_uri() -> str:
    raise no_registry("get_registry_uri()")
