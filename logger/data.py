"""Datasets a run used (`log_input`), described as MLflow describes them: name, digest, source, schema, profile.

    train = logger.data.from_pandas(train_df, source="data/train.csv", name="train")
    mlflow.log_input(train, context="training")

`log_input` takes any of:
- a `Dataset` made here, by `from_pandas` or `from_dict`;
- an MLflow dataset (`mlflow.data.from_pandas(...)`, or anything with `name` and `digest` and a
  `to_dict()` or a `source`): its own description is recorded, as MLflow would record it;
- a pandas DataFrame or a dict of columns, described on the spot under the name "dataset".
The run records it as an `input` line (docs/FORMAT.md); `get_run(id).inputs.dataset_inputs` gives it back.

The schema is MLflow's column spec (`{"mlflow_colspec": [{"type": "long", "name": "a", ...}]}`) and the
profile its row and cell counts. The digest is flowsheet's own, not MLflow's: 8 hex digits of a SHA-256
over the column names and types and the first 10,000 rows, so the same data gives the same digest.
`targets` and `predictions` are taken for MLflow's signature; like MLflow's description, the record
does not hold them.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from typing import Any

from .exceptions import InvalidParameterValue, InvalidValueType, NotSupported
from .format import DATASET_CONTEXT_TAG, INPUT, MAX_DATASET_TEXT

DIGEST_ROWS = 10_000
DEFAULT_NAME = "dataset"
# pandas dtype names -> MLflow's column types
_PANDAS_TYPES = {"int64": "long", "int32": "integer", "float64": "double", "float32": "float", "bool": "boolean",
                 "object": "string", "string": "string", "datetime64[ns]": "datetime"}


@dataclass(frozen=True)
class Dataset:
    name: str
    digest: str
    source: str  # JSON text: {"uri": "data/train.csv"}, or {} when the data came from the code
    source_type: str  # "local", "http" or "code"
    schema: str | None = None  # JSON text
    profile: str | None = None  # JSON text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def from_pandas(df, source: str | os.PathLike | None = None, targets: str | None = None, name: str | None = None,
                digest: str | None = None, predictions: str | None = None) -> Dataset:
    columns = [(str(column), _PANDAS_TYPES.get(str(dtype), "datetime" if "datetime" in str(dtype) else str(dtype)))
               for column, dtype in df.dtypes.items()]
    head = json.loads(df.head(DIGEST_ROWS).to_json(orient="values", date_format="iso"))
    return _described(columns, head, len(df), source, name, digest)


def from_dict(data: dict, source: str | os.PathLike | None = None, name: str | None = None,
              digest: str | None = None) -> Dataset:
    """A dict of columns (lists of one length) as a dataset, without pandas."""
    from .tables import table_of

    names, rows = table_of(data)
    columns = [(column, _value_type([row[i] for row in rows])) for i, column in enumerate(names)]
    return _described(columns, rows[:DIGEST_ROWS], len(rows), source, name, digest)


def as_dataset(dataset) -> Dataset:
    """What `log_input` records for any of the kinds of dataset it takes (see the module docstring)."""
    if isinstance(dataset, Dataset):
        return dataset
    if isinstance(dataset, dict):
        return from_dict(dataset)
    if hasattr(dataset, "dtypes") and hasattr(dataset, "to_json"):
        return from_pandas(dataset)
    if hasattr(dataset, "name") and hasattr(dataset, "digest"):
        described = dataset.to_dict() if callable(getattr(dataset, "to_dict", None)) else {}
        source = described.get("source", getattr(dataset, "source", None))
        if source is not None and not isinstance(source, str):
            source = source.to_json() if callable(getattr(source, "to_json", None)) else str(source)
        return Dataset(str(described.get("name", dataset.name)), str(described.get("digest", dataset.digest)),
                       source or "{}", str(described.get("source_type") or "code"),
                       _text(described.get("schema")), _text(described.get("profile")))
    raise InvalidValueType(f"log_input takes a logger.data.Dataset, an MLflow dataset, a pandas DataFrame or a dict "
                           f"of columns, got {type(dataset).__name__}")


def write_input(run, dataset, context: str | None = None, tags: dict | None = None, model=None) -> None:
    """Record on `run` that it used `dataset` (an `input` line)."""
    from . import events

    if model is not None:
        raise NotSupported("log_input(model=...) links a logged model, which flowsheet does not have: log the model "
                           "in this run (logger.sklearn.log_model) instead")
    if dataset is None:
        return
    run._check_open()
    record = as_dataset(dataset)
    input_tags = {events.check_key(k, "input tag key"): str(events.plain_value(v, f"input tag {k!r}"))
                  for k, v in (tags or {}).items()}
    if context is not None:
        input_tags[DATASET_CONTEXT_TAG] = str(context)
    for field, text in record.to_dict().items():
        if text is not None and len(text) > MAX_DATASET_TEXT:
            raise InvalidParameterValue(f"dataset {record.name!r}: its {field} is {len(text)} characters long; the "
                                        f"limit is {MAX_DATASET_TEXT} (describe it with a shorter {field})")
    run._writer.write(events.encode(events.event(INPUT, **record.to_dict(), tags=input_tags)))


def _described(columns: list[tuple[str, str]], head: list, rows: int, source, name, digest) -> Dataset:
    schema = json.dumps({"mlflow_colspec": [{"type": kind, "name": column, "required": True}
                                            for column, kind in columns]})
    profile = json.dumps({"num_rows": rows, "num_elements": rows * len(columns)})
    if digest is None:
        hashed = json.dumps([columns, rows, head], ensure_ascii=False, default=str, allow_nan=True)
        digest = hashlib.sha256(hashed.encode("utf-8")).hexdigest()[:8]
    source_json, source_type = _source(source)
    return Dataset(name or DEFAULT_NAME, digest, source_json, source_type, schema, profile)


def _source(source) -> tuple[str, str]:
    if source is None:
        return "{}", "code"
    text = os.fspath(source)
    kind = "http" if text.lower().startswith(("http://", "https://")) else "local"
    return json.dumps({"uri": text}), kind


def _value_type(values: list) -> str:
    kinds = {type(v) for v in values if v is not None}
    if kinds == {bool}:
        return "boolean"
    if kinds == {int}:
        return "long"
    if kinds and kinds <= {int, float}:
        return "double"
    return "string"


def _text(value) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value, default=str)
