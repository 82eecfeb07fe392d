"""The queries of one read of MLflow's SQL store: a `Snapshot` taken in one read transaction.

Experiments, runs, params and tags are read whole (thousands of rows: milliseconds); metric points only
from the last rowid read on. `metrics` is a rowid table and MLflow only inserts into it, so every point
committed since the last read has a greater rowid. Each table is read with one query, never one per
run, and the points go straight into arrays (`Points`).

A database that is not quite what MLflow writes (a hand-edited or hostile file) is still read as data:
texts longer than `MAX_TEXT` are cut, invalid UTF-8 is replaced, and a metric row whose value, step or
time is not a number is counted (`Snapshot.bad_points`) and left out.
"""

from __future__ import annotations

import math
import sqlite3
import sys
from array import array
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

from .mlflow_sqlite import Schema

MAX_TEXT = 100_000  # characters kept of a name, param or tag value (MLflow itself keeps at most 8,000)
MAX_KEY = 1_000  # characters kept of a key (MLflow: 250)
SERIES = "\x00"  # between run id and key in a series name: neither may hold it in MLflow
DELETED = "deleted"  # lifecycle_stage of deleted experiments and runs
DBL_MAX = sys.float_info.max  # what MLflow stores for an infinite metric value (its sign kept)


class RunRow(NamedTuple):
    """One row of `runs`, as compared from one read to the next to tell a run changed."""

    run_id: str
    name: str | None
    status: str | None
    start_time: int | None
    end_time: int | None
    lifecycle_stage: str | None
    artifact_uri: str | None
    experiment_id: str
    user_id: str | None
    source_name: str | None
    source_version: str | None
    entry_point_name: str | None


class Points(NamedTuple):
    """New points of one metric of one run, as columns."""

    values: array
    steps: array
    timestamps: array


@dataclass
class Snapshot:
    experiments: dict[str, tuple] = field(default_factory=dict)  # id -> (name, location, stage, created)
    experiment_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    runs: dict[str, RunRow] = field(default_factory=dict)
    params: dict[str, dict[str, str]] = field(default_factory=dict)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    points: dict[str, Points] = field(default_factory=dict)  # "<run id>\0<key>" -> points after `since`
    last_rowid: int = 0  # the greatest rowid of `metrics`: the next read starts after it
    fresh: bool = True  # read from the first point: the caller forgets the points it had
    cut: int = 0  # texts cut to MAX_TEXT
    bad_points: int = 0

    def visible(self) -> set[str]:
        """The runs MLflow shows: not deleted, in an experiment that is not deleted."""
        live = {eid for eid, row in self.experiments.items() if row[2] != DELETED}
        return {run_id for run_id, row in self.runs.items()
                if row.lifecycle_stage != DELETED and row.experiment_id in live}


def lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def fetch(connection: sqlite3.Connection, since: int, known: set[str], shown: set[str]) -> Snapshot:
    """Everything but old points, in one read transaction. `since`: the last rowid read (0: read all);
    `known`: every run id of the last read; `shown`: the runs visible then, whose points are held.

    Reads from the first point (`fresh`) when a run the last read saw is gone or `metrics` holds less
    than before: MLflow's garbage collection deleted rows, and SQLite may give their rowids again."""
    connection.execute("BEGIN")  # one snapshot for all queries; only ever a shared (read) lock
    try:
        schema = Schema.read(connection)
        connection.text_factory = lenient_text
        snapshot = Snapshot()
        snapshot.runs = _runs(connection, schema, snapshot)
        snapshot.last_rowid = connection.execute("SELECT max(rowid) FROM metrics").fetchone()[0] or 0
        snapshot.fresh = since == 0 or snapshot.last_rowid < since or not known.issubset(snapshot.runs)
        snapshot.experiments = _experiments(connection, schema, snapshot)
        if schema.has_experiment_tags:
            snapshot.experiment_tags = _key_values(connection, "experiment_tags", "experiment_id", snapshot)
        snapshot.params = _key_values(connection, "params", "run_uuid", snapshot)
        snapshot.tags = _key_values(connection, "tags", "run_uuid", snapshot)
        since = 0 if snapshot.fresh else since
        _points(connection, schema, snapshot, since, set() if snapshot.fresh else snapshot.visible() - shown)
        return snapshot
    finally:
        try:
            connection.execute("ROLLBACK")  # nothing was written: this only ends the read
        except sqlite3.Error:
            pass  # the connection is closed next anyway


def _text(column: str, limit: int = MAX_TEXT) -> str:
    """A text column cut to `limit` characters (one more is fetched, to tell a value was cut)."""
    return f"substr({column}, 1, {limit + 1})"


def _cut(value, snapshot: Snapshot, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        value = lenient_text(value) if isinstance(value, bytes) else str(value)
    if len(value) > limit:
        snapshot.cut += 1
        return value[:limit]
    return value


def _int(value) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) else None


def _runs(connection: sqlite3.Connection, schema: Schema, snapshot: Snapshot) -> dict[str, RunRow]:
    texts = ("name", "status", "lifecycle_stage", "artifact_uri", "user_id", "source_name", "source_version",
             "entry_point_name")
    columns = {name: _text(schema.column("runs", name)) for name in texts}
    query = (f"SELECT run_uuid, {columns['name']}, {columns['status']}, start_time, end_time, "
             f"{columns['lifecycle_stage']}, {columns['artifact_uri']}, experiment_id, {columns['user_id']}, "
             f"{columns['source_name']}, {columns['source_version']}, {columns['entry_point_name']} FROM runs")
    found = {}
    for row in connection.execute(query):
        run_id = _cut(row[0], snapshot, MAX_KEY)
        if run_id is None:
            continue
        found[run_id] = RunRow(run_id, _cut(row[1], snapshot), _cut(row[2], snapshot), _int(row[3]), _int(row[4]),
                               _cut(row[5], snapshot), _cut(row[6], snapshot), str(row[7]),
                               *(_cut(value, snapshot) for value in row[8:]))
    return found


