"""The checks every parser of log lines applies, and the reason a skipped line is given.

Shared by logger/parsing.py (run and experiment files) and logger/parsing_plain.py (plain logs), so
that one line is judged the same whatever reads it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from .format import MAX_KEY_LENGTH, MAX_VALUE_LENGTH, METRIC, NON_FINITE

_SPECIAL = NON_FINITE
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TYPE_WORDS = {int: "an integer", str: "a string", dict: "an object", float: "a number", bool: "a boolean"}


class Skip(Exception):
    """A line is not usable; the message is the reason users see."""


# ---------------------------------------------------------------- checks shared by the parsers


def type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def need(record: dict, name: str, *types: type, nullable: bool = False) -> Any:
    if name not in record:
        raise Skip(f"{record['kind']}: missing field {name!r}")
    value = record[name]
    if value is None and nullable:
        return None
    if type(value) not in types:
        wanted = " or ".join(_TYPE_WORDS.get(t, t.__name__) for t in types)
        raise Skip(f"{record['kind']}: {name!r} must be {wanted}{' or null' if nullable else ''}, "
                    f"got {type_name(value)} {short(value)}")
    return value


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_key(record: dict) -> str:
    key = need(record, "key", str)
    if not key:
        raise Skip(f"{record['kind']}: empty key")
    if len(key) > MAX_KEY_LENGTH:
        raise Skip(f"{record['kind']}: key {key[:40]!r}... is longer than {MAX_KEY_LENGTH} characters")
    if _CONTROL.search(key):
        raise Skip(f"{record['kind']}: key {key!r} contains a control character")
    return key


def check_value(record: dict) -> Any:
    if "value" not in record:
        raise Skip(f"{record['kind']}: missing field 'value'")
    value = record["value"]
    if isinstance(value, (dict, list)):
        # The logger writes scalars only (anything else as its text); a hand-written object or array
        # becomes its JSON text here, so that everything downstream sees one kind of value.
        try:
            value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        except (RecursionError, ValueError):
            raise Skip(f"{record['kind']}: value of {record.get('key')!r} is nested too deeply") from None
    if len(value if isinstance(value, str) else str(value)) > MAX_VALUE_LENGTH:
        raise Skip(f"{record['kind']}: value of {record.get('key')!r} is longer than {MAX_VALUE_LENGTH} characters")
    return value


def explain(line: bytes, error: Exception) -> str:
    """Why a line was skipped. Runs only for bad lines, so the hot path needs no checks of its own."""
    if isinstance(error, Skip):
        return str(error)
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as decode_error:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return "invalid UTF-8"
        return f"malformed JSON ({decode_error})"
    if not isinstance(record, dict):
        return f"not a JSON object (a {type_name(record)})"
    if "kind" not in record:
        return "no 'kind' field"
    if not isinstance(record["kind"], str):
        return "'kind' is not a string"
    if record["kind"] == METRIC:
        try:
            check_key(record)
            need(record, "t", int)
            need(record, "step", int)
            value = record.get("value", None)
            if "value" not in record:
                raise Skip("metric: missing field 'value'")
            if type(value) not in (int, float) and (type(value) is not str or value not in _SPECIAL):
                raise Skip(f"metric: 'value' must be a number or \"NaN\", \"Infinity\", \"-Infinity\", "
                            f"got {type_name(value)} {short(value)}")
        except Skip as reason:
            return str(reason)
    if isinstance(error, OverflowError):
        return "number out of range (steps and times are 64-bit integers)"
    return f"unusable line ({type(error).__name__}: {error})"
