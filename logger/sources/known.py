"""Runs known from an earlier read, so a new process need not read their unchanged logs again.

`reporter build` keeps, in its build cache, what the reader made of each run file (`export`): the file's
size, time and identity, the run's fields, the parser's findings (end status, problems) and each metric
as a `SummaryHistory` (the points a runs table or summary needs, the count, a digest of every point).
The next build's reader starts from these (`KnownParser` stands in for the file's parser): a file whose
size, time and identity are unchanged is not read at all, and one that changed is read again whole.

The entries are JSON that anyone able to write the site folder could edit, like the site itself; each is
checked field by field (names and types, as the reader makes them), and one that does not check out is
dropped (its file is read). A value edited within its type is taken, as an edited page would be.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from array import array
from typing import Any

import orjson

from ..events import decode_number, encode_non_finite
from ..model import RUN_STATUSES, DatasetInput, MetricHistory, Problem, Run, SummaryColumn, SummaryHistory

# What the entry keeps of a Run's fields: not the ones the reader sets at every refresh (status, experiment,
# the artifacts listed afresh), nor those holding dataclasses (the lists: artifacts, and inputs, kept apart).
_SAMPLE = Run("", "", "", "")
_SET_BY_READER = frozenset({"metrics", "artifacts_dir", "status", "experiment_id"}
                           | {name for name, value in vars(_SAMPLE).items() if isinstance(value, list)})
_FIELDS = tuple(f.name for f in dataclasses.fields(Run) if f.name not in _SET_BY_READER)
_INPUT_FIELDS = tuple(f.name for f in dataclasses.fields(DatasetInput))


class KnownParser:
    """Stands in for a run file's parser, with what that parser had found when the file was last read."""

    def __init__(self, run: Run, end_status: str | None, start_experiment_id: str | None,
                 problems: list[Problem], entry: dict[str, Any]):
        self.run = run
        self.end_status = end_status
        self.start_experiment_id = start_experiment_id
        self.problems = problems
        self.entry = entry  # exported again as it came while the file stays unchanged


def columns_digest(history: MetricHistory) -> str:
    """A digest of every point of a history (a SummaryHistory's is the one of the history it stands for)."""
    if isinstance(history, SummaryHistory):
        return history.digest
    digest = hashlib.sha256()
    for column in (history.steps, history.values, history.timestamps):
        raw = column.tobytes()
        digest.update(f"{column.typecode}{len(raw)}:".encode())
        digest.update(raw)
    return digest.hexdigest()


def summary_points(history: MetricHistory) -> list[int]:
    """Indexes of the points a summary keeps, in logged order: the first, the latest, the smallest and the
    largest finite value; at least two when the history has two, so a curve is still told from one value."""
    values = history.values
    count = len(values)
    if count == 0:
        return []
    keep = {0, history.latest_index()}
    total = sum(values)
    if math.isfinite(total):  # no NaN or infinity: the C-level min and max do
        keep |= {values.index(min(values)), values.index(max(values))}
    else:
        finite = [(value, i) for i, value in enumerate(values) if math.isfinite(value)]
        if finite:
            keep |= {min(finite, key=lambda pair: pair[0])[1], max(finite, key=lambda pair: pair[0])[1]}
    if count > 1 and len(keep) == 1:
        keep.add(count - 1)
    return sorted(keep)


