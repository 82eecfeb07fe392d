"""`log_table` / `load_table`: a table as a JSON artifact in pandas' "split" layout, as MLflow writes it.

    {"columns": ["inputs", "score"], "data": [["What is MLflow?", 0.9], ["What is flowsheet?", 0.8]]}

As in MLflow: logging a table again under the same artifact_file appends the new rows (the columns are
the union of both, a missing cell is null), and the run's tag `mlflow.loggedArtifacts` lists its tables
(`[{"path": ..., "type": "table"}]`), which is how `load_table` finds them. A dict is a table without
pandas: its values are the columns (lists of one length; a scalar fills its column), or all scalars for
a one-row table. A DataFrame is written by pandas' own `to_json(orient="split")`. Only `.json`: MLflow's
`.parquet` needs pyarrow, which flowsheet does not require.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from . import artifacts
from .exceptions import InvalidParameterValue, NotSupported, ResourceDoesNotExist
from .format import LOGGED_ARTIFACTS_TAG
from .run import Run

TABLE_TYPE = "table"


def log_table(run: Run, data, artifact_file: str) -> str:
    relative = artifacts.safe_file(artifact_file)
    if relative.lower().endswith(".parquet"):
        raise NotSupported(f"log_table({artifact_file!r}): flowsheet writes tables as .json (parquet would need "
                           "pyarrow); give the artifact_file a .json name")
    if not relative.lower().endswith(".json"):
        raise InvalidParameterValue(f"Invalid artifact file path {artifact_file!r}: a table's file name ends in .json")
    columns, rows = table_of(data)
    target = artifacts.destination(run.artifact_dir, relative)
    if target.is_file():
        columns, rows = _appended(read_table(target), columns, rows)
    text = json.dumps({"columns": columns, "data": rows}, ensure_ascii=False, allow_nan=False)
    run._place(relative, lambda path: artifacts.write_into(text.encode("utf-8"), path))
    listed = logged_tables(run._tags.get(LOGGED_ARTIFACTS_TAG))
    entry = {"path": relative, "type": TABLE_TYPE}
    if entry not in listed:
        run.set_tag(LOGGED_ARTIFACTS_TAG, json.dumps(listed + [entry]))
    return relative


def table_of(data) -> tuple[list[str], list[list]]:
    """(columns, rows) of a dict or a pandas DataFrame, every cell a JSON value."""
    if isinstance(data, dict):
        columns = [str(key) for key in data]
        values = [_as_list(value) for value in data.values()]
        lengths = {len(value) for value in values if value is not None}
        if len(lengths) > 1:
            raise InvalidParameterValue(f"log_table: the columns of a dict must have one length, got {sorted(lengths)}")
        count = lengths.pop() if lengths else 1
        cells = [[_cell(v) for v in value] if value is not None else [_cell(raw)] * count
                 for value, raw in zip(values, data.values())]
        return columns, [list(row) for row in zip(*cells)] if cells else []
    if hasattr(data, "to_json") and hasattr(data, "columns"):
        split = json.loads(data.to_json(orient="split", index=False, date_format="iso"))
        return [str(column) for column in split["columns"]], split["data"]
    raise InvalidParameterValue(f"data must be a pandas.DataFrame or a dictionary, got {type(data).__name__}")


def read_table(path: Path) -> tuple[list[str], list[list]]:
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
        columns, rows = [str(c) for c in table["columns"]], table["data"]
        if not all(isinstance(row, list) and len(row) == len(columns) for row in rows):
            raise ValueError("a row does not have one cell per column")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InvalidParameterValue(f"{path.name} is not a table log_table wrote ({error}); log to another "
                                    "artifact_file") from None
    return columns, rows


def logged_tables(tag_value: Any) -> list[dict]:
    """The entries of a run's `mlflow.loggedArtifacts` tag; [] when it has none or it is not a JSON list."""
    try:
        listed = json.loads(tag_value) if isinstance(tag_value, str) else []
    except ValueError:
        return []
    return [entry for entry in listed if isinstance(entry, dict)] if isinstance(listed, list) else []


def load_table(artifact_file: str, run_ids=None, extra_columns=None, experiment_id: str | None = None,
               log_dir=None):
    """The table `artifact_file` of every run that logged it (of `run_ids`, or of the experiment), rows
    stacked in one DataFrame; `extra_columns` adds columns of the run's search_runs row (e.g. "run_id")."""
    import pandas as pd

    from .search import load, run_row

    relative = artifacts.safe_file(artifact_file)
    data = load(log_dir)
    wanted = None if run_ids is None else set(run_ids)
    frames = []
    for run in sorted(data.runs.values(), key=lambda r: (r.start_time or 0, r.run_id)):
        chosen = run.run_id in wanted if wanted is not None else run.experiment_id == experiment_id
        if run.deleted or not chosen or {"path": relative, "type": TABLE_TYPE} not in logged_tables(
                run.tags.get(LOGGED_ARTIFACTS_TAG)):
            continue
        path = artifacts.destination(Path(run.artifacts_dir or run.path), relative)
        if not path.is_file():
            raise ResourceDoesNotExist(f"Artifact {artifact_file} not found for run {run.run_id}.")
        columns, rows = read_table(path)
        frame = pd.DataFrame(rows, columns=columns)
        row = _flat_row(run_row(run))
        for column in extra_columns or ():
            frame[f"{column}_" if column in frame.columns else column] = row.get(column)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _flat_row(row: dict) -> dict:
    """A run_row as search_runs' columns name its cells: run_id, params.lr, metrics.loss, tags.x."""
    flat = dict(row["attributes"])
    for part in ("params", "metrics", "tags"):
        flat.update({f"{part}.{key}": value for key, value in row[part].items()})
    return flat


def _appended(old: tuple[list[str], list[list]], columns: list[str], rows: list[list]) -> tuple[list[str], list]:
    old_columns, old_rows = old
    merged = old_columns + [c for c in columns if c not in old_columns]
    where = {name: index for index, name in enumerate(columns)}
    padding = [None] * (len(merged) - len(old_columns))
    return merged, [row + padding for row in old_rows] + [
        [row[where[c]] if c in where else None for c in merged] for row in rows]


def _as_list(value) -> list | None:
    """A column's values, or None for a scalar (which fills its column)."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if getattr(value, "ndim", 0) >= 1 and hasattr(value, "tolist"):  # numpy arrays, pandas Series
        return list(value.tolist())
    return None


def _cell(value) -> Any:
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # as pandas writes NaN and infinities
    if isinstance(value, (list, tuple)):
        return [_cell(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _cell(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
