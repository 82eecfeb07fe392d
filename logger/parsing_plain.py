"""Plain metric logs: any `*.jsonl` whose lines are flat JSON objects (docs/FORMAT.md, "Plain metric logs").

Numeric fields are metrics; a step and a time are taken from the usual field names. Like the other
parsers (logger/parsing.py), a bad line is a `Problem`, never an exception.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from .format import KIND_FIELD, LOG_SUFFIX, MAX_KEY_LENGTH, VERSION_FIELD
from .line_checks import Skip, explain, short, type_name
from .model import MetricHistory, Run
from .parsing import Parser

STEP_FIELDS = ("step", "global_step", "iteration", "iter", "epoch")
TIME_FIELDS = ("timestamp", "time")


def lenient_loads(line: bytes) -> Any:
    """Training scripts often write Python's NaN/Infinity (not JSON): accept them in plain logs."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(line)
    except RecursionError:
        # orjson stops at 1024 levels; json recurses until Python's stack limit and must not take the reader down.
        raise ValueError("JSON nested too deeply") from None


def _plain_time(value: Any) -> int | None:
    """Seconds or milliseconds since the epoch, or an ISO 8601 string, as integer ms; None when it is no time.

    A time the model cannot hold raises `Skip`: a date near year 1 or 9999 overflows when it is turned
    into seconds (a date without a zone is local time), and the model keeps times as 64-bit integers."""
    if type(value) in (int, float) and math.isfinite(value):
        ms = int(round(value * 1000 if abs(value) < 1e11 else value))
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        try:
            ms = int(moment.timestamp() * 1000)
        except (OverflowError, ValueError, OSError):
            raise Skip(f"time {short(value)} is out of range; the line is read without its time") from None
    else:
        return None
    if not -(1 << 63) <= ms < (1 << 63):
        raise Skip(f"time {short(value)} is out of range; the line is read without its time")
    return ms


def is_plain_record(record: Any) -> bool:
    """A flat JSON object that is not a flowsheet event: the first line that makes a plain log."""
    return (isinstance(record, dict) and not (KIND_FIELD in record and VERSION_FIELD in record)
            and all(not isinstance(value, (dict, list)) for value in record.values()))


class PlainParser(Parser):
    """A flat-object JSONL log: numeric fields are metrics (see FORMAT.md, "Plain metric logs")."""

    def __init__(self, rel: str, path: Path, run_id: str):
        super().__init__(rel)
        self.run = Run(run_id=run_id, experiment_id="", name=path.name[: -len(LOG_SUFFIX)] or path.name,
                       path=str(path), status="FINISHED", source="plain")
        self.first_time: int | None = None
        self.last_point_time: int | None = None

    def feed(self, lines: list[bytes]) -> None:
        metrics = self.run.metrics
        for line in lines:
            self.lineno += 1
            if not line.strip():
                continue
            try:
                record = lenient_loads(line)
            except ValueError as error:
                self.problem(self.lineno, explain(line, error))
                continue
            if not isinstance(record, dict):
                self.problem(self.lineno, f"not a JSON object (a {type_name(record)})")
                continue
            step = self.lineno - 1
            step_field = next((name for name in STEP_FIELDS if name in record), None)
            if step_field is not None:
                raw = record[step_field]
                if type(raw) is float and raw.is_integer():
                    raw = int(raw)
                if type(raw) is not int or not -(1 << 63) <= raw < (1 << 63):
                    self.problem(self.lineno, f"{step_field!r} must be an integer, got {short(raw)}")
                    continue
                step = raw
            stamp = None
            for name in TIME_FIELDS:
                if name in record:
                    try:
                        stamp = _plain_time(record[name])
                    except Skip as reason:
                        self.problem(self.lineno, str(reason))
                    break
            if stamp is not None:
                self.first_time = stamp if self.first_time is None else self.first_time
                self.last_point_time = stamp
            for key, value in record.items():
                if (type(value) is float or type(value) is int) and key != step_field and key not in TIME_FIELDS \
                        and key and len(key) <= MAX_KEY_LENGTH:
                    history = metrics.get(key)
                    if history is None:
                        history = metrics[key] = MetricHistory(key)
                    try:
                        history.values.append(value)
                    except OverflowError:
                        continue
                    history.steps.append(step)
                    history.timestamps.append(stamp or 0)


def plain_run_id(rel: str) -> str:
    return "plain-" + hashlib.sha256(rel.encode("utf-8")).hexdigest()[:16]


def plain_experiment_id(rel_folder: str) -> str:
    return "plain-" + hashlib.sha256(("folder:" + rel_folder).encode("utf-8")).hexdigest()[:8]
