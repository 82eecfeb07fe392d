"""MLflow 3's logged models, kept as folders in their run's artifacts, where the site shows them.

MLflow 3 logs a model (`mlflow.sklearn.log_model`, autolog) as a "logged model": the store creates it
and says where its files go (`artifact_location`), MLflow writes the MLmodel folder there. Here that
place is `<run>/artifacts/<model name>/`, as MLflow 2 put models (`<name>-2`, `-3`... when the name is
taken in that run), so the model is one more artifact folder of the run, and nothing outside the log
format's layout is written. A model therefore needs a run: one created without `source_run_id`
raises, saying so.

What MLflow keeps beside a model (its status, tags, params, metrics) lives in this process's memory:
the log format has no place for it. Another process finds a model again by the MLmodel file MLflow
wrote into its folder, which names its `model_id` (status READY, the run's params, no tags).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import artifacts
from ..model import LogData
from ..model import Run as LoggedRun
from ..run import random_run_name
from ..safepath import RefusedPath, open_inside
from ..values import param_text
from .entities import invalid, not_found, unsupported

if TYPE_CHECKING:  # MLflow 3's: imported where used, so that MLflow 2 can load the store
    from mlflow.entities import LoggedModel, Metric

MODEL_FILE = "MLmodel"
MAX_MODEL_FILE = 1 << 20  # bytes of an MLmodel file read to find its model_id


class ModelRegistry:
    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self._models: dict[str, LoggedModel] = {}
        self._claimed: set[Path] = set()  # folders given to models of this process
        self._found: dict[tuple[str, int, int], dict | None] = {}  # (MLmodel file, mtime, size) -> its fields
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- this process's models

    def create(self, experiment_id: str, run_artifacts: Path, name: str | None, source_run_id: str,
               tags: dict[str, str], params: dict[str, str], model_type: str | None) -> LoggedModel:
        from mlflow.entities import LoggedModel, LoggedModelStatus

        model_id = f"m-{uuid.uuid4().hex}"
        name = name or random_run_name(model_id)
        try:
            artifacts.safe_file(name, "model name")
        except ValueError as error:
            raise invalid(error) from None
        now = int(time.time() * 1000)
        with self._lock:
            folder = self._free_folder(run_artifacts, name)
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise invalid(f"cannot make the model's folder {folder}: {error}") from error
            self._claimed.add(folder)
            model = LoggedModel(experiment_id, model_id, name, folder.absolute().as_uri(), now, now, model_type,
                                source_run_id, LoggedModelStatus.PENDING, tags=tags, params=params, metrics=[])
            self._models[model_id] = model
        return model

    def get(self, model_id: str, load: Callable[[], LogData]) -> LoggedModel:
        """A model of this process, or else one found by its MLmodel file in the runs `load()` reads."""
        with self._lock:
            model = self._models.get(model_id)
        if model is not None:
            return model
        for found in self.discover(load().runs.values()):
            if found.model_id == model_id:
                with self._lock:
                    return self._models.setdefault(model_id, found)
        raise not_found(f"Logged model '{model_id}'")

    def finalize(self, model: LoggedModel, status) -> LoggedModel:
        with self._lock:
            model.status = status
            model.last_updated_timestamp = int(time.time() * 1000)
        return model

    def set_tags(self, model: LoggedModel, tags: dict[str, str]) -> None:
        with self._lock:
            model.tags.update(tags)
            model.last_updated_timestamp = int(time.time() * 1000)

    def delete_tag(self, model: LoggedModel, key: str) -> None:
        with self._lock:
            if key not in model.tags:
                raise not_found(f"Tag {key!r} of logged model '{model.model_id}'")
            del model.tags[key]

    def log_params(self, model: LoggedModel, params: dict[str, str]) -> None:
        with self._lock:
            model.params.update(params)

    def add_metrics(self, metrics: list[Metric]) -> None:
        """Metrics logged to a run with a `model_id` also count as the model's (MLflow's model metrics)."""
        with self._lock:
            for metric in metrics:
                model = self._models.get(metric.model_id) if metric.model_id else None
                if model is not None:
                    model.metrics = [*(model.metrics or []), metric]

    def of_runs(self, runs) -> list[LoggedModel]:
        """Every model of these runs: this process's, and those found by their MLmodel files."""
        runs = list(runs)
        wanted = {run.run_id for run in runs}
        with self._lock:
            found = {m.model_id: m for m in self._models.values() if m.source_run_id in wanted}
        for model in self.discover(runs):
            found.setdefault(model.model_id, model)
        return sorted(found.values(), key=lambda m: (m.creation_timestamp, m.model_id))

    def delete(self, model_id: str) -> None:
        raise unsupported("deleting a logged model", "its files are part of the run's artifacts")

    # ---------------------------------------------------------------- models of other processes

    def discover(self, runs) -> list[LoggedModel]:
        """Models found by the MLmodel files in the runs' artifacts that name a model_id (MLflow 3)."""
        found = []
        for run in runs:
            if run.artifacts_dir is None:
                continue
            for artifact in run.artifacts:
                if artifact.blob is None and (artifact.path == MODEL_FILE or artifact.path.endswith("/" + MODEL_FILE)):
                    fields = self._read_model_file(Path(run.artifacts_dir) / artifact.path)
                    if fields is not None:
                        found.append(_found_model(run, artifact.path, fields))
        return found

    def _read_model_file(self, path: Path) -> dict | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key not in self._found:
            self._found[key] = _model_fields(path, self.log_dir)
        return self._found[key]

    def _free_folder(self, run_artifacts: Path, name: str) -> Path:
        folder, number = run_artifacts / name, 1
        while folder in self._claimed or folder.exists():
            number += 1
            folder = run_artifacts / f"{name}-{number}"
        return folder


def _model_fields(path: Path, log_dir: Path) -> dict | None:
    """The MLmodel file's model_id and creation time; None when it names no model or cannot be read."""
    import yaml

    try:
        with open_inside(path, log_dir) as handle:
            text = handle.read(MAX_MODEL_FILE + 1)
        if len(text) > MAX_MODEL_FILE:
            return None
        fields: Any = yaml.safe_load(text)
    except (OSError, RefusedPath, ValueError, yaml.YAMLError):
        return None
    if not isinstance(fields, dict) or not isinstance(fields.get("model_id"), str) or not fields["model_id"]:
        return None
    return {"model_id": fields["model_id"], "created": _created_ms(fields.get("utc_time_created")),
            "mtime": int(path.stat().st_mtime * 1000)}


def _created_ms(text: Any) -> int | None:
    from datetime import UTC, datetime

    try:
        return int(datetime.fromisoformat(str(text)).replace(tzinfo=UTC).timestamp() * 1000)
    except ValueError:
        return None


def _found_model(run: LoggedRun, model_file: str, fields: dict) -> LoggedModel:
    from mlflow.entities import LoggedModel, LoggedModelStatus

    relative = model_file.rpartition("/")[0]
    folder = Path(run.artifacts_dir or "") / relative
    created = fields["created"] or fields["mtime"]
    params = {key: param_text(value) for key, value in run.params.items()}
    return LoggedModel(run.experiment_id, fields["model_id"], relative.rpartition("/")[2] or "model",
                       folder.absolute().as_uri(), created, fields["mtime"], None, run.run_id,
                       LoggedModelStatus.READY, tags={}, params=params, metrics=[])
