"""Reading a log directory back into `logger.model.LogData`: tolerant, incremental, streaming.

    reader = LogReader("runs")
    changes = reader.refresh()      # first call: reads everything
    ...                             # the logger appends lines
    changes = reader.refresh()      # reads only the new bytes of the files that grew

What it promises (docs/FORMAT.md is the format):
- It never writes under the log directory.
- Nothing in the files makes it raise: a bad line is skipped and recorded as a `Problem` (file, line,
  reason) in `data.problems`, and the rest of the file is still read. A last line without its `\\n` is
  not read until the newline arrives. Only a missing log directory raises (FileNotFoundError /
  NotADirectoryError).
- Files are read in 1 MiB chunks from the offset of the last complete line; a file that shrank or
  was replaced (other inode, or the bytes before the offset changed) is read again whole.
- Any other `*.jsonl` whose first line is a flat JSON object is a "plain" metric log: a run of its own.

Deliberate choices where the format leaves room:
- The `start` line must come first. A run file whose first event is something else is read anyway
  (its id and experiment come from the folders) and that is reported once; a later `start` line is
  skipped and reported.
- The `v` field is not checked (later versions add fields and kinds, which are handled).
- A run belongs to the experiment of the folder it lies in, whatever its start line says.
- Symlinked folders are not followed while looking for logs; symlinked artifacts are listed only if
  they resolve inside the log directory.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from logger.model import Artifact, Experiment, LogData, MetricHistory, Problem, Run

CHUNK = 1 << 20
TAIL = 64  # bytes before the offset remembered to notice a file rewritten in place
RUN_FILE = "run.jsonl"
EXPERIMENT_FILE = "experiment.jsonl"
NOTES_FILE = "notes.md"
ARTIFACTS_DIR = "artifacts"
PLAIN_EXPERIMENT = "plain"
END_STATUSES = ("FINISHED", "FAILED", "KILLED")
MAX_KEY_LENGTH = 250
MAX_VALUE_LENGTH = 6000
STEP_FIELDS = ("step", "global_step", "iteration", "iter", "epoch")
TIME_FIELDS = ("timestamp", "time")
RUN_NAME_TAG = "mlflow.runName"
NOTE_TAG = "mlflow.note.content"
PARENT_TAG = "mlflow.parentRunId"

_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NO_TIME = -(1 << 63)
_TYPE_WORDS = {int: "an integer", str: "a string", dict: "an object", float: "a number", bool: "a boolean"}


class LogProblemWarning(UserWarning):
    """A line or file the reader skipped; the message is `file:line: reason`."""


@dataclass
class Changes:
    """What one `refresh()` found. `experiments` includes the experiments of added, changed or removed runs."""

    experiments: set[str] = field(default_factory=set)
    runs: set[str] = field(default_factory=set)  # added or changed (status included)
    removed_runs: set[str] = field(default_factory=set)
    removed_experiments: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)  # found by this refresh, not reported before
    everything: bool = False  # the first read

    def __bool__(self) -> bool:
        return bool(self.everything or self.experiments or self.runs or self.removed_runs
                    or self.removed_experiments or self.problems)


class _Skip(Exception):
    """A line is not usable; the message is the reason users see."""


# ---------------------------------------------------------------- checks shared by the parsers


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _need(record: dict, name: str, *types: type, nullable: bool = False) -> Any:
    if name not in record:
        raise _Skip(f"{record['kind']}: missing field {name!r}")
    value = record[name]
    if value is None and nullable:
        return None
    if type(value) not in types:
        wanted = " or ".join(_TYPE_WORDS.get(t, t.__name__) for t in types)
        raise _Skip(f"{record['kind']}: {name!r} must be {wanted}{' or null' if nullable else ''}, "
                    f"got {_type_name(value)} {_short(value)}")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_key(record: dict) -> str:
    key = _need(record, "key", str)
    if not key:
        raise _Skip(f"{record['kind']}: empty key")
    if len(key) > MAX_KEY_LENGTH:
        raise _Skip(f"{record['kind']}: key {key[:40]!r}... is longer than {MAX_KEY_LENGTH} characters")
    if _CONTROL.search(key):
        raise _Skip(f"{record['kind']}: key {key!r} contains a control character")
    return key


def _check_value(record: dict) -> Any:
    if "value" not in record:
        raise _Skip(f"{record['kind']}: missing field 'value'")
    value = record["value"]
    if len(value if isinstance(value, str) else str(value)) > MAX_VALUE_LENGTH:
        raise _Skip(f"{record['kind']}: value of {record.get('key')!r} is longer than {MAX_VALUE_LENGTH} characters")
    return value


def _explain(line: bytes, error: Exception) -> str:
    """Why a line was skipped. Runs only for bad lines, so the hot path needs no checks of its own."""
    if isinstance(error, _Skip):
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
        return f"not a JSON object (a {_type_name(record)})"
    if "kind" not in record:
        return "no 'kind' field"
    if not isinstance(record["kind"], str):
        return "'kind' is not a string"
    if record["kind"] == "metric":
        try:
            _check_key(record)
            _need(record, "t", int)
            _need(record, "step", int)
            value = record.get("value", None)
            if "value" not in record:
                raise _Skip("metric: missing field 'value'")
            if type(value) not in (int, float) and (type(value) is not str or value not in _SPECIAL):
                raise _Skip(f"metric: 'value' must be a number or \"NaN\", \"Infinity\", \"-Infinity\", "
                            f"got {_type_name(value)} {_short(value)}")
        except _Skip as reason:
            return str(reason)
    if isinstance(error, OverflowError):
        return "number out of range (steps and times are 64-bit integers)"
    return f"unusable line ({type(error).__name__}: {error})"


# ---------------------------------------------------------------- parsers: lines in, model out


class _Parser:
    """What the lines of one file built so far. `feed` takes complete lines, without their `\\n`."""

    def __init__(self, rel: str):
        self.rel = rel
        self.lineno = 0
        self.problems: list[Problem] = []

    def problem(self, line: int | None, reason: str) -> None:
        self.problems.append(Problem(self.rel, line, reason))


class _RunParser(_Parser):
    """A run.jsonl. Metric lines take the inlined fast path in `feed`; other kinds go to `_on_<kind>`."""

    def __init__(self, rel: str, folder: Path):
        super().__init__(rel)
        self.run = Run(run_id=folder.name, experiment_id=folder.parent.name, name=folder.name,
                       path=str(folder), status="UNFINISHED")
        self.appenders: dict[str, tuple] = {}
        self.end_status: str | None = None
        self.other_last = _NO_TIME
        self.decided = False  # whether the first usable line was seen (start or not)
        self.started = False
        self.named_by_tag = False
        self.start_experiment_id: str | None = None
        self.handlers = {"param": self._on_param, "tag": self._on_tag, "start": self._on_start,
                         "end": self._on_end, "resume": self._on_resume, "artifact": self._on_artifact}

    def feed(self, lines: list[bytes]) -> None:
        run = self.run
        if not self.decided:
            self._first_lines(lines)
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
                    if record["kind"] == "metric":
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
                            raise _Skip(f"unknown kind {kind!r}" if isinstance(kind, str) else "'kind' is not a string")
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
                        self.problem(lineno, _explain(line, slow_error))
        self.lineno = lineno
        self.other_last = last
        # The last event's time: the latest of the other lines and of each metric's last point, so it
        # does not depend on how the file was cut into reads.
        for history in run.metrics.values():
            if len(history) and history.timestamps[-1] > last:
                last = history.timestamps[-1]
        run.last_time = None if last == _NO_TIME else last
        if run.start_time is None and run.metrics:  # no start line, and metrics came first
            run.start_time = min((h.timestamps[0] for h in run.metrics.values() if len(h)), default=None)

    def _first_lines(self, lines: list[bytes]) -> None:
        """Find the first usable line: a start line, or else the run has none (reported once)."""
        for index, line in enumerate(lines):
            try:
                record = orjson.loads(line)
                kind = record["kind"]
            except Exception:
                continue  # the main loop reports it
            self.decided = True
            if kind != "start":
                self.problem(self.lineno + index + 1, "the run has no start line before this one: "
                             "its id and experiment come from the folder names")
            return  # the main loop reads every line, including this one

    def _new_metric(self, record: dict) -> tuple:
        key = _check_key(record)
        history = self.run.metrics[key] = MetricHistory(key)
        add = self.appenders[key] = (history.steps.append, history.timestamps.append, history.values.append)
        return add

    def _slow_line(self, line: bytes, error: Exception) -> int:
        """A line the hot path refused: a metric with "NaN"/"Infinity" is fine; anything else raises why."""
        if isinstance(error, _Skip):
            raise error
        record = orjson.loads(line)
        if type(record) is not dict or record.get("kind") != "metric":
            raise error
        key = _check_key(record)
        history = self.run.metrics.get(key)
        if history is not None:  # undo the part of the point the hot path appended before failing
            size = min(len(history.steps), len(history.values), len(history.timestamps))
            del history.steps[size:], history.values[size:], history.timestamps[size:]
        t = _need(record, "t", int)
        step = _need(record, "step", int)
        if "value" not in record:
            raise _Skip("metric: missing field 'value'")
        value = record["value"]
        if type(value) is str and value in _SPECIAL:
            value = _SPECIAL[value]
        elif type(value) not in (int, float):
            raise _Skip(f"metric: 'value' must be a number or \"NaN\", \"Infinity\", \"-Infinity\", "
                        f"got {_type_name(value)} {_short(value)}")
        if not (-(1 << 63) <= step < (1 << 63) and -(1 << 63) <= t < (1 << 63)):
            raise _Skip("metric: step or t out of range (64-bit integers)")
        try:
            value = float(value)
        except OverflowError:
            raise _Skip(f"metric: value {_short(value)} is out of range") from None
        if history is None:
            self._new_metric(record)
            history = self.run.metrics[key]
        history.append(value, step, t)
        return t

    def _time(self, record: dict) -> int:
        t = _need(record, "t", int)
        if self.run.start_time is None:
            self.run.start_time = t  # a run without a start line starts at its first event
        return t

    def _on_start(self, record: dict) -> int:
        if self.started:
            raise _Skip("duplicate start line")
        run = self.run
        if run.start_time is not None or run.metrics or run.params or run.tags:
            raise _Skip("start line after other events")
        t = _need(record, "t", int)
        run_id = _need(record, "run_id", str, nullable=True)
        experiment_id = _need(record, "experiment_id", str, nullable=True)
        name = _need(record, "name", str, nullable=True)
        parent = _need(record, "parent_run_id", str, nullable=True) if "parent_run_id" in record else None
        description = _need(record, "description", str, nullable=True) if "description" in record else None
        system = _need(record, "system", dict, nullable=True) if "system" in record else None
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
        key = _check_key(record)
        value = _check_value(record)
        t = self._time(record)
        params = self.run.params
        if key in params and str(params[key]) != str(value):
            raise _Skip(f"param {key!r} logged again with another value ({_short(value)}); "
                        f"keeping the first ({_short(params[key])})")
        params.setdefault(key, value)
        return t

    def _on_tag(self, record: dict) -> int:
        key = _check_key(record)
        value = _check_value(record)
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
        status = _need(record, "status", str)
        if status not in END_STATUSES:
            raise _Skip(f"end: status must be one of {', '.join(END_STATUSES)}, got {_short(status)}")
        t = self._time(record)
        self.end_status = status
        self.run.end_time = t
        return t

    def _on_resume(self, record: dict) -> int:
        system = _need(record, "system", dict, nullable=True) if "system" in record else None
        t = self._time(record)
        self.end_status = None
        self.run.end_time = None
        if system and not self.run.system:
            self.run.system = system
        return t

    def _on_artifact(self, record: dict) -> int:
        # The artifacts themselves come from the folder; the line only has to be well formed.
        _need(record, "path", str)
        _need(record, "size", int)
        return self._time(record)


class _ExperimentParser(_Parser):
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
                if kind == "experiment_tag":
                    key = _check_key(record)
                    _need(record, "t", int)
                    experiment.tags[key] = _check_value(record)
                elif kind == "experiment":
                    t = _need(record, "t", int)
                    experiment_id = _need(record, "experiment_id", str, nullable=True)
                    name = _need(record, "name", str)
                    location = _need(record, "artifact_location", str, nullable=True) \
                        if "artifact_location" in record else None
                    if not self.seen:  # the first experiment line counts (FORMAT.md)
                        self.seen = True
                        experiment.experiment_id = experiment_id or experiment.experiment_id
                        experiment.name = name or experiment.name
                        experiment.artifact_location = location
                        experiment.created = t
                else:
                    raise _Skip(f"unknown kind {kind!r} in {EXPERIMENT_FILE}" if isinstance(kind, str)
                                else "'kind' is not a string")
            except Exception as error:
                if line.strip():
                    self.problem(self.lineno, _explain(line, error))


GROUP = 256
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


def _lenient_loads(line: bytes) -> Any:
    """Training scripts often write Python's NaN/Infinity (not JSON): accept them in plain logs."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def _plain_time(value: Any) -> int | None:
    """Seconds or milliseconds since the epoch, or an ISO 8601 string, as integer ms."""
    if type(value) in (int, float) and math.isfinite(value):
        return int(round(value * 1000 if abs(value) < 1e11 else value))
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return int(moment.timestamp() * 1000)
    return None


