"""`logger.sklearn.log_model` / `save_model` / `load_model`: a pickled estimator plus a description the site can show.

flowsheet has no model registry: `registered_model_name=` and `models:/` URIs raise NotSupported, naming
what to do instead (a model is loaded from its run, `runs:/<run_id>/<path>`, or from a folder)."""

from __future__ import annotations

import json
import pickle
import platform
from importlib import metadata
from pathlib import Path

from . import artifacts
from .exceptions import ResourceAlreadyExists, no_registry
from .fluent import _find_run_folder, _run_for_logging
from .format import ARTIFACTS_DIR

MODEL_FILE = "model.pkl"
DESCRIPTION_FILE = "model.json"


def log_model(sk_model, artifact_path: str | None = None, *, name: str | None = None, run=None,
              registered_model_name: str | None = None, **_mlflow_only) -> str:
    """Store `sk_model` under `artifact_path` (MLflow 3 calls it `name`) in the active run, or in `run`."""
    if registered_model_name is not None:
        raise no_registry(f"log_model(registered_model_name={registered_model_name!r})")
    folder = artifacts.safe_relative(artifact_path or name or "model")
    if not folder:
        raise ValueError("log_model needs a non-empty artifact_path")
    run = run or _run_for_logging()
    run._check_open()
    artifacts.destination(run.artifact_dir, folder)  # refuse before writing anything
    pickled = pickle.dumps(sk_model, protocol=pickle.HIGHEST_PROTOCOL)
    description = describe(sk_model)
    run._place(f"{folder}/{MODEL_FILE}", lambda target: artifacts.write_into(pickled, target))
    text = json.dumps(description, indent=2, sort_keys=True, default=str)
    run._place(f"{folder}/{DESCRIPTION_FILE}", lambda target: artifacts.write_into(text.encode(), target))
    return f"runs:/{run.info.run_id}/{folder}"


def describe(sk_model) -> dict:
    kind = type(sk_model)
    try:
        params = sk_model.get_params(deep=False)
    except Exception:  # not every estimator-like object has get_params
        params = {}
    return {
        "flavor": "sklearn",
        "class": kind.__name__,
        "module": kind.__module__,
        "params": {key: _json_safe(value) for key, value in sorted(params.items())},
        "versions": {"python": platform.python_version(), **_versions("scikit-learn", "numpy", "scipy", "flowsheet")},
        "pickle": MODEL_FILE,
    }


def save_model(sk_model, path, **_mlflow_only) -> None:
    """Store `sk_model` in the folder `path` (made if missing; an existing folder must be empty), outside any run."""
    folder = Path(path)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ResourceAlreadyExists(f"Path '{path}' already exists and is not empty")
    folder.mkdir(parents=True, exist_ok=True)
    artifacts.write_into(pickle.dumps(sk_model, protocol=pickle.HIGHEST_PROTOCOL), folder / MODEL_FILE)
    text = json.dumps(describe(sk_model), indent=2, sort_keys=True, default=str)
    artifacts.write_into(text.encode(), folder / DESCRIPTION_FILE)


def load_model(model_uri: str):
    """Load from `runs:/<run_id>/<artifact_path>` or from a local folder that log_model or save_model wrote."""
    model_uri = str(model_uri)  # a folder may come as a Path
    if model_uri.startswith("runs:/"):
        run_id, _, path = model_uri[len("runs:/"):].strip("/").partition("/")
        folder = artifacts.destination(_find_run_folder(run_id) / ARTIFACTS_DIR, artifacts.safe_relative(path))
    elif model_uri.startswith("models:/"):
        raise no_registry(f"load_model({model_uri!r})")
    elif "://" in model_uri:
        raise ValueError(f"flowsheet loads models from runs:/<run_id>/<path> or a local folder, not {model_uri!r}")
    else:
        folder = Path(model_uri)
    model_file = folder / MODEL_FILE
    if not model_file.is_file():
        raise FileNotFoundError(f"no model at {model_uri} (looked for {model_file})")
    with open(model_file, "rb") as file:
        return pickle.load(file)  # only load models you logged yourself: pickle runs code


def _json_safe(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    return repr(value)


def _versions(*packages: str) -> dict:
    found = {}
    for package in packages:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found
