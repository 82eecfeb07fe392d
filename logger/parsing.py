"""Lines in, model out: the parsers behind `logger.reader`, one per kind of file.

Each parser takes complete lines (bytes, without their newline) and builds a `Run` or an
`Experiment` as it goes, so that appended lines can be fed later. A bad line never raises: it is
recorded as a `Problem` with its line number and the reason, and the next line is read.
"""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import TypeVar

import orjson

from .format import (
    ARTIFACT,
    DELETED,
    END,
    EXPERIMENT,
    EXPERIMENT_FILE,
    EXPERIMENT_TAG,
    INPUT,
    KIND_FIELD,
    METRIC,
    METRICS,
    NON_FINITE,
    PARAM,
    POINTS_FIELD,
    RESTORED,
    RESUME,
    START,
    STEP_FIELD,
    TAG,
)
from .line_checks import Skip, check_key, check_value, explain, need, short, type_name
from .model import Experiment, MetricHistory, Problem, Run
from .parsing_groups import metrics_runs, parse_groups
from .parsing_kinds import NO_TIME, RunEvents

_SPECIAL = NON_FINITE
LOWEST, HIGHEST = -(1 << 63), (1 << 63) - 1  # steps and times are 64-bit integers


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


class RunParser(RunEvents, Parser):
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
        self.bad_points: list[str] = []  # why points of the `metrics` line being read were skipped
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
        metric_kind = METRIC  # a local: read for every line
        lineno = self.lineno
        last = self.other_last  # latest time of a non-metric line; metrics' come from their arrays below
        # The hot path checks nothing itself: the arrays refuse a step or time that is not an integer
        # and a value that is not a number, and `_slow_line` sorts out what was refused.
        for whole, parsed, kind in parse_groups(lines):
            if kind == METRIC and self._add_metric_lines(parsed):
                lineno += len(parsed)
                continue
            for group, records, columns in metrics_runs(whole, parsed) if kind == METRICS else ((whole, parsed, None),):
                if columns is not None and self._add_columns(*columns):
                    lineno += len(records)
                    continue
                base = lineno
                for lineno, record in enumerate(records, base + 1):  # cheaper than counting in Python
                    try:
                        if record["kind"] == metric_kind:
                            add = get(record["key"])
                            if add is None:
                                add = self._new_metric(record)
                            add_step, add_time, add_value = add
                            add_step(record["step"])
                            add_time(record["t"])
                            add_value(record["value"])
                        elif record["kind"] == METRICS:
                            # Step and time are checked once for the line; then a point fails, if at all,
                            # on its key or its value, before anything of it is appended.
                            t, step, points = record["t"], record[STEP_FIELD], record[POINTS_FIELD]
                            if type(t) is not int or type(step) is not int or type(points) is not dict or \
                                    not (LOWEST <= t <= HIGHEST and LOWEST <= step <= HIGHEST):
                                raise Skip(_bad_head(record))
                            for key, value in points.items():
                                try:
                                    add_step, add_time, add_value = get(key) or self._new_point_key(key)
                                    add_value(value)
                                except Exception as error:
                                    if not self._odd_point(key, value, error):
                                        continue
                                add_step(step)
                                add_time(t)
                            if self.bad_points:
                                self._report_points(lineno)
                        else:
                            handler = handlers.get(record["kind"])
                            if handler is None:
                                kind = record["kind"]
                                raise Skip(f"unknown kind {kind!r}" if isinstance(kind, str)
                                           else "'kind' is not a string")
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
                lineno = base + len(records)
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
        return self._new_key(check_key(record))

    def _add_columns(self, keys: tuple, steps: list, times: list, rows: list) -> bool:
        """A group of `metrics` lines with the same keys (see `metrics_runs`), a whole column per key at once:
        the arrays check every value as the line-by-line path does. False, with nothing kept, if any point
        is not usable: the caller then reads the group line by line, to report it."""
        metrics, made, sizes = self.run.metrics, [], []
        try:
            for key in keys:
                if key not in metrics:
                    self._new_point_key(key)
                    made.append(key)
                sizes.append(len(metrics[key]))
            step_column, time_column = array("q", steps), array("q", times)  # 64-bit, or OverflowError
            for key, column in zip(keys, zip(*rows)):
                history = metrics[key]
                history.values.fromlist(list(column))  # all or nothing: a value that is no number raises
                history.steps.extend(step_column)  # array to array: a copy in C
                history.timestamps.extend(time_column)
            return True
        except Exception:
            for key, size in zip(keys, sizes):
                history = metrics[key]
                del history.steps[size:], history.values[size:], history.timestamps[size:]
            for key in made:
                del metrics[key], self.appenders[key]
            return False

    def _add_metric_lines(self, records: list) -> bool:
        """A group of version 1 `metric` lines and nothing else: the points go to lists first (a list's
        append is a third of an array's, which converts), then to the arrays a column at a time, which
        check each item as `append` does. False, with nothing kept, if any line is anything else or any
        point is refused: the caller then reads the group line by line, to report it."""
        metrics = self.run.metrics
        lists: dict[str, tuple[list, list, list]] = {}
        sizes: dict[str, int | None] = {}  # the keys this group touched: their length before it, None if new
        adders: dict[str, tuple] = {}
        get = adders.get
        metric_kind = METRIC  # a local: read for every line
        try:
            for record in records:
                if record["kind"] != metric_kind:
                    return self._undo(sizes)
                key = record["key"]
                add = get(key)
                if add is None:
                    history = metrics.get(key)
                    sizes[key] = None if history is None else len(history)
                    if history is None:
                        self._new_metric(record)  # checks the key (a Skip is undone below)
                    steps, times, values = lists[key] = ([], [], [])
                    add = adders[key] = (steps.append, times.append, values.append)
                add_step, add_time, add_value = add
                add_step(record["step"])
                add_time(record["t"])
                add_value(record["value"])
            for key, (steps, times, values) in lists.items():
                history = metrics[key]
                history.steps.fromlist(steps)
                history.timestamps.fromlist(times)
                history.values.fromlist(values)
            return True
        except Exception:
            return self._undo(sizes)

    def _undo(self, sizes: dict[str, int | None]) -> bool:
        """Put the metrics `_add_metric_lines` touched back as they were (False, for it to return)."""
        for key, size in sizes.items():
            if size is None:
                self.run.metrics.pop(key, None)
                self.appenders.pop(key, None)
            else:
                history = self.run.metrics[key]
                del history.steps[size:], history.values[size:], history.timestamps[size:]
        return False

    def _new_point_key(self, key: str) -> tuple:
        return self._new_key(check_key({KIND_FIELD: METRICS, "key": key}))

    def _new_key(self, key: str) -> tuple:
        history = self.run.metrics[key] = MetricHistory(key)
        add = self.appenders[key] = (history.steps.append, history.timestamps.append, history.values.append)
        return add

    def _odd_point(self, key, value, error: Exception) -> bool:
        """A point of a `metrics` line the hot path refused: True with its value appended when it is one of
        the NaN/Infinity strings, else False with the reason kept (a line's bad points make one problem)."""
        if not isinstance(error, Skip):
            try:
                self.appenders[key][2](_SPECIAL[value] if type(value) is str else _number(value))
                return True
            except (KeyError, Skip):
                error = Skip(f"metrics: {key!r}: value must be a number or \"NaN\", \"Infinity\", \"-Infinity\", "
                             f"got {type_name(value)} {short(value)}")
            except OverflowError:
                error = Skip(f"metrics: {key!r}: value {short(value)} is out of range")
        self.bad_points.append(str(error))
        history = self.run.metrics.get(key)
        if history is not None and not len(history):  # made for this point: a key with no point is no metric
            del self.run.metrics[key], self.appenders[key]
        return False

    def _report_points(self, lineno: int) -> None:
        bad, self.bad_points = self.bad_points, []
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        self.problem(lineno, f"{len(bad)} point(s) of the line skipped, the others read: {bad[0]}{more}")

    def _slow_line(self, line: bytes, error: Exception) -> int:
        """A line the hot path refused: a metric with "NaN"/"Infinity" is fine; anything else raises why."""
        if isinstance(error, Skip):
            raise error
        record = orjson.loads(line)
        if type(record) is dict and record.get("kind") == METRICS:
            raise Skip(_bad_head(record))  # a point's own trouble never comes here
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


class ExperimentParser(Parser):
    def __init__(self, rel: str, folder: Path):
        super().__init__(rel)
        self.experiment = Experiment(experiment_id=folder.name, name=folder.name, path=str(folder))
        self.seen = False
        self.tag_times: dict[str, int] = {}  # when each tag was last set: pieces of several writers merge by it

    def feed(self, lines: list[bytes]) -> None:
        experiment = self.experiment
        for line in lines:
            self.lineno += 1
            try:
                record = orjson.loads(line)
                kind = record["kind"]
                if kind == EXPERIMENT_TAG:
                    key = check_key(record)
                    t = need(record, "t", int)
                    experiment.tags[key] = check_value(record)
                    self.tag_times[key] = t
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


def _number(value) -> float:
    """A value the 'd' array refused that is still a number: only an int beyond the doubles (raises)."""
    if type(value) is not int:
        raise Skip("not a number")
    return float(value)


def _bad_head(record: dict) -> str:
    """Why a `metrics` line's step, time or points are unusable (the whole line is skipped)."""
    try:
        need(record, "t", int)
        need(record, STEP_FIELD, int)
        need(record, POINTS_FIELD, dict)
    except Skip as reason:
        return str(reason)
    return "metrics: step or t out of range (64-bit integers)"
