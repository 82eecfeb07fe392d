"""Ray Tune trial folders: one run each, its `result.json` followed by the bytes appended since last time.

Ray Tune (ray/tune/logger/json.py, JsonLoggerCallback; field names in ray/tune/result.py and
ray/air/constants.py) writes per trial, under `<storage>/<experiment>/<trainable>_<trial id>_<n>_<vars>_<date>/`:

    params.json   the trial's config (json.dump, indent 2, sorted keys): params, nested keys joined with
                  "/" as Ray names them itself (`config/model/layers` in its tables), lists as compact JSON.
    result.json   one JSON object a line, appended once per reported result (Python's json: NaN and
                  Infinity may appear, and are read). Each line:
                  - `training_iteration` is the step, `timestamp` (seconds) the time;
                  - every other number, nested objects flattened with "/", is a metric at that step
                    (the user's metrics and Ray's `time_total_s`, `time_this_iter_s`, `time_since_restore`...);
                  - `trial_id`, `experiment_tag`, `experiment_id`, `hostname`, `node_ip`, `pid`: tags (last value);
                  - `done`: the status; `config` (a copy of params.json, read if that file is not), `date`
                    (the timestamp again, as text), `checkpoint_dir_name` and other text or booleans: left out.
    error.txt     written when the trial fails (ray/tune/experiment/trial.py, handle_error).
    the rest      progress.csv, event files, params.pkl, checkpoint_*/: listed as artifacts, never opened.

The status is FINISHED when the last result says `done: true` (a stopper or scheduler ended the trial;
a function trainable that simply returns writes no such line); FAILED when error.txt records a failure
no earlier than the last result (a failure Ray retried is followed by more results; the two dates,
Ray's date_str text, survive a copy where file times do not, which are compared only without them);
else it is left to the time of the last write. The run is named `<trainable>_<trial id>`, the folder
name cut after the trial id; it joins the experiment of the experiment folder (whose
experiment_state-*.json and tuner.pkl are never opened).

A refresh reads only what was appended to result.json; a last line without its newline is left for
the next one, and a file that shrank or was rewritten is read again whole. The trial is looked at again
when result.json, params.json or error.txt change, or an entry is added to or removed from its folder.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from ..foreign import (
    FileProblems,
    Lines,
    Unreadable,
    fits_int64,
    flatten,
    list_files,
    number,
    read_whole,
    scalar,
)
from ..line_checks import explain, type_name
from ..logtree import Claim, Listing
from ..model import MetricHistory, Problem, Run
from ..parsing_plain import lenient_loads
from ..safepath import open_inside
from . import Changes, register
from .units import UNKNOWN_END, UnitRead, UnitSource, file_stamp, run_id_for

RESULT_FILE = "result.json"
PARAMS_FILE = "params.json"
ERROR_FILE = "error.txt"
STEP_FIELD = "training_iteration"
TIME_FIELD = "timestamp"
DONE_FIELD = "done"
CONFIG_FIELD = "config"
TOTAL_TIME_FIELD = "time_total_s"
TRIAL_ID_FIELD = "trial_id"
DATE_FIELD = "date"
DATE_TEXT = re.compile(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d")  # Ray's date_str()
FAILURE_DATE = re.compile(r"^Failure # \d+ \(occurred at (\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d)\)", re.MULTILINE)
TAG_FIELDS = (TRIAL_ID_FIELD, "experiment_tag", "experiment_id", "hostname", "node_ip", "pid")
NOT_METRICS = frozenset({STEP_FIELD, TIME_FIELD, DONE_FIELD, CONFIG_FIELD, DATE_FIELD, *TAG_FIELDS})
TAIL = 64  # bytes before the offset compared on the next read, to notice a file rewritten in place


@register
class RayTuneSource(UnitSource):
    name = "raytune"
    label = "Ray Tune"
    order = 5  # before the sources of the files Ray writes beside (event files, JSONL): a trial is one run

    @classmethod
    def claim(cls, listing: Listing) -> Claim | None:
        if RESULT_FILE in listing.regular and PARAMS_FILE in listing.regular:
            return Claim([listing.path], owns=True)
        return None

    def __init__(self, root: Path, running_window: float):
        super().__init__(root, running_window)
        self._trials: dict[Path, _Trial] = {}

    def refresh(self, now: float, units: list[Path]) -> Changes:
        for gone in set(self._trials) - set(units):
            del self._trials[gone]
        return super().refresh(now, units)

    def stamp(self, unit: Path) -> tuple:
        try:
            names = tuple(sorted(os.listdir(unit)))
        except OSError:
            names = ()
        return (names, *(file_stamp(unit / name) for name in (RESULT_FILE, PARAMS_FILE, ERROR_FILE)))

    def read_unit(self, unit: Path) -> UnitRead:
        rel = self.rel(unit)
        root_real = os.path.realpath(self.root)
        trial = self._trials.get(unit)
        if trial is None:
            trial = self._trials[unit] = _Trial(run_id_for(self.name, rel), unit, f"{rel}/{RESULT_FILE}".lstrip("/"))
        problems = trial.follow(self.root, root_real)
        run = trial.run
        params, params_problems = _params(unit / PARAMS_FILE, self.root, root_real, rel)
        run.params = params if params is not None else trial.config_params()
        run.name = _trial_name(unit.name, run.tags.get(TRIAL_ID_FIELD))
        run.status, run.end_time = trial.ending(self.root, root_real)
        run.artifacts, notes = list_files(unit, lambda name: name not in (RESULT_FILE, PARAMS_FILE))
        listing = [Problem(f"{rel}/{path}".strip("/") or ".", None, reason) for path, reason in notes]
        return UnitRead(runs=[run], problems=problems + params_problems + listing)


class _Trial:
    """One trial's result.json as followed so far: where its last complete line ended, and the run built."""

    def __init__(self, run_id: str, folder: Path, rel: str):
        self.run_id = run_id
        self.folder = folder
        self.rel = rel
        self.identity: tuple[int, int] | None = None
        self._start()

    def _start(self) -> None:
        self.offset = 0
        self.lineno = 0
        self.tail = b""
        self.problems = FileProblems(self.rel)
        self.read_error: Problem | None = None
        self.done = False
        self.results = 0
        self.last_date = ""  # the last result's `date`
        self.step = 0
        self.first_total: float | None = None
        self.config: dict | None = None
        self.result_mtime_ns = 0
        self.run = Run(run_id=self.run_id, experiment_id="", name=self.folder.name, path=str(self.folder),
                       status=UNKNOWN_END, artifacts_dir=str(self.folder), source=RayTuneSource.name)

    def follow(self, root: Path, root_real: str) -> list[Problem]:
        """Read what was appended (all of it when the file is new, shorter, or rewritten); the problems so far."""
        try:
            with open_inside(self.folder / RESULT_FILE, root, root_real) as file:
                self._read(file)
            self.read_error = None
        except OSError as error:
            self.read_error = Problem(self.rel, None, f"cannot read: {error.strerror or error}")
        return self.problems.all() + ([self.read_error] if self.read_error else [])

    def _read(self, file) -> None:
        info = os.fstat(file.fileno())
        rewritten = (info.st_dev, info.st_ino) != self.identity or info.st_size < self.offset
        if not rewritten and self.tail:
            file.seek(self.offset - len(self.tail))
            rewritten = file.read(len(self.tail)) != self.tail
        if rewritten:
            self._start()
            self.identity = (info.st_dev, info.st_ino)
        self.result_mtime_ns = info.st_mtime_ns
        file.seek(self.offset)
        lines = Lines(file, self.lineno)
        for lineno, line in lines:
            self._feed(lineno, line)
        self.offset, self.lineno = lines.offset, lines.lineno
        file.seek(max(0, self.offset - TAIL))
        self.tail = file.read(self.offset - max(0, self.offset - TAIL))

    def _feed(self, lineno: int, line: bytes | None) -> None:
        if line is None:
            self.problems.add(lineno, "line too long: skipped")
            return
        if not line.strip():
            return
        try:
            result = lenient_loads(line)
        except ValueError as error:
            self.problems.add(lineno, explain(line, error))
            return
        if not isinstance(result, dict):
            self.problems.add(lineno, f"not a JSON object (a {type_name(result)})")
            return
        step = result.get(STEP_FIELD)
        if type(step) is float and step.is_integer():
            step = int(step)
        self.step = step if type(step) is int and fits_int64(step) else self.step + 1
        time_ms = _ms(result.get(TIME_FIELD))
        run = self.run
        if time_ms:
            run.last_time = time_ms
            if run.start_time is None:
                total = number(result.get(TOTAL_TIME_FIELD))
                before = int(total * 1000) if total is not None and 0 <= total < 1e9 else 0
                run.start_time = time_ms - before  # the trial ran `time_total_s` before its first result
        self.done = result.get(DONE_FIELD) is True
        self.results += 1
        date = result.get(DATE_FIELD)
        self.last_date = date if isinstance(date, str) and DATE_TEXT.fullmatch(date) else ""
        for field in TAG_FIELDS:
            if result.get(field) is not None:
                try:
                    run.tags[field] = scalar(result[field])
                except ValueError as error:
                    self.problems.add(lineno, f"{field!r} {error}: left out")
        if isinstance(result.get(CONFIG_FIELD), dict):
            self.config = result[CONFIG_FIELD]
        values, notes = flatten({key: value for key, value in result.items() if key not in NOT_METRICS}, "/",
                                numbers_only=True)
        for note in notes:
            self.problems.add(lineno, note)
        for key, value in values.items():
            point = number(value)
            if point is None:  # an integer past the doubles
                continue
            history = run.metrics.get(key)
            if history is None:
                history = run.metrics[key] = MetricHistory(key)
            history.append(point, self.step, time_ms)

    def config_params(self) -> dict:
        """The params from the last result's `config`, for a trial whose params.json cannot be read."""
        return flatten(self.config, "/")[0] if self.config else {}

    def ending(self, root: Path, root_real: str) -> tuple[str, int | None]:
        """The status as the files tell it, and the end time when they tell one."""
        if self.done:
            return "FINISHED", self.run.last_time
        failure = _last_failure(self.folder / ERROR_FILE, root, root_real)
        if failure is None:
            return UNKNOWN_END, None
        failed_at, mtime_ns = failure
        if not self.results:
            return "FAILED", mtime_ns // 1_000_000
        # Both dates are Ray's date_str ("%Y-%m-%d_%H-%M-%S"), which sorts as text and, unlike file
        # times, survives a copy; without them, the file times.
        by_dates = bool(failed_at and self.last_date)
        failed = failed_at >= self.last_date if by_dates else mtime_ns >= self.result_mtime_ns
        return ("FAILED", self.run.last_time) if failed else (UNKNOWN_END, None)


