"""Lines parsed by groups, and runs of `metrics` lines cut into columns: the cheap part of `RunParser.feed`
(logger/parsing.py). A run of `metrics` lines (one a step, version 2) is read a whole column per key at
once; a column the arrays refuse, and the parser reads those lines one by one instead, which is what
reports each bad line. (Version 1 `metric` lines read as columns measured no faster than the line loop.)
"""

from __future__ import annotations

import orjson

from .format import KIND_FIELD, METRICS, POINTS_FIELD, STEP_FIELD

GROUP = 256

_UNPARSED = object()  # stands for a line orjson refused; subscripting it fails into the slow path


def parse_groups(lines: list[bytes]):
    """Yield (lines, parsed records, the kind of the group's middle record) by groups: one `orjson.loads`
    of a JSON array of 256 lines is cheaper than 256 calls. A group with a bad line (or whose array does
    not have one item per line) is parsed line by line, bad lines giving `_UNPARSED`, and its kind is None.
    The middle line is a constant-cost guess at what the group holds: whether to look for columns."""
    loads = orjson.loads
    for start in range(0, len(lines), GROUP):
        group = lines[start:start + GROUP]
        try:
            records = loads(b"[" + b",".join(group) + b"]")
            if len(records) == len(group):
                middle = records[len(records) // 2] if records else None
                yield group, records, middle.get(KIND_FIELD) if type(middle) is dict else None
                continue
        except orjson.JSONDecodeError:
            pass
        records = []
        for line in group:
            try:
                records.append(loads(line))
            except orjson.JSONDecodeError:
                records.append(_UNPARSED)
        yield group, records, None


def metrics_runs(group: list[bytes], records: list):
    """A group cut into (lines, records, columns) in order: each run of two or more `metrics` lines with
    integer steps and times and the same keys in the same order (what log_metrics writes at every step)
    with its points as columns (keys, steps, times, rows of values); the lines between runs with None."""
    size, start, at = len(records), 0, 0
    while at < size:
        keys = _keys(records[at])
        end = at + 1
        if keys is not None:
            while end < size and _keys(records[end]) == keys:
                end += 1
        if end - at < 2:
            at = end
            continue
        if start < at:
            yield group[start:at], records[start:at], None
        run = records[at:end]
        yield group[at:end], run, (keys, [r[STEP_FIELD] for r in run], [r["t"] for r in run],
                                   [tuple(r[POINTS_FIELD].values()) for r in run])
        start = at = end
    if start < size:
        yield group[start:], records[start:], None


def _keys(record) -> tuple | None:
    """The keys of a `metrics` line whose step, time and map have the right types, else None."""
    if type(record) is not dict or record.get(KIND_FIELD) != METRICS:
        return None
    points = record.get(POINTS_FIELD)
    if type(record.get("t")) is not int or type(record.get(STEP_FIELD)) is not int or type(points) is not dict:
        return None
    return tuple(points)
