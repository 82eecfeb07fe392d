"""Lines in, model out: the parsers behind `logger.reader`, one per kind of file.

Each parser takes complete lines (bytes, without their newline) and builds a `Run` or an
`Experiment` as it goes, so that appended lines can be fed later. A bad line never raises: it is
recorded as a `Problem` with its line number and the reason, and the next line is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import orjson

from .format import (
    ARTIFACT,
    DELETED,
    END,
    END_STATUSES,
    EXPERIMENT,
    EXPERIMENT_FILE,
    EXPERIMENT_TAG,
    INPUT,
    MAX_DATASET_TEXT,
    MAX_VALUE_LENGTH,
    METRIC,
    NON_FINITE,
    NOTE_TAG,
    PARAM,
    PARENT_TAG,
    RESTORED,
    RESUME,
    RUN_NAME_TAG,
    START,
    TAG,
)
from .line_checks import Skip, check_key, check_value, explain, need, short, type_name
from .model import DatasetInput, Experiment, MetricHistory, Problem, Run

GROUP = 256

_SPECIAL = NON_FINITE
NO_TIME = -(1 << 63)


# ---------------------------------------------------------------- parsers: lines in, model out


class Parser:
    """What the lines of one file built so far. `feed` takes complete lines, without their `\\n`."""

    def __init__(self, rel: str):
        self.rel = rel
        self.lineno = 0
        self.problems: list[Problem] = []

    def problem(self, line: int | None, reason: str) -> None:
        self.problems.append(Problem(self.rel, line, reason))

    def feed(self, lines: list[bytes]) -> None:
        raise NotImplementedError


AnyParser = TypeVar("AnyParser", bound=Parser)


class RunParser(Parser):
    """A run.jsonl. Metric lines take the inlined fast path in `feed`; other kinds go to `_on_<kind>`."""

    def __init__(self, rel: str, folder: Path):
        super().__init__(rel)
        self.run = Run(run_id=folder.name, experiment_id=folder.parent.name, name=folder.name,
                       path=str(folder), status="UNFINISHED")
        self.appenders: dict[str, tuple] = {}
        self.end_status: str | None = None
        self.other_last = NO_TIME
        self.decided = False  # whether the first usable line was seen (start or not)
        self.started = False
        self.named_by_tag = False
        self.start_experiment_id: str | None = None
        self.handlers = {PARAM: self._on_param, TAG: self._on_tag, START: self._on_start,
                         END: self._on_end, RESUME: self._on_resume, ARTIFACT: self._on_artifact,
                         DELETED: self._on_deleted, RESTORED: self._on_deleted, INPUT: self._on_input}

    def feed(self, lines: list[bytes]) -> None:
        run = self.run
        if not self.decided:
            self._first_lines(lines)
        # Without a start line the run starts at its earliest event: remember where this read's points begin.
        sizes = None if self.started else {key: len(history) for key, history in run.metrics.items()}
        get = self.appenders.get
        handlers = self.handlers
        lineno = self.lineno
        last = self.other_last  # latest time of a non-metric line; metrics' come from their arrays below
        # The hot path checks nothing itself: the arrays refuse a step or time that is not an integer
        # and a value that is not a number, and `_slow_line` sorts out what was refused.
        for group, records in _parse_groups(lines):
            base = lineno
            for record in records:
                lineno += 1
                try:
                    if record["kind"] == METRIC:
                        add = get(record["key"])
                        if add is None:
                            add = self._new_metric(record)
                        add_step, add_time, add_value = add
                        add_step(record["step"])
                        add_time(record["t"])
                        add_value(record["value"])
                    else:
                        handler = handlers.get(record["kind"])
                        if handler is None:
                            kind = record["kind"]
                            raise Skip(f"unknown kind {kind!r}" if isinstance(kind, str) else "'kind' is not a string")
                        t = handler(record)
                        if t > last:
                            last = t
                except Exception as error:  # any bad line is skipped and reported, never raised
                    line = group[lineno - base - 1]
                    if not line.strip():
                        continue  # a blank line carries nothing
                    try:
                        self._slow_line(line, error)
                    except Exception as slow_error:
                        self.problem(lineno, explain(line, slow_error))
        self.lineno = lineno
        self.other_last = last
        # The last event's time: the latest of the other lines and of each metric's last point, so it
        # does not depend on how the file was cut into reads.
        for history in run.metrics.values():
            if len(history) and history.timestamps[-1] > last:
                last = history.timestamps[-1]
        run.last_time = None if last == NO_TIME else last
        if sizes is not None and not self.started:  # no start line: the earliest time, however the file was cut
            earliest = min((min(h.timestamps[sizes.get(key, 0):]) for key, h in run.metrics.items()
                            if len(h) > sizes.get(key, 0)), default=None)
            if earliest is not None and (run.start_time is None or earliest < run.start_time):
                run.start_time = earliest

    def _first_lines(self, lines: list[bytes]) -> None:
        """Find the first usable line: a start line, or else the run has none (reported once)."""
        for index, line in enumerate(lines):
            try:
                record = orjson.loads(line)
                kind = record["kind"]
            except Exception:
                continue  # the main loop reports it
            self.decided = True
            if kind != START:
                self.problem(self.lineno + index + 1, "the run has no start line before this one: "
                             "its id and experiment come from the folder names")
            return  # the main loop reads every line, including this one

    def _new_metric(self, record: dict) -> tuple:
        key = check_key(record)
        history = self.run.metrics[key] = MetricHistory(key)
        add = self.appenders[key] = (history.steps.append, history.timestamps.append, history.values.append)
        return add

    def _slow_line(self, line: bytes, error: Exception) -> int:
        """A line the hot path refused: a metric with "NaN"/"Infinity" is fine; anything else raises why."""
        if isinstance(error, Skip):
            raise error
        record = orjson.loads(line)
        if type(record) is not dict or record.get("kind") != METRIC:
            raise error
        key = check_key(record)
        history = self.run.metrics.get(key)
        if history is not None:  # undo the part of the point the hot path appended before failing
            size = min(len(history.steps), len(history.values), len(history.timestamps))
            del history.steps[size:], history.values[size:], history.timestamps[size:]
        t = need(record, "t", int)
        step = need(record, "step", int)
        if "value" not in record:
            raise Skip("metric: missing field 'value'")
        value = record["value"]
        if type(value) is str and value in _SPECIAL:
            value = _SPECIAL[value]
        elif type(value) not in (int, float):
            raise Skip(f"metric: 'value' must be a number or \"NaN\", \"Infinity\", \"-Infinity\", "
                        f"got {type_name(value)} {short(value)}")
        if not (-(1 << 63) <= step < (1 << 63) and -(1 << 63) <= t < (1 << 63)):
            raise Skip("metric: step or t out of range (64-bit integers)")
        try:
            value = float(value)
        except OverflowError:
            raise Skip(f"metric: value {short(value)} is out of range") from None
        if history is None:
            self._new_metric(record)
            history = self.run.metrics[key]
        history.append(value, step, t)
        return t

    def _time(self, record: dict) -> int:
        t = need(record, "t", int)
        if not self.started and (self.run.start_time is None or t < self.run.start_time):
            self.run.start_time = t  # a run without a start line starts at its earliest event
        return t

    def _on_start(self, record: dict) -> int:
        if self.started:
            raise Skip("duplicate start line")
        run = self.run
        if run.start_time is not None or run.metrics or run.params or run.tags:
            raise Skip("start line after other events")
        t = need(record, "t", int)
        run_id = need(record, "run_id", str, nullable=True)
        experiment_id = need(record, "experiment_id", str, nullable=True)
        name = need(record, "name", str, nullable=True)
        parent = need(record, "parent_run_id", str, nullable=True) if "parent_run_id" in record else None
        description = need(record, "description", str, nullable=True) if "description" in record else None
        system = need(record, "system", dict, nullable=True) if "system" in record else None
        self.started = True
        if run_id:
            run.run_id = run_id
        if name and not self.named_by_tag:
            run.name = name
        elif not self.named_by_tag:
            run.name = run.run_id
        self.start_experiment_id = experiment_id
        run.parent_run_id = parent or run.parent_run_id
        run.description = description if description is not None else run.description
        run.system = system or {}
        run.start_time = t
        return t

    def _on_param(self, record: dict) -> int:
        key = check_key(record)
        value = check_value(record)
        t = self._time(record)
        params = self.run.params
        if key in params and str(params[key]) != str(value):
            raise Skip(f"param {key!r} logged again with another value ({short(value)}); "
                        f"keeping the first ({short(params[key])})")
        params.setdefault(key, value)
        return t

    def _on_tag(self, record: dict) -> int:
        key = check_key(record)
        value = check_value(record)
        t = self._time(record)
        run = self.run
        run.tags[key] = value
        if key == RUN_NAME_TAG and value is not None:
            run.name = str(value)
            self.named_by_tag = True
        elif key == NOTE_TAG:
            run.description = None if value is None else str(value)
        elif key == PARENT_TAG and value:
            run.parent_run_id = str(value)
        return t

    def _on_end(self, record: dict) -> int:
        status = need(record, "status", str)
        if status not in END_STATUSES:
            raise Skip(f"end: status must be one of {', '.join(END_STATUSES)}, got {short(status)}")
        t = self._time(record)
        self.end_status = status
        self.run.end_time = t
        return t

    def _on_resume(self, record: dict) -> int:
        system = need(record, "system", dict, nullable=True) if "system" in record else None
        t = self._time(record)
        self.end_status = None
        self.run.end_time = None
        if system and not self.run.system:
            self.run.system = system
        return t

    def _on_artifact(self, record: dict) -> int:
        # The artifacts themselves come from the folder; the line only has to be well formed.
        need(record, "path", str)
        need(record, "size", int)
        return self._time(record)

    def _on_deleted(self, record: dict) -> int:
        """`deleted` / `restored`: the last one decides. Not an event of the run's own: its times stay."""
        need(record, "t", int)
        self.run.deleted = record["kind"] == DELETED
        return NO_TIME

    def _on_input(self, record: dict) -> int:
        texts = {name: need(record, name, str, nullable=name in ("schema", "profile"))
                 for name in ("name", "digest", "source_type", "source", "schema", "profile")}
        for name, text in texts.items():
            if text is not None and len(text) > MAX_DATASET_TEXT:
                raise Skip(f"input: {name!r} is longer than {MAX_DATASET_TEXT} characters")
        tags = need(record, "tags", dict) if "tags" in record else {}
        for key, value in tags.items():
            if not key or type(value) is not str or len(key) > MAX_VALUE_LENGTH or len(value) > MAX_VALUE_LENGTH:
                raise Skip(f"input: tag {short(key)} must have a text value of at most {MAX_VALUE_LENGTH} characters")
        t = self._time(record)
        found = DatasetInput(**texts, tags=dict(tags))
        if found not in self.run.inputs:  # the same dataset used the same way is one input, as in MLflow
            self.run.inputs.append(found)
        return t


