"""What a user sees of some logs, to compare two of them: the runs tables (`logger.search.run_row` of every
run, the experiment named by name since ids differ between formats), and the bytes of every file."""

from __future__ import annotations

import math
from pathlib import Path

from logger.model import LogData
from logger.reader import LogReader
from logger.search import run_row

NOW = 4_000_000_000  # seconds: long after every time in the fixtures, so runs with no end read as UNFINISHED / FINISHED


def read(path: Path) -> LogData:
    reader = LogReader(path)
    reader.refresh(NOW)
    return reader.data


def table(data: LogData) -> dict[str, dict]:
    """Every run's row, its experiment named by name (ids differ between formats)."""
    rows = {}
    for run_id, run in data.runs.items():
        row = run_row(run, published=True)
        row["attributes"]["experiment_id"] = data.experiments[run.experiment_id].name
        row["metrics"] = {key: "nan" if math.isnan(value) else value for key, value in row["metrics"].items()}
        rows[run_id] = row
    return rows


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
