"""A logged model's folder: its files plus `model.json`, the description the site shows (flavor, class, params).

Shared by `logger.sklearn` (a pickle) and the framework integrations (XGBoost's JSON, LightGBM's text,
a `.keras` file). `runs:/<run_id>/<path>` URIs name such folders, as in MLflow.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from . import artifacts
from .format import ARTIFACTS_DIR

DESCRIPTION_FILE = "model.json"


class ModelInfo(str):
    """What `log_model` returns: the model's `runs:/<run_id>/<path>` URI, which is also what MLflow's ModelInfo
    gives as `model_uri` (so `load_model(model_info.model_uri)` from MLflow's tutorials runs as it is)."""

    @property
    def model_uri(self) -> str:
        return str(self)

    @property
    def run_id(self) -> str:
        return self[len("runs:/"):].partition("/")[0]

    @property
    def artifact_path(self) -> str:
        return self[len("runs:/"):].partition("/")[2]


def log_model_files(run, artifact_path: str | None, description: dict,
                    files: dict[str, Callable[[Path], object]]) -> ModelInfo:
    """Write each of `files` (name -> function that writes that file at the path it is given) and then
    `model.json` into `artifact_path` (default "model") of `run`; returns the folder's `runs:/` URI."""
    folder = artifacts.safe_relative(artifact_path or "model")
    if not folder:
        raise ValueError("log_model needs a non-empty artifact_path")
    run._check_open()
    artifacts.destination(run.artifact_dir, folder)  # refuse before writing anything
    for name, write in files.items():
        run._place(f"{folder}/{name}", lambda target, write=write: artifacts.place(target, write))
    text = json.dumps(description, indent=2, sort_keys=True, default=str)
    run._place(f"{folder}/{DESCRIPTION_FILE}", lambda target: artifacts.write_into(text.encode(), target))
    return ModelInfo(f"runs:/{run.info.run_id}/{folder}")


def describe(flavor: str, model, params: dict, packages: tuple[str, ...], **extra) -> dict:
    kind = type(model)
    return {
        "flavor": flavor,
        "class": kind.__name__,
        "module": kind.__module__,
        "params": {str(key): json_safe(value) for key, value in sorted(params.items(), key=lambda kv: str(kv[0]))},
        "versions": {"python": platform.python_version(), **versions(*packages, "flowsheet")},
        **extra,
    }


def model_folder(model_uri: str) -> Path:
    """The folder of `runs:/<run_id>/<artifact_path>`, or a local folder that a log_model wrote."""
    if model_uri.startswith("runs:/"):
        from .fluent import _find_run_folder

        run_id, _, path = model_uri[len("runs:/"):].strip("/").partition("/")
        return artifacts.destination(_find_run_folder(run_id) / ARTIFACTS_DIR, artifacts.safe_relative(path))
    if model_uri.startswith("models:/"):
        from .exceptions import no_registry

        raise no_registry(f"load_model({model_uri!r})")
    if "://" in model_uri:
        raise ValueError(f"flowsheet loads models from runs:/<run_id>/<path> or a local folder, not {model_uri!r}")
    return Path(model_uri)


def model_file(model_uri: str, name: str) -> Path:
    found = model_folder(model_uri) / name
    if not found.is_file():
        raise FileNotFoundError(f"no model at {model_uri} (looked for {found})")
    return found


def json_safe(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    return repr(value)


def versions(*packages: str) -> dict:
    found = {}
    for package in packages:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found
