"""Building log lines: key and value rules and the JSON encoding (the names and limits are logger/format.py's).

Everything here is pure: values in, bytes out. See docs/FORMAT.md.
"""

from __future__ import annotations

import math
import numbers
import re
import time
from collections.abc import Iterable
from typing import Any

import orjson

from .exceptions import InvalidParameterValue, InvalidValueType
from .format import (
    INF,
    KIND_FIELD,
    LINE_VERSION,
    MAX_KEY_LENGTH,
    MAX_VALUE_LENGTH,
    METRICS,
    METRICS_VERSION,
    NAN,
    NEG_INF,
    POINTS_FIELD,
    STEP_FIELD,
    VERSION_FIELD,
)
from .format import NON_FINITE as _NON_FINITE

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_dumps = orjson.dumps
_NEWLINE = orjson.OPT_APPEND_NEWLINE


def now_ms() -> int:
    return int(time.time() * 1000)


def encode(event: dict) -> bytes:
    """One event as one line, newline included."""
    return _dumps(event, option=_NEWLINE)


def event(kind: str, **fields: Any) -> dict:
    return {VERSION_FIELD: LINE_VERSION, KIND_FIELD: kind, "t": fields.pop("t", None) or now_ms(), **fields}


def points_line(metrics: dict, step: int, t: int, known: set[str]) -> bytes:
    """The `metrics` line of one call: every key and value checked first, so a bad one raises and writes
    nothing; `known` holds the keys checked before (added to here once all passed)."""
    values = metrics if type(metrics) is dict else dict(metrics)
    for key, value in metrics.items():
        if key not in known:
            check_key(key, "metric key")
        kind = type(value)
        if kind is not int and (kind is not float or value - value != 0.0):  # NaN, ±Inf and non-floats
            if values is metrics:
                values = dict(metrics)  # the caller's dict stays as it was
            values[key] = metric_value(value)
    known.update(values)
    return _dumps({VERSION_FIELD: METRICS_VERSION, KIND_FIELD: METRICS, "t": t, STEP_FIELD: step,
                   POINTS_FIELD: values}, option=_NEWLINE)


def batch_lines(points: Iterable[tuple[Any, Any, Any, Any]], now: int, known: set[str]) -> bytes:
    """(key, value, step, timestamp) points as `metrics` lines, one per run of consecutive points with the
    same step and time (a key met again starts a new line: a line's map holds a key once); all checked
    before any line is returned. A missing step is 0, a missing timestamp `now`."""
    lines: list[bytes] = []
    group: dict = {}
    step, t = 0, 0
    for key, value, point_step, timestamp in points:
        at = (0 if point_step is None else int(point_step), now if timestamp is None else int(timestamp))
        if group and (at != (step, t) or key in group):
            lines.append(points_line(group, step, t, known))
            group = {}
        group[key], (step, t) = value, at
    if group:
        lines.append(points_line(group, step, t, known))
    return b"".join(lines)


def check_key(key: Any, what: str = "key") -> str:
    if not isinstance(key, str) or not key:
        raise InvalidParameterValue(f"{what} must be a non-empty string, got {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidParameterValue(f"{what} {key[:40]!r}... is {len(key)} characters long; "
                                    f"the limit is {MAX_KEY_LENGTH}")
    if _CONTROL.search(key):
        raise InvalidParameterValue(f"{what} {key!r} contains a control character")
    return key


def encode_non_finite(value: float) -> float | str:
    if value != value:
        return NAN
    if value == math.inf:
        return INF
    if value == -math.inf:
        return NEG_INF
    return value


def decode_number(value: Any) -> float:
    """The inverse of the metric encoding: a number, or one of the three special strings."""
    if isinstance(value, str):
        return _NON_FINITE[value]
    return value


def metric_value(value: Any) -> int | float | str:
    """A metric value ready for JSON; bool, str and other objects raise InvalidValueType (a TypeError)."""
    kind = type(value)
    if kind is float:
        # x - x is 0.0 for every finite x, NaN for NaN and the infinities.
        return value if value - value == 0.0 else encode_non_finite(value)
    if kind is int:
        return value
    if isinstance(value, (bool, str, bytes)) or type(value).__name__ in ("bool_", "bool"):
        raise InvalidValueType(f"metric value must be a number, got {type(value).__name__} {value!r}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) or (hasattr(value, "__float__") and getattr(value, "shape", ()) == ()):
        try:
            return metric_value(float(value))
        except (TypeError, ValueError):
            pass
    raise InvalidValueType(f"metric value must be a number, got {type(value).__name__} {value!r}")


def plain_value(value: Any, what: str) -> Any:
    """A param or tag value: JSON scalars keep their type, numpy scalars become Python ones, anything else str()."""
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        value = value.item()
    if isinstance(value, float):
        value = encode_non_finite(value)
    elif value is not None and not isinstance(value, (str, int, bool)):
        value = str(value)
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_VALUE_LENGTH:
        raise InvalidParameterValue(f"{what} value is {len(text)} characters long; the limit is {MAX_VALUE_LENGTH}")
    return value