def is_plain_record(record: Any) -> bool:
    """A flat JSON object that is not a flowsheet event: the first line that makes a plain log."""
    return (isinstance(record, dict) and not ("kind" in record and "v" in record)
            and all(not isinstance(value, (dict, list)) for value in record.values()))


class _PlainParser(_Parser):
    """A flat-object JSONL log: numeric fields are metrics (see FORMAT.md, "Plain metric logs")."""

    def __init__(self, rel: str, path: Path, run_id: str):
        super().__init__(rel)
        self.run = Run(run_id=run_id, experiment_id="", name=path.name[: -len(".jsonl")] or path.name,
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
                record = _lenient_loads(line)
            except ValueError as error:
                self.problem(self.lineno, _explain(line, error))
                continue
            if not isinstance(record, dict):
                self.problem(self.lineno, f"not a JSON object (a {_type_name(record)})")
                continue
            step = self.lineno - 1
            step_field = next((name for name in STEP_FIELDS if name in record), None)
            if step_field is not None:
                raw = record[step_field]
                if type(raw) is float and raw.is_integer():
                    raw = int(raw)
                if type(raw) is not int or not -(1 << 63) <= raw < (1 << 63):
                    self.problem(self.lineno, f"{step_field!r} must be an integer, got {_short(raw)}")
                    continue
                step = raw
            stamp = None
            for name in TIME_FIELDS:
                if name in record:
                    stamp = _plain_time(record[name])
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


def _plain_run_id(rel: str) -> str:
    return "plain-" + hashlib.sha256(rel.encode("utf-8")).hexdigest()[:16]


def _plain_experiment_id(rel_folder: str) -> str:
    return "plain-" + hashlib.sha256(("folder:" + rel_folder).encode("utf-8")).hexdigest()[:8]


# ---------------------------------------------------------------- files: offsets, chunks, rewrites


class _TrackedFile:
    """One file being followed: where the last complete line ended, and the parser of its lines."""

    def __init__(self, path: Path, rel: str, role: str):
        self.path = path
        self.rel = rel
        self.role = role  # "run", "experiment" or "jsonl" (plain if its first line says so)
        self.parser: _Parser | None = None
        self.identity: tuple[int, int] | None = None
        self.offset = 0
        self.tail = b""
        self.seen_size = -1
        self.mtime_ns = 0
        self.plain = False  # for "jsonl": decided plain
        self.error: Problem | None = None  # the file could not be read at all

    def _new_parser(self, first_line: bytes | None) -> _Parser | None:
        if self.role == "run":
            return _RunParser(self.rel, self.path.parent)
        if self.role == "experiment":
            return _ExperimentParser(self.rel, self.path.parent)
        try:
            record = _lenient_loads(first_line) if first_line is not None else None
        except ValueError:
            record = None
        self.plain = is_plain_record(record)
        return _PlainParser(self.rel, self.path, _plain_run_id(self.rel)) if self.plain else None

    def update(self) -> bool:
        """Read what was appended since last time (or all of it again). True when anything changed."""
        try:
            info = os.stat(self.path)
        except OSError:
            return False  # gone: the tree scan drops it
        if (info.st_size == self.seen_size and info.st_mtime_ns == self.mtime_ns
                and (info.st_dev, info.st_ino) == self.identity):
            return False
        try:
            with open(self.path, "rb") as file:
                return self._read(file)
        except OSError as error:
            problem = Problem(self.rel, None, f"cannot read: {error.strerror or error}")
            changed = problem != self.error
            self.error = problem
            return changed

    def _read(self, file) -> bool:
        info = os.fstat(file.fileno())
        whole = ((info.st_dev, info.st_ino) != self.identity or info.st_size < self.offset
                 or (self.role != "jsonl" or self.plain) and self.parser is None)
        if not whole and self.tail:
            file.seek(self.offset - len(self.tail))
            whole = file.read(len(self.tail)) != self.tail  # rewritten in place
        if whole:
            self.offset, self.tail, self.plain = 0, b"", False
            self.parser = self._new_parser(None) if self.role != "jsonl" else None
            file.seek(0)
        self.identity = (info.st_dev, info.st_ino)
        self.mtime_ns = info.st_mtime_ns
        self.error = None
        start_offset = self.offset
        pending = b""
        decided = self.parser is not None or (self.role == "jsonl" and self.offset > 0)
        while True:
            chunk = file.read(CHUNK)
            if not chunk:
                break
            if pending:
                chunk = pending + chunk
            end = chunk.rfind(b"\n")
            if end < 0:
                pending = chunk
                continue
            lines = chunk[:end].split(b"\n")
            pending = chunk[end + 1:]
            if not decided:
                decided = True
                self.parser = self._new_parser(lines[0])
            if self.parser is not None:
                self.parser.feed(lines)
            self.offset += end + 1
            self.tail = (self.tail + chunk[max(0, end + 1 - TAIL): end + 1])[-TAIL:]
        self.seen_size = self.offset + len(pending)
        return whole or self.offset != start_offset


def _list_artifacts(folder: Path, root_real: str) -> list[Artifact]:
    """Files under a run's artifacts/ folder; symlinks only when they resolve inside the log dir."""
    found: list[Artifact] = []
    stack = [(str(folder), "")]
    visited: set[str] = set()  # real paths of symlinked folders followed, against loops
    while stack:
        directory, prefix = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue  # the logger's half-written `.name.tmp` files
            rel = prefix + entry.name
            try:
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if not target.startswith(root_real + os.sep) or target in visited:
                        continue
                    if entry.is_dir():
                        visited.add(target)
                if entry.is_dir():
                    stack.append((entry.path, rel + "/"))
                elif entry.is_file():
                    found.append(Artifact(rel, entry.stat().st_size))
            except OSError:
                continue
    found.sort(key=lambda artifact: artifact.path)
    return found


def _check_dir(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"log directory not found: {path}")
    if not path.is_dir():
        raise NotADirectoryError(f"log directory is not a directory: {path}")


# ---------------------------------------------------------------- the reader


class LogReader:
    """Follows one log directory; `refresh()` brings `data` up to date and says what changed."""

    def __init__(self, log_dir: str | os.PathLike, running_window: float = 600.0):
        self.root = Path(log_dir).expanduser().absolute()
        _check_dir(self.root)
        self.running_window = running_window
        self.data = LogData()
        self._files: dict[str, _TrackedFile] = {}
        self._notes: dict[str, tuple[int, int, str | None]] = {}  # experiment folder -> (mtime, size, text)
        self._artifacts: dict[str, list[Artifact]] = {}  # what the last refresh saw, to tell changes
        self._statuses: dict[str, str] = {}
        self._refreshed = False

    def refresh(self, now: float | None = None) -> Changes:
        """Read what changed since the last call. `now` (seconds since the epoch) decides RUNNING vs UNFINISHED."""
        _check_dir(self.root)
        now = time.time() if now is None else now
        first = not self._refreshed
        found, notes, run_folders = self._scan()
        for rel in list(self._files):
            if rel not in found:
                del self._files[rel]
        changed_files = set()
        for rel, role in found.items():
            tracked = self._files.get(rel)
            if tracked is None:
                tracked = self._files[rel] = _TrackedFile(self.root / rel, rel, role)
            if tracked.update():
                changed_files.add(rel)
        changes = self._assemble(now, changed_files, notes, run_folders)
        changes.everything = first
        self._refreshed = True
        return changes

    # --- finding the files ---------------------------------------------------------------------

    def _scan(self) -> tuple[dict[str, str], dict[str, str], set[str]]:
        """Walk the tree: log files (rel path -> role), notes (experiment folder -> rel path), run folders."""
        found: dict[str, str] = {}
        notes: dict[str, str] = {}
        run_folders: set[str] = set()
        stack = [""]
        while stack:
            rel_dir = stack.pop()
            directory = self.root / rel_dir if rel_dir else self.root
            try:
                entries = list(os.scandir(directory))
            except OSError:
                continue
            prefix = rel_dir + "/" if rel_dir else ""
            is_run = any(entry.name == RUN_FILE for entry in entries)
            if is_run:
                run_folders.add(rel_dir)
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if not (is_run and name == ARTIFACTS_DIR):
                            stack.append(prefix + name)
                    elif entry.is_file(follow_symlinks=False):
                        if name.endswith(".jsonl"):
                            found[prefix + name] = ("run" if name == RUN_FILE else
                                                    "experiment" if name == EXPERIMENT_FILE else "jsonl")
                        elif name == NOTES_FILE:
                            notes[rel_dir] = prefix + name
                except OSError:
                    continue
        return found, notes, run_folders

    # --- putting the model together ------------------------------------------------------------

    def _assemble(self, now: float, changed_files: set[str], notes: dict[str, str], run_folders: set[str]) -> Changes:
        old = self.data
        problems: list[Problem] = []
        experiments: dict[str, Experiment] = {}
        folder_ids: dict[str, str] = {}  # experiment folder (rel) -> experiment id
        changed_experiments: set[str] = set()

        def parent_of(rel: str) -> str:
            return rel.rpartition("/")[0]

        # Experiment folders: those with an experiment.jsonl, and those holding runs.
        exp_files = {parent_of(rel): t for rel, t in self._files.items() if t.role == "experiment"}
        folders = sorted(set(exp_files) | {parent_of(rel) for rel in run_folders})
        for folder in folders:
            tracked = exp_files.get(folder)
            path = self.root / folder if folder else self.root
            if tracked is not None and tracked.parser is not None:
                experiment = tracked.parser.experiment
            else:
                experiment = Experiment(experiment_id=path.name, name=path.name, path=str(path))
            if experiment.experiment_id in experiments:
                problems.append(Problem(tracked.rel if tracked else folder, None,
                                        f"experiment id {experiment.experiment_id!r} is used by another folder "
                                        f"({experiments[experiment.experiment_id].path}); skipped"))
                continue
            experiments[experiment.experiment_id] = experiment
            folder_ids[folder] = experiment.experiment_id
            if tracked is not None and tracked.rel in changed_files:
                changed_experiments.add(experiment.experiment_id)
            self._read_notes(folder, notes.get(folder), experiment, changed_experiments)

        # Runs, logger's and plain, in path order so that the first of two same ids wins.
        runs: dict[str, Run] = {}
        changed_runs: set[str] = set()
        root_real = os.path.realpath(self.root)
        now_ms = now * 1000.0
        window_ms = self.running_window * 1000.0
        for rel in sorted(self._files):
            tracked = self._files[rel]
            if tracked.error is not None:
                problems.append(tracked.error)
            parser = tracked.parser
            if parser is None:
                continue
            problems.extend(parser.problems)
            if tracked.role == "experiment":
                continue
            run = parser.run
            folder = parent_of(rel)
            if tracked.role == "run":
                experiment_folder = parent_of(folder) if folder else ""
                experiment_id = folder_ids.get(experiment_folder)
                if experiment_id is None:
                    continue  # its experiment folder lost a same-id contest, already reported
                run.experiment_id = experiment_id
                if parser.start_experiment_id and parser.start_experiment_id != experiment_id:
                    problems.append(Problem(rel, None, f"start line names experiment {parser.start_experiment_id!r} "
                                                       f"but the run lies in experiment {experiment_id!r}'s folder"))
                if parser.end_status is not None:
                    run.status = parser.end_status
                else:
                    last = run.last_time if run.last_time is not None else tracked.mtime_ns // 1_000_000
                    run.status = "RUNNING" if last >= now_ms - window_ms else "UNFINISHED"
                artifacts = _list_artifacts(self.root / folder / ARTIFACTS_DIR if folder
                                            else self.root / ARTIFACTS_DIR, root_real)
            else:
                experiment_id = folder_ids.get(folder)
                if experiment_id is None:
                    experiment_id = _plain_experiment_id(folder)
                    if experiment_id not in experiments:
                        path = self.root / folder if folder else self.root
                        experiments[experiment_id] = Experiment(
                            experiment_id, path.name if folder else PLAIN_EXPERIMENT, str(path))
                run.experiment_id = experiment_id
                modified = tracked.mtime_ns // 1_000_000
                run.last_time = max(modified, parser.last_point_time or _NO_TIME)
                run.status = "RUNNING" if run.last_time >= now_ms - window_ms else "FINISHED"
                run.start_time = parser.first_time
                run.end_time = None if run.status == "RUNNING" else parser.last_point_time
                artifacts = []
            if run.run_id in runs:
                problems.append(Problem(rel, None, f"run id {run.run_id!r} is used by another run "
                                                   f"({runs[run.run_id].path}); skipped"))
                continue
            previous = old.runs.get(run.run_id)
            if (rel in changed_files or previous is not run or self._statuses.get(run.run_id) != run.status
                    or self._artifacts.get(run.run_id) != artifacts):
                changed_runs.add(run.run_id)
            run.artifacts = artifacts
            self._artifacts[run.run_id] = artifacts
            self._statuses[run.run_id] = run.status
            runs[run.run_id] = run

        for run_id in list(self._artifacts):
            if run_id not in runs:
                del self._artifacts[run_id], self._statuses[run_id]
        removed_runs = set(old.runs) - set(runs)
        removed_experiments = set(old.experiments) - set(experiments)
        changed_experiments |= set(experiments) - set(old.experiments)
        changed_experiments |= {runs[r].experiment_id for r in changed_runs}
        changed_experiments |= {old.runs[r].experiment_id for r in removed_runs} - removed_experiments
        changed_experiments &= set(experiments)

        problems.sort(key=lambda p: (p.file, -1 if p.line is None else p.line, p.reason))
        known = set(old.problems)
        new_problems = [p for p in problems if p not in known]
        self.data = LogData(experiments=experiments, runs=runs, problems=problems)
        return Changes(experiments=changed_experiments, runs=changed_runs, removed_runs=removed_runs,
                       removed_experiments=removed_experiments, problems=new_problems)

    def _read_notes(self, folder: str, rel: str | None, experiment: Experiment, changed: set[str]) -> None:
        if rel is None:
            if self._notes.pop(folder, None) is not None:
                changed.add(experiment.experiment_id)
            experiment.notes = None
            return
        path = self.root / rel
        try:
            info = os.stat(path)
            cached = self._notes.get(folder)
            if cached is None or cached[:2] != (info.st_mtime_ns, info.st_size):
                text = path.read_bytes().decode("utf-8", errors="replace")
                self._notes[folder] = (info.st_mtime_ns, info.st_size, text)
                changed.add(experiment.experiment_id)
            experiment.notes = self._notes[folder][2]
        except OSError:
            experiment.notes = None


def read_logs(log_dir: str | os.PathLike, running_window: float = 600.0) -> LogData:
    """Read a whole log directory once."""
    reader = LogReader(log_dir, running_window)
    reader.refresh()
    return reader.data