def _last_failure(path: Path, root: Path, root_real: str) -> tuple[str, int] | None:
    """The date of the last failure error.txt records ("" when none is legible) and its time; None without one."""
    try:
        mtime_ns = os.lstat(path).st_mtime_ns
    except OSError:
        return None
    try:
        text = read_whole(path, root, root_real).decode("utf-8", "replace")
    except (OSError, Unreadable):
        text = ""
    dates = FAILURE_DATE.findall(text)
    return (dates[-1] if dates else ""), mtime_ns


def _ms(seconds: Any) -> int:
    """Ray's `timestamp` (whole seconds since the epoch) in ms; 0 when it is not a time."""
    value = number(seconds)
    if value is None or not math.isfinite(value):
        return 0
    ms = int(round(value * 1000))
    return ms if fits_int64(ms) else 0


def _trial_name(folder: str, trial_id: Any) -> str:
    """`<trainable>_<trial id>`: the folder name cut after the trial id, or whole when it is not in it."""
    if isinstance(trial_id, str) and trial_id:
        at = folder.find(f"_{trial_id}")
        if at > 0:
            return folder[: at + 1 + len(trial_id)]
    return folder


def _params(path: Path, root: Path, root_real: str, rel: str) -> tuple[dict | None, list[Problem]]:
    """params.json flattened, or None (with the reason) when it cannot be read."""
    where = f"{rel}/{PARAMS_FILE}".lstrip("/")
    try:
        data = read_whole(path, root, root_real)
        if not data.strip():
            return None, []  # being rewritten (Ray opens it with "w"): the config of the results for now
        config = json.loads(data)
    except Unreadable as error:
        return None, [Problem(where, None, str(error))]
    except OSError as error:
        return None, [Problem(where, None, f"cannot read: {error.strerror or error}")]
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        return None, [Problem(where, None, f"not JSON: {reason}")]
    if not isinstance(config, dict):
        return None, [Problem(where, None, "not a JSON object")]
    flat, notes = flatten(config, "/")
    return flat, [Problem(where, None, note) for note in notes]
