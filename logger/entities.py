"""What MLflow's read API returns, in MLflow's shape: `run.info.run_id`, `run.data.params["lr"]` (text), ...

`get_run`, `search_runs(output_format="list")` and `MlflowClient` give these; they are snapshots of
what the reader read (logger/model.py), made by logger/search.py. Field names and constructor
argument orders are MLflow's (`Metric(key, value, timestamp, step)`), so code written against
`mlflow.entities` reads them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class ViewType:
    """Which runs (or experiments) a search returns: MLflow's numbers."""

    ACTIVE_ONLY, DELETED_ONLY, ALL = 1, 2, 3
    _NAMES = {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3}

    @classmethod
    def from_string(cls, name: str) -> int:
        try:
            return cls._NAMES[name.upper()]
        except (KeyError, AttributeError):
            from .exceptions import InvalidParameterValue

            raise InvalidParameterValue(f"view type must be one of ACTIVE_ONLY, DELETED_ONLY, ALL; got {name!r}") \
                from None

    @classmethod
    def to_string(cls, view: int) -> str:
        return {number: name for name, number in cls._NAMES.items()}[view]


class LifecycleStage:
    ACTIVE, DELETED = "active", "deleted"


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int = 0


@dataclass(frozen=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True)
class RunTag:
    key: str
    value: str


@dataclass
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    user_id: str | None
    parent_run_id: str | None = None  # not on MLflow's RunInfo (it is the tag mlflow.parentRunId there)
    lifecycle_stage: str = LifecycleStage.ACTIVE

    @property
    def run_uuid(self) -> str:
        return self.run_id


@dataclass
class RunData:
    """Params and tags as text (as MLflow stores them), metrics as their latest values."""

    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InputTag:
    key: str
    value: str


@dataclass(frozen=True)
class Dataset:
    """A dataset as a run's input records it (`log_input`): `source`, `schema` and `profile` are JSON text."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class DatasetInput:
    dataset: Dataset
    tags: list[InputTag] = field(default_factory=list)


@dataclass
class RunInputs:
    dataset_inputs: list[DatasetInput] = field(default_factory=list)


@dataclass
class Run:
    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)


@dataclass
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    lifecycle_stage: str = LifecycleStage.ACTIVE
    last_update_time: int | None = None


class PagedList(list):
    """A page of results, as MLflow's client returns them; flowsheet returns everything on one page."""

    def __init__(self, items=(), token: str | None = None):
        super().__init__(items)
        self.token = token