def export_run(parser: Any, file_state: tuple[int, int, int, int]) -> dict[str, Any] | None:
    """The entry of one run file as its parser left it; None when something in it would not come back
    the same from JSON (a value JSON cannot hold)."""
    if isinstance(parser, KnownParser):
        return {**parser.entry, "file": list(file_state)}
    run: Run = parser.run
    fields = {name: getattr(run, name) for name in _FIELDS}
    inputs = [dataclasses.asdict(item) for item in run.inputs]
    metrics = {}
    for key, history in run.metrics.items():
        picked = summary_points(history)
        metrics[key] = {"count": len(history), "digest": columns_digest(history),
                        "steps": [history.steps[i] for i in picked],
                        "values": [encode_non_finite(history.values[i]) for i in picked],
                        "times": [history.timestamps[i] for i in picked]}
    entry = {"fields": fields, "inputs": inputs, "metrics": metrics,
             "end_status": parser.end_status, "start_experiment_id": parser.start_experiment_id,
             "problems": [[p.file, p.line, p.reason] for p in parser.problems],
             "file": list(file_state)}  # last, as a known entry exported again has it
    try:
        if orjson.loads(orjson.dumps(fields)) != fields:  # NaN, a tuple: would not come back the same
            return None
    except (TypeError, ValueError):  # an integer beyond 64 bits
        return None
    return entry


def restore_run(entry: Any, path_of: str) -> KnownParser | None:
    """A KnownParser from an entry, or None when the entry is not one this module wrote for `path_of`
    (the run's folder)."""
    try:
        fields = entry["fields"]
        if set(fields) != set(_FIELDS) or fields["path"] != path_of or not _typed(fields):
            return None
        run = Run(**fields, experiment_id="", status="UNFINISHED")
        run.inputs = [DatasetInput(**{name: item[name] for name in _INPUT_FIELDS}) for item in entry["inputs"]]
        if not all(all(_text_or_none(getattr(item, name)) for name in _INPUT_FIELDS if name != "tags")
                   and _scalars(item.tags) for item in run.inputs):
            return None
        for key, column in entry["metrics"].items():
            steps, values, times = column["steps"], column["values"], column["times"]
            if not (isinstance(key, str) and len(steps) == len(values) == len(times) <= 4
                    and isinstance(column["count"], int) and isinstance(column["digest"], str)):
                return None
            kept_steps = SummaryColumn("q", steps)
            kept_steps.path = run.path  # for PointsNotRead, when something draws this series
            run.metrics[key] = SummaryHistory(key, kept_steps, array("d", map(decode_number, values)),
                                              array("q", times), count=column["count"], digest=column["digest"])
        problems = [Problem(str(file), line if isinstance(line, int) else None, str(reason))
                    for file, line, reason in entry["problems"]]
        end_status, start_experiment_id = entry["end_status"], entry["start_experiment_id"]
        if end_status not in (None, *RUN_STATUSES) or not _text_or_none(start_experiment_id):
            return None
        return KnownParser(run, end_status, start_experiment_id, problems,
                           {name: value for name, value in entry.items() if name != "file"})
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError):
        return None


_SCALARS = (str, int, float, bool, type(None))


def _text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _scalars(values: Any) -> bool:
    return isinstance(values, dict) and all(isinstance(key, str) and isinstance(value, _SCALARS)
                                            for key, value in values.items())


def _typed(fields: dict[str, Any]) -> bool:
    """Whether each field has a type the reader gives it: an edited entry cannot hand a page a list for a
    param or text for a time (what it may still change, like the site itself, is a value)."""
    times = (fields["start_time"], fields["end_time"], fields["last_time"])
    return (isinstance(fields["run_id"], str) and isinstance(fields["name"], str)
            and isinstance(fields["source"], str) and isinstance(fields["deleted"], bool)
            and all(time is None or type(time) is int for time in times)
            and _text_or_none(fields["parent_run_id"]) and _text_or_none(fields["description"])
            and _scalars(fields["params"]) and _scalars(fields["tags"]) and isinstance(fields["system"], dict))


def file_state(entry: Any) -> tuple[int, int, int, int] | None:
    """(size, mtime_ns, device, inode) an entry was exported with, or None."""
    try:
        size, mtime_ns, device, inode = entry["file"]
    except (KeyError, TypeError, ValueError):
        return None
    return (size, mtime_ns, device, inode) if all(type(n) is int for n in (size, mtime_ns, device, inode)) else None
