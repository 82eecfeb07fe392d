"""An MLflow tracking store that writes flowsheet logs: `MLFLOW_TRACKING_URI=flowsheet:./runs`.

Any code that logs through MLflow (its fluent API, MlflowClient, every `mlflow.<flavor>.autolog()`)
then writes the log directory `reporter build` reads, with no change to the code:

    MLFLOW_TRACKING_URI=flowsheet:./runs python train.py      # or flowsheet:///abs/path
    reporter build ./runs

MLflow finds the store by the URI's scheme in the `mlflow.tracking_store` entry point group, which
flowsheet's pyproject.toml declares (`pip install flowsheet[mlflow]`). Importing this package also
registers it by hand, for a checkout that is on the path but not installed.

Nothing here imports MLflow until MLflow asks for a store: MLflow loads its entry points while it is
itself being imported, so the builder stays light and the store (store.py) is imported on first use.
"""

from __future__ import annotations

from .uri import SCHEME, log_dir_from_uri

__all__ = ["SCHEME", "flowsheet_store", "log_dir_from_uri", "register"]


def flowsheet_store(store_uri: str | None = None, artifact_uri: str | None = None):
    """The builder MLflow calls for a `flowsheet:` URI (the entry point's object)."""
    from .store import FlowsheetStore

    return FlowsheetStore(store_uri, artifact_uri)


def register() -> None:
    """Make MLflow build `flowsheet:` stores with `flowsheet_store`, as the entry point does."""
    from mlflow.tracking._tracking_service import utils

    utils._tracking_store_registry.register(SCHEME, flowsheet_store)


register()
