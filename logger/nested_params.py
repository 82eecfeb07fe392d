"""Params from the nested config files other tools write (Lightning's hparams.yaml, a model's config.json).

The model keeps params as scalars: a nested mapping becomes one param per scalar, its keys joined
with "." (`optimizer.lr`), and a list becomes its compact JSON text, as the reader does for a JSON
value in a flowsheet log. The input is untrusted: YAML aliases can make a small file stand for a huge
tree, so both the number of params and the length of every text are bounded while they are made,
never after.
"""

from __future__ import annotations

import json
from typing import Any

from .format import MAX_KEY_LENGTH, MAX_VALUE_LENGTH

MAX_PARAMS = 1000  # per file: more are left out, and that is said once
MAX_DEPTH = 32
MAX_VISITS = 100_000  # entries looked at per file, params or not: aliases may repeat one mapping many times
SCALARS = (str, int, float, bool, type(None))


class _Overflow(Exception):
    pass


def compact_json(value: Any, limit: int = MAX_VALUE_LENGTH) -> str | None:
    """`value` as compact JSON text (no spaces; other types as their `str`), or None when that would be
    longer than `limit` characters or nest deeper than MAX_DEPTH. Stops as soon as the limit is passed."""
    parts: list[str] = []
    size = 0

    def put(text: str) -> None:
        nonlocal size
        size += len(text)
        if size > limit:
            raise _Overflow
        parts.append(text)

    def write(item: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise _Overflow
        if isinstance(item, dict):
            put("{")
            for index, (key, inner) in enumerate(item.items()):
                put("," if index else "")
                write(str(key), depth + 1)
                put(":")
                write(inner, depth + 1)
            put("}")
        elif isinstance(item, (list, tuple, set, frozenset)):
            put("[")
            for index, inner in enumerate(item):
                put("," if index else "")
                write(inner, depth + 1)
            put("]")
        elif isinstance(item, str):
            if len(item) > limit:
                raise _Overflow
            put(json.dumps(item, ensure_ascii=False))
        elif isinstance(item, SCALARS):
            put(json.dumps(item))
        else:  # a YAML date or timestamp, bytes from !!binary
            write(str(item), depth)

    try:
        write(value, 0)
    except (_Overflow, ValueError):  # ValueError: an int too long to write as text
        return None
    return "".join(parts)


def flatten_params(mapping: dict, params: dict[str, Any], prefix: str = "") -> list[str]:
    """Put the scalars of `mapping` into `params` ("a.b" for nested keys; the first of two equal names
    wins), lists as compact JSON text. Returns why values were left out (too long, too many, too deep)."""
    skipped: list[str] = []
    stack: list[tuple[str, dict, int]] = [(prefix, mapping, 0)]
    visits = 0
    while stack:
        path, inner, depth = stack.pop()
        nested = []
        for key, value in inner.items():
            visits += 1
            if visits > MAX_VISITS:
                skipped.append(f"more than {MAX_VISITS} entries; the rest are left out")
                return skipped
            name = f"{path}{key}"
            if len(name) > MAX_KEY_LENGTH:
                skipped.append(f"param {name[:40]!r}... has a name longer than {MAX_KEY_LENGTH} characters; left out")
                continue
            if isinstance(value, dict):
                if depth + 1 >= MAX_DEPTH:
                    skipped.append(f"param {name!r} nests deeper than {MAX_DEPTH} levels; left out")
                else:
                    nested.append((f"{name}.", value, depth + 1))
                continue
            if isinstance(value, SCALARS):
                text = value
            elif isinstance(value, (list, tuple, set, frozenset)):
                text = compact_json(value)
            else:  # a YAML date or timestamp, bytes from !!binary
                text = str(value)
            if text is None and value is not None or isinstance(text, str) and len(text) > MAX_VALUE_LENGTH:
                skipped.append(f"param {name!r} is longer than {MAX_VALUE_LENGTH} characters; left out")
                continue
            if len(params) >= MAX_PARAMS and name not in params:
                skipped.append(f"more than {MAX_PARAMS} params; the rest are left out")
                return skipped
            params.setdefault(name, text)
        stack.extend(reversed(nested))  # depth first, in the file's order
    return skipped
