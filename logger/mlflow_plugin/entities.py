"""What the reader found (logger.model) as MLflow's entities, and MLflow's errors for what went wrong.

Params and tags come back as text, as MLflow returns them (`logger.search.run_row`); a run's metrics
are its latest points (greatest step, then latest time), as MLflow's stores give them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow.entities
from mlflow.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    InputTag,
    LifecycleStage,
    Metric,
    Param,
    RunData,
    RunInfo,
    RunInputs,
    RunTag,
)
from mlflow.entities import Run as MlflowRun
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, NOT_IMPLEMENTED, RESOURCE_DOES_NOT_EXIST

from .. import model
from ..format import DATASET_CONTEXT_TAG, DATASETS_TAG, MAX_VALUE_LENGTH, PARENT_TAG, RUN_NAME_TAG, USER_TAG
from ..search import run_row
from ..values import param_text

# MLflow 3 gave runs outputs (logged models) and model inputs; MLflow 2's entities have neither.
MLFLOW_3 = hasattr(mlflow.entities, "RunOutputs")
# A run the process that wrote it left without an end line reads as UNFINISHED; MLflow has no such
# status and would still call it RUNNING.
_STATUSES = {"UNFINISHED": "RUNNING"}


# ---------------------------------------------------------------- errors


def not_found(what: str) -> MlflowException:
    return MlflowException(f"{what} not found", RESOURCE_DOES_NOT_EXIST)


def invalid(error: Exception | str) -> MlflowException:
    return MlflowException(str(error), INVALID_PARAMETER_VALUE)


def unsupported(what: str, why: str = "") -> MlflowException:
    return MlflowException(f"the flowsheet tracking store does not support {what}{': ' + why if why else ''}",
                           NOT_IMPLEMENTED)


# ---------------------------------------------------------------- experiments and runs


def experiment_entity(experiment: model.Experiment) -> Experiment:
    tags = [ExperimentTag(key, param_text(value)) for key, value in experiment.tags.items()]
    return Experiment(experiment.experiment_id, experiment.name, Path(experiment.path).absolute().as_uri(),
                      LifecycleStage.ACTIVE, tags, experiment.created, experiment.created)


def run_entity(run: model.Run, running: bool = False, outputs: list | None = None,
               model_inputs: list | None = None) -> MlflowRun:
    """`running`: the run is open in this process, whatever the time since its last line."""
    row = run_row(run)
    attributes, tags = row["attributes"], row["tags"]
    status = "RUNNING" if running else _STATUSES.get(run.status, run.status)
    user = attributes["user"] or tags.get(USER_TAG) or ""
    info = RunInfo(run.run_id, run.experiment_id, user, status, run.start_time or 0, run.end_time,
                   LifecycleStage.ACTIVE, artifact_uri=attributes["artifact_uri"], run_name=run.name)
    metrics = []
    for key, history in run.metrics.items():
        if len(history):
            at = history.latest_index()
            metrics.append(Metric(key, history.values[at], history.timestamps[at], history.steps[at]))
    data = RunData(metrics, [Param(k, v) for k, v in row["params"].items()],
                   [RunTag(k, v) for k, v in tags.items()])
    return with_inputs_and_outputs(info, data, dataset_inputs(tags.get(DATASETS_TAG)), model_inputs, outputs)


def with_inputs_and_outputs(info: RunInfo, data: RunData, datasets: list, model_inputs: list | None = None,
                            outputs: list | None = None) -> MlflowRun:
    """`outputs`: LoggedModelOutputs. The models' parts are left out under MLflow 2."""
    if not MLFLOW_3:
        return MlflowRun(info, data, RunInputs(datasets))
    from mlflow.entities import RunOutputs

    return MlflowRun(info, data, RunInputs(datasets, model_inputs or []), RunOutputs(outputs or []))


def new_run_entity(info, tags: dict[str, Any]) -> MlflowRun:
    """A run just created, from the logger's own `RunInfo`: no reading back."""
    run_info = RunInfo(info.run_id, info.experiment_id, info.user_id or "", "RUNNING", info.start_time, None,
                       LifecycleStage.ACTIVE, artifact_uri=info.artifact_uri, run_name=info.run_name)
    shown = {**tags, RUN_NAME_TAG: info.run_name}
    if info.parent_run_id:
        shown[PARENT_TAG] = info.parent_run_id
    data = RunData([], [], [RunTag(k, param_text(v)) for k, v in shown.items()])
    return with_inputs_and_outputs(run_info, data, [])


# ---------------------------------------------------------------- datasets, kept on a tag


def dataset_summaries(inputs) -> list[dict[str, str]]:
    """MLflow's DatasetInputs as the small records the tag keeps: name, digest, source type, context."""
    found = []
    for dataset_input in inputs or ():
        dataset = dataset_input.dataset
        record = {"name": dataset.name, "digest": dataset.digest, "source_type": dataset.source_type}
        context = next((tag.value for tag in dataset_input.tags if tag.key == DATASET_CONTEXT_TAG), None)
        if context is not None:
            record["context"] = context
        found.append(record)
    return found


def datasets_tag(current: Any, added: list[dict[str, str]]) -> str:
    """The tag's new value: what it held plus `added`, each record once, the oldest left out past the limit."""
    try:
        records = json.loads(current) if isinstance(current, str) else []
        records = [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []
    except ValueError:
        records = []
    for record in added:
        if record not in records:
            records.append(record)
    text = json.dumps(records, ensure_ascii=False)
    while len(text) > MAX_VALUE_LENGTH and records:
        records.pop(0)
        text = json.dumps(records, ensure_ascii=False)
    return text


def dataset_inputs(tag_value: str | None) -> list[DatasetInput]:
    try:
        records = json.loads(tag_value) if tag_value else []
    except ValueError:
        records = []
    inputs = []
    for record in records if isinstance(records, list) else ():
        if not isinstance(record, dict) or not isinstance(record.get("name"), str):
            continue
        tags = [InputTag(DATASET_CONTEXT_TAG, str(record["context"]))] if "context" in record else []
        dataset = Dataset(record["name"], str(record.get("digest", "")), str(record.get("source_type", "")), "{}")
        inputs.append(DatasetInput(dataset, tags))
    return inputs
