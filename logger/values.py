"""Param, tag and metric values as text and as numbers, the same rules in Python and in the browser.

`param_text`, the one rule turning a param or tag value into text (as Python's `str()` would):
strings as they are; None -> "None"; booleans -> "True"/"False"; ints -> "3"; floats by Python's
`repr` (0.1 -> "0.1", 1.0 -> "1.0", 1e-05 -> "1e-05", 1e+16 -> "1e+16", nan -> "nan"); lists and
objects as JSON with ", " and ": " separators and numbers written as above. JavaScript follows the
same rule, but once a value has gone through JSON it cannot tell the float 1.0 from the int 1 and
writes "1": so whoever sends rows to the browser should send params and tags as `param_text` strings.

`natural_key` is the order keys are listed in everywhere (table columns, a run's metrics, charts, CSV
headers): `m2` before `m10`, as a person counts.

`reporter/static/filter.js` carries the JavaScript twins (`paramText`, `formatNumber`, `naturalCompare`);
the tests run both over the same values.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from .format import INF, NAN, NEG_INF

NUMERIC_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _number_text(value: int | float) -> str:
    return str(value) if isinstance(value, int) else repr(value)


def _json_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        items = (json.dumps(str(k), ensure_ascii=False) + ": " + _json_text(v) for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_json_text(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def param_text(value: Any) -> str:
    """A param or tag value as the text filters compare (see the module docstring)."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, (dict, list, tuple)):
        return _json_text(value)
    return str(value)


def format_number(value: int | float) -> str:
    """A number as every table shows it, in Python and in the browser (filter.js `formatNumber`).

    The rule: NaN, Infinity and -Infinity by those names (as the site's data and CSV write them); an
    integral value below 1e16 in size as an integer, without ".0" (JSON cannot keep 1.0 apart from 1,
    so the browser could not follow; -0.0 shows as 0); any other value as the shortest text that reads
    back as the same double, in Python's repr form: exponent form outside [1e-4, 1e16) (1e-05, 1e+16,
    1.2345678901234567e+19), so a number reads as `param_text` writes it and a filter can quote it.
    An int is shown as the double nearest it, the number the browser gets from JSON.
    """
    # an int as the double nearest it (what the browser gets from JSON; inf past the doubles); numpy floats too
    number = param_number(value) if type(value) is int else float(value)
    assert number is not None  # param_number reads every int
    if number != number:
        return NAN
    if number in (math.inf, -math.inf):
        return INF if number > 0 else NEG_INF
    if number == int(number) and abs(number) < 1e16:
        return str(int(number))
    return repr(number)


def param_number(value: Any) -> float | None:
    """The value as a number if it is one or a numeric string, else None (booleans are not numbers)."""
    if type(value) in (int, float):
        try:
            return float(value)
        except OverflowError:  # an int beyond float range
            return float("inf") if value > 0 else float("-inf")
    if isinstance(value, str) and NUMERIC_TEXT.fullmatch(value):
        return float(value)
    return None


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """A sort key for keys: runs of digits compare as numbers, the rest without case; the text breaks ties.

    A number is compared by its length without leading zeros, then digit by digit: no int() of a hostile
    5,000-digit key (Python refuses those), and the same answer as a big-integer comparison.
    """
    parts: list[tuple[int, str]] = []
    for index, piece in enumerate(_DIGITS.split(text)):
        if index % 2:  # a run of digits
            significant = piece.lstrip("0")
            parts.append((len(significant), significant))
        else:
            parts.append((0, piece.lower()))  # as JavaScript's toLowerCase (casefold would differ on ß)
    return (parts, text)


def natural_sorted(keys: Iterable[str]) -> list[str]:
    return sorted(keys, key=natural_key)


_LOWER_IS_BETTER = re.compile(r"loss|error|mse|rmse|mae|false_?(?:pos|neg)")


def lower_is_better(key: str) -> bool:
    """Whether a smaller value of metric `key` is better (losses and errors): the site's one rule for "best"."""
    return bool(_LOWER_IS_BETTER.search(key.lower()))