class ExperimentParser(Parser):
    def __init__(self, rel: str, folder: Path):
        super().__init__(rel)
        self.experiment = Experiment(experiment_id=folder.name, name=folder.name, path=str(folder))
        self.seen = False

    def feed(self, lines: list[bytes]) -> None:
        experiment = self.experiment
        for line in lines:
            self.lineno += 1
            try:
                record = orjson.loads(line)
                kind = record["kind"]
                if kind == EXPERIMENT_TAG:
                    key = check_key(record)
                    need(record, "t", int)
                    experiment.tags[key] = check_value(record)
                elif kind == EXPERIMENT:
                    t = need(record, "t", int)
                    experiment_id = need(record, "experiment_id", str, nullable=True)
                    name = need(record, "name", str)
                    location = need(record, "artifact_location", str, nullable=True) \
                        if "artifact_location" in record else None
                    if not self.seen:  # the first experiment line counts (FORMAT.md)
                        self.seen = True
                        experiment.experiment_id = experiment_id or experiment.experiment_id
                        experiment.name = name or experiment.name
                        experiment.artifact_location = location
                        experiment.created = t
                else:
                    raise Skip(f"unknown kind {kind!r} in {EXPERIMENT_FILE}" if isinstance(kind, str)
                                else "'kind' is not a string")
            except Exception as error:
                if line.strip():
                    self.problem(self.lineno, explain(line, error))


def parse_file(parser: AnyParser, data: bytes) -> AnyParser:
    """Feed a whole file to `parser`: how the logger reads a run or experiment file back (resume, find an
    experiment) with exactly the reader's rules. A torn last line is skipped like any bad line."""
    parser.feed(data.split(b"\n"))
    return parser


_UNPARSED = object()  # stands for a line orjson refused; subscripting it fails into the slow path


def _parse_groups(lines: list[bytes]):
    """Yield (lines, parsed records) by groups: one `orjson.loads` of a JSON array of 256 lines is
    cheaper than 256 calls. A group with a bad line (or whose array does not have one item per line)
    is parsed line by line, bad lines giving `_UNPARSED`."""
    loads = orjson.loads
    for start in range(0, len(lines), GROUP):
        group = lines[start:start + GROUP]
        try:
            records = loads(b"[" + b",".join(group) + b"]")
            if len(records) == len(group):
                yield group, records
                continue
        except orjson.JSONDecodeError:
            pass
        records = []
        for line in group:
            try:
                records.append(loads(line))
            except orjson.JSONDecodeError:
                records.append(_UNPARSED)
        yield group, records
