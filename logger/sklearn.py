"""`logger.sklearn.log_model` / `save_model` / `load_model`: a pickled estimator plus a description the site can
show; `logger.sklearn.autolog()`: every scikit-learn `fit` logs a run (see logger/integrations/sklearn.py).

flowsheet has no model registry: `registered_model_name=` and `models:/` URIs raise NotSupported, naming
what to do instead (a model is loaded from its run, `runs:/<run_id>/<path>`, or from a folder)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from . import artifacts, models
from .exceptions import ResourceAlreadyExists, no_registry
from .fluent import _run_for_logging

MODEL_FILE = "model.pkl"
DESCRIPTION_FILE = models.DESCRIPTION_FILE


def log_model(sk_model, artifact_path: str | None = None, *, name: str | None = None, run=None,
              registered_model_name: str | None = None, **_mlflow_only) -> str:
    """Store `sk_model` under `artifact_path` (MLflow 3 calls it `name`) in the active run, or in `run`."""
    if registered_model_name is not None:
        raise no_registry(f"log_model(registered_model_name={registered_model_name!r})")
    run = run or _run_for_logging()
    pickled = pickle.dumps(sk_model, protocol=pickle.HIGHEST_PROTOCOL)
    return models.log_model_files(run, artifact_path or name, describe(sk_model),
                                  {MODEL_FILE: lambda target: target.write_bytes(pickled)})


def describe(sk_model) -> dict:
    try:
        params = sk_model.get_params(deep=False)
    except Exception:  # not every estimator-like object has get_params
        params = {}
    return models.describe("sklearn", sk_model, params, ("scikit-learn", "numpy", "scipy"), pickle=MODEL_FILE)


def save_model(sk_model, path, **_mlflow_only) -> None:
    """Store `sk_model` in the folder `path` (made if missing; an existing folder must be empty), outside any run."""
    folder = Path(path)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ResourceAlreadyExists(f"Path '{path}' already exists and is not empty")
    folder.mkdir(parents=True, exist_ok=True)
    artifacts.write_into(pickle.dumps(sk_model, protocol=pickle.HIGHEST_PROTOCOL), folder / MODEL_FILE)
    text = json.dumps(describe(sk_model), indent=2, sort_keys=True, default=str)
    artifacts.write_into(text.encode(), folder / DESCRIPTION_FILE)


def load_model(model_uri):
    """Load from `runs:/<run_id>/<artifact_path>` or from a local folder that log_model or save_model wrote."""
    with open(models.model_file(str(model_uri), MODEL_FILE), "rb") as file:  # a folder may come as a Path
        return pickle.load(file)  # only load models you logged yourself: pickle runs code


def autolog(log_models: bool = True, disable: bool = False, silent: bool = False, max_tuning_runs: int | None = 5,
            pos_label=None, extra_tags: dict | None = None, **_mlflow_only) -> None:
    """Log every scikit-learn estimator's `fit` (params, training metrics, the model; a parameter search's
    candidates as child runs) as MLflow's `mlflow.sklearn.autolog()` does; `disable=True` undoes it."""
    from .integrations import sklearn as integration

    integration.autolog(log_models=log_models, disable=disable, silent=silent, max_tuning_runs=max_tuning_runs,
                        pos_label=pos_label, extra_tags=extra_tags)