def _experiments(connection: sqlite3.Connection, schema: Schema, snapshot: Snapshot) -> dict[str, tuple]:
    created = schema.column("experiments", "creation_time")
    query = (f"SELECT experiment_id, {_text('name')}, {_text('artifact_location')}, {_text('lifecycle_stage')}, "
             f"{created} FROM experiments")
    return {str(row[0]): (_cut(row[1], snapshot), _cut(row[2], snapshot), _cut(row[3], snapshot), _int(row[4]))
            for row in connection.execute(query)}


def _key_values(connection: sqlite3.Connection, table: str, owner: str, snapshot: Snapshot) -> dict:
    """`params`, `tags`, `experiment_tags`: owner id -> {key: value}; a NULL value (tags allow it) is ""."""
    found: dict[str, dict[str, str]] = {}
    query = f"SELECT {owner}, {_text('key', MAX_KEY)}, {_text('value')} FROM {table}"
    for owner_id, key, value in connection.execute(query):
        key = _cut(key, snapshot, MAX_KEY)
        if owner_id is not None and key is not None:
            found.setdefault(str(owner_id), {})[key] = _cut(value, snapshot) or ""
    return found


def _points(connection: sqlite3.Connection, schema: Schema, snapshot: Snapshot, since: int,
            newly_shown: set[str]) -> None:
    """The points after rowid `since`, and the older ones of runs shown again (a deleted run restored)."""
    # MLflow stores NaN as 0 with is_nan set; NULL here (SQLite has no NaN) and NaN below.
    value = "CASE WHEN is_nan THEN NULL ELSE value END" if "is_nan" in schema.metrics else "value"
    step = schema.column("metrics", "step", "0")  # MLflow before 1.0 had no steps
    select = f"SELECT run_uuid || char(0) || {_text('key', MAX_KEY)}, {value}, timestamp, {step} FROM metrics"
    for run_id in sorted(newly_shown):
        _gather(connection, f"{select} WHERE run_uuid = ? AND rowid <= ? ORDER BY rowid", (run_id, since), snapshot)
    _gather(connection, f"{select} WHERE rowid > ? ORDER BY rowid", (since,), snapshot)
    for points in snapshot.points.values():
        _restore_infinities(points.values)


def _restore_infinities(values: array) -> None:
    """MLflow stores an infinity as the greatest float (SQL has none): read it back as what was logged."""
    if len(values) and (max(values) >= DBL_MAX or min(values) <= -DBL_MAX or math.isnan(values[0])):
        for index, value in enumerate(values):  # max() and min() miss an extreme behind a leading NaN
            if value >= DBL_MAX:
                values[index] = math.inf
            elif value <= -DBL_MAX:
                values[index] = -math.inf


def _gather(connection: sqlite3.Connection, query: str, args: tuple, snapshot: Snapshot) -> None:
    # Text comes back as str (the fast path); a key that is not UTF-8 makes sqlite3 raise, and then
    # these rows are read again with the lenient decoder.
    connection.text_factory = str
    before = {series: len(points.values) for series, points in snapshot.points.items()}
    try:
        _append_rows(connection.execute(query, args), snapshot)
    except sqlite3.OperationalError as error:
        if "decode" not in str(error):
            raise
        for series, points in list(snapshot.points.items()):
            kept = before.get(series)
            if kept is None:
                del snapshot.points[series]
            else:
                del points.values[kept:], points.steps[kept:], points.timestamps[kept:]
        connection.text_factory = lenient_text
        _append_rows(connection.execute(query, args), snapshot)


def _append_rows(cursor: sqlite3.Cursor, snapshot: Snapshot) -> None:
    # Points come in rowid order, and MLflow writes a batch's points of one series together: take each
    # stretch of rows of one series at once (groupby and zip run in C), and go row by row only for a
    # stretch holding an odd value (a NaN is NULL here).
    points = snapshot.points
    for series, group in groupby(cursor, key=itemgetter(0)):
        rows = list(group)
        found = points.get(series)
        if found is None:
            if not isinstance(series, str) or SERIES not in series:
                snapshot.bad_points += len(rows)
                continue
            found = points[series] = Points(array("d"), array("q"), array("q"))
        _, values, timestamps, steps = zip(*rows)
        kept = len(found.timestamps)
        try:
            found.values.extend(values)
            found.steps.extend(steps)
            found.timestamps.extend(timestamps)
        except (TypeError, OverflowError):
            del found.values[kept:], found.steps[kept:], found.timestamps[kept:]
            for _, value, timestamp, step in rows:
                try:
                    found.values.append(value)
                    found.steps.append(step)
                    found.timestamps.append(timestamp)
                except (TypeError, OverflowError):  # a NaN (None), or a hand-made row holding text
                    _append_odd(found, value, step, timestamp, snapshot)


def _append_odd(points: Points, value, step, timestamp, snapshot: Snapshot) -> None:
    complete = len(points.timestamps)  # undo what the failed row appended
    del points.values[complete:], points.steps[complete:]
    number: float | None = math.nan if value is None else None
    if number is None and isinstance(value, int | float | str):
        try:
            number = float(value)
        except ValueError:
            number = None
    step, timestamp = _int(step), _int(timestamp)
    if number is None or step is None or timestamp is None:
        snapshot.bad_points += 1
        return
    points.values.append(number)
    points.steps.append(step)
    points.timestamps.append(timestamp)
