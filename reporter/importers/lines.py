"""The lines an import writes, as pure functions: model in, events out, and what the target lacks of them.

Every line is built from the source's data alone (times included), so importing again builds the same
lines. What a run already in the target holds is judged from the run as flowsheet's reader read it
there (`new_events`), so a line counts as present when the reader would show the same thing:
- a metric point is present when the target holds a point of that key with the same step and value
  (counted as a multiset: a point logged twice is wanted twice); its time is not compared, so a format
  that cannot tell when a point was logged does not duplicate it at every import;
- a param when the target has that key (a param has one value; another one is reported, never written);
- a tag when the target's current value of that key is the same (a later tag line replaces the value);
- an `end` line when the target's run has ended the same way (status and time). A run that ended in the
  target and went on in the source (a format that guesses the end from a quiet spell, a run reopened)
  gets a `resume` line, its new lines, and its new `end` if it has one;
- an `artifact` line is written when its file was placed (reporter/importers/copying.py).
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Any, TypeVar

import orjson

from logger import events
from logger.format import (
    ARTIFACT,
    END,
    END_STATUSES,
    EXPERIMENT,
    EXPERIMENT_TAG,
    KIND_FIELD,
    LINE_VERSION,
    METRIC,
    PARAM,
    RESUME,
    START,
    TAG,
    VERSION_FIELD,
)
from logger.model import Experiment, Run

T = TypeVar("T")


def event(kind: str, t: int, **fields: Any) -> dict:
    # Not events.event(): that one stamps a missing (or 0) time with "now", and the lines must be reproducible.
    return {VERSION_FIELD: LINE_VERSION, KIND_FIELD: kind, "t": t, **fields}


def scalar(value: Any) -> Any:
    """A param or tag value as a line holds it: JSON scalars keep their type, NaN and the infinities become
    the format's strings, anything else its text."""
    if isinstance(value, float):
        return events.encode_non_finite(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def json_object(value: Any) -> dict:
    """A `system` object that JSON can hold: odd values become their text, and anything unusable `{}`."""
    if not isinstance(value, dict) or not value:
        return {}
    try:
        return orjson.loads(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))
    except (TypeError, ValueError):  # nested too deeply, or a key orjson cannot turn into text
        return {}


def experiment_events(experiment: Experiment, experiment_id: str) -> tuple[dict, list[dict]]:
    """The `experiment` line and its `experiment_tag` lines."""
    t = experiment.created or 0
    first = event(EXPERIMENT, t, experiment_id=experiment_id, name=experiment.name, artifact_location=None)
    tags = [event(EXPERIMENT_TAG, t, key=key, value=scalar(value)) for key, value in sorted(experiment.tags.items())]
    return first, tags


def run_events(run: Run, experiment_id: str, start_t: int | None = None) -> tuple[dict, list[dict]]:
    """The run's `start` line, and every other line in time order (`end` last).

    `start_t`: the time of the start line the target already holds, which params and tags then take
    (a run that records no start time would otherwise date them by its last event, which moves)."""
    if start_t is None:
        start_t = run.start_time if run.start_time is not None else (run.last_time or 0)
    start = event(START, start_t, run_id=run.run_id, experiment_id=experiment_id, name=str(run.name),
                  parent_run_id=_text(run.parent_run_id), description=_text(run.description),
                  system=json_object(run.system))
    body: list[dict] = []
    body += [event(PARAM, start_t, key=key, value=scalar(value)) for key, value in sorted(run.params.items())]
    body += [event(TAG, start_t, key=key, value=scalar(value)) for key, value in sorted(run.tags.items())]
    for key, history in sorted(run.metrics.items()):
        body += [event(METRIC, t, key=key, value=events.metric_value(value), step=step)
                 for value, step, t in zip(history.values, history.steps, history.timestamps)]
    end_t = run.end_time if run.end_time is not None else (run.last_time or start_t)
    body += [event(ARTIFACT, end_t, path=artifact.path, size=artifact.size) for artifact in run.artifacts]
    body.sort(key=lambda line: line["t"])  # stable: same-time lines keep the order above
    if run.status in END_STATUSES:
        body.append(event(END, end_t, status=run.status))  # last in the file, whatever its time
    return start, body


def check_event(line: dict) -> str | None:
    """Why flowsheet's reader would skip this line, or None when it is fine."""
    if "key" in line:
        try:
            events.check_key(line["key"], f"{line[KIND_FIELD]} key")
        except ValueError as error:
            return str(error)
    if line[KIND_FIELD] in (PARAM, TAG, EXPERIMENT_TAG):
        value = line["value"]
        if len(value if isinstance(value, str) else str(value)) > events.MAX_VALUE_LENGTH:
            return f"{line[KIND_FIELD]} {line['key']!r}: value is longer than {events.MAX_VALUE_LENGTH} characters"
    return None


def missing(have: Iterable[T], wanted: list[T]) -> list[T]:
    """The items of `wanted` that `have` does not hold, as a multiset: an item twice is wanted twice."""
    counts = collections.Counter(have)
    out = []
    for item in wanted:
        if counts[item] > 0:
            counts[item] -= 1
        else:
            out.append(item)
    return out


def missing_lines(existing: bytes, wanted: list[bytes]) -> list[bytes]:
    """The lines of `wanted` that `existing` does not hold yet, as a multiset: a line twice is wanted twice."""
    return missing((line + b"\n" for line in existing.split(b"\n") if line), wanted)


def holds(values: dict, key: str, value: Any) -> bool:
    """Whether `values` (tags as a reader read them) has `key` at `value`, of the same JSON type."""
    if key not in values:
        return False
    held = values[key]
    return type(held) is type(value) and held == value  # True == 1 == 1.0 in Python, not in a log line


def new_events(body: list[dict], target: Run | None) -> tuple[list[dict], list[str]]:
    """The lines of `body` (from `run_events`) that the target's run, as its reader read it, lacks; and the
    params the target holds with another value (kept there, reported)."""
    if target is None:
        return body, []
    points = collections.Counter((key, step, events.metric_value(value)) for key, history in target.metrics.items()
                                 for step, value in zip(history.steps, history.values))
    out: list[dict] = []
    conflicts: list[str] = []
    for line in body:
        kind = line[KIND_FIELD]
        if kind == METRIC:
            point = (line["key"], line["step"], line["value"])
            if points[point] > 0:  # as `missing` does: the first ones are those the target holds
                points[point] -= 1
                continue
        elif kind == PARAM and line["key"] in target.params:
            kept = target.params[line["key"]]
            if str(kept) != str(line["value"]):
                conflicts.append(f"param {line['key']!r} is {kept!r} in the target and {line['value']!r} "
                                 "in the source; the target's is kept")
            continue
        elif kind == TAG and holds(target.tags, line["key"], line["value"]) or kind == END:
            continue
        out.append(line)
    return _ending(out, body[-1] if body and body[-1][KIND_FIELD] == END else None, target), conflicts


def _ending(out: list[dict], end: dict | None, target: Run) -> list[dict]:
    """`out` with the lines that make the target's run end as the source's does: an `end` where the target
    has none; where the target's run ended otherwise (it went on logging since), or the source's run goes on,
    a `resume` first (its time: that of the first new line)."""
    ended = target.status in END_STATUSES
    if end is not None and ended and (target.status, target.end_time) == (end["status"], end["t"]):
        return out  # ended the same way
    if end is None and not ended:
        return out
    if ended:
        first = out[0]["t"] if out else end["t"] if end is not None else target.last_time or 0
        out = [event(RESUME, first, system={}), *out]
    return out + ([end] if end is not None else [])
