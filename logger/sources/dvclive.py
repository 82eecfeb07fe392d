"""dvclive folders (`dvclive/` by default): one run each, re-read whole when a file in it changes.

What dvclive 3.x writes there (dvclive/live.py, plots/metric.py), and how it is read:

    metrics.json             the latest value of each metric (`Live.summary`), nested at each "/" of a
                             name, and `step` once steps are used. A metric found only here (logged with
                             plot=False) is one point at that step; a text value is a tag.
    plots/metrics/<name>.tsv one file per metric, sub-folders for "/" in the name; a header, then
                             `[timestamp\t]step\t<value>` rows (a timestamp in ms only when the metric was
                             logged with timestamp=True; without one a point's time is 0, as in plain logs).
                             A text value (dvclive logs strings too) is not a point.
    params.yaml              `log_param(s)`: params, nested mappings flattened with "." (DVC's own way of
                             naming params, as in `dvc exp run -S model.layers=3`), lists as compact JSON.
    anything else            plots/images, plots/sklearn, plots/custom, report.md/.html, static/,
                             artifacts/: listed as the run's artifacts, relative to the dvclive folder.

A folder is taken for dvclive's when it holds `plots/metrics/` with a .tsv (or beside metrics.json or
params.yaml), or when it is named `dvclive` and holds metrics.json or params.yaml. A DVC project's own
params.yaml (or one in any other folder) is not enough: nothing in it says dvclive. So a dvclive
folder renamed with `Live(dir=...)` that has params but no plotted metric yet is not found.

dvclive writes no end of a run (`Live.end()` rewrites the same files; its "done" goes to DVC Studio
only): the status is left to the time of the last write. The run is named after the folder holding
`dvclive/` (the project) when the folder has the default name, else after the folder itself; it joins
the experiment of the folder holding it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

from ..foreign import (
    MAX_LISTED,
    FileProblems,
    Lines,
    Unreadable,
    fits_int64,
    flatten,
    list_files,
    number,
    read_whole,
)
from ..format import MAX_KEY_LENGTH
from ..logtree import Claim, Listing
from ..model import MetricHistory, Problem, Run
from ..safepath import open_inside
from . import register
from .units import UNKNOWN_END, UnitRead, UnitSource, run_id_for

DEFAULT_DIR = "dvclive"
METRICS_FILE = "metrics.json"
PARAMS_FILE = "params.yaml"
PLOTS_DIR = "plots"
METRIC_PLOTS = "metrics"  # plots/metrics/
HISTORY_SUFFIX = ".tsv"
STEP_KEY = "step"


def looks_like_dvclive(listing: Listing) -> bool:
    """Whether a folder is a dvclive folder (see the module docstring). A stat or a listing only when the
    names already fit."""
    summary_or_params = METRICS_FILE in listing.regular or PARAMS_FILE in listing.regular
    if PLOTS_DIR in listing.dirs:
        histories = listing.path / PLOTS_DIR / METRIC_PLOTS
        try:
            if histories.is_dir() and not histories.is_symlink():
                if summary_or_params:
                    return True
                with os.scandir(histories) as entries:
                    return any(entry.name.endswith(HISTORY_SUFFIX) or entry.is_dir(follow_symlinks=False)
                               for entry in entries)
        except OSError:
            return False
    return summary_or_params and listing.path.name == DEFAULT_DIR


@register
class DvcliveSource(UnitSource):
    name = "dvclive"
    label = "dvclive"
    order = 6  # after MLflow stores, before flowsheet's own logs: a dvclive folder is dvclive's alone

    @classmethod
    def claim(cls, listing: Listing) -> Claim | None:
        return Claim([listing.path], owns=True) if looks_like_dvclive(listing) else None

    def read_unit(self, unit: Path) -> UnitRead:
        read = UnitRead()
        rel = self.rel(unit)
        root_real = os.path.realpath(self.root)
        run = Run(run_id=run_id_for(self.name, rel), experiment_id="", name=run_name(unit), path=str(unit),
                  status=UNKNOWN_END, artifacts_dir=str(unit), source=self.name)
        reading = _Reading(self.root, root_real, read.problems)
        run.metrics = reading.histories(unit / PLOTS_DIR / METRIC_PLOTS)
        reading.summary(unit / METRICS_FILE, run)
        run.params = reading.params(unit / PARAMS_FILE)
        recorded = [history.timestamps for history in run.metrics.values() if any(history.timestamps)]
        if recorded:  # times only from histories logged with timestamp=True (the others hold 0)
            run.start_time = min(min(stamp for stamp in stamps if stamp) for stamps in recorded)
            run.last_time = max(max(stamps) for stamps in recorded)
        run.artifacts, notes = list_files(unit, _is_artifact)
        read.problems += [Problem(f"{rel}/{path}".strip("/") or ".", None, reason) for path, reason in notes]
        read.runs.append(run)
        return read


def run_name(unit: Path) -> str:
    """The project's name for the default `dvclive/` folder, else the folder's own name."""
    return (unit.parent.name or unit.name) if unit.name == DEFAULT_DIR else unit.name


def _is_artifact(rel: str) -> bool:
    """Every file but those read into the run: metrics.json, params.yaml and the metric histories."""
    if rel in (METRICS_FILE, PARAMS_FILE):
        return False
    return not (rel.startswith(f"{PLOTS_DIR}/{METRIC_PLOTS}/") and rel.endswith(HISTORY_SUFFIX))


class _Reading:
    """One reading of one dvclive folder: its files, and the problems met."""

    def __init__(self, root: Path, root_real: str, problems: list[Problem]):
        self.root = root
        self.root_real = root_real
        self.problems = problems

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _whole(self, path: Path) -> bytes | None:
        """A file's bytes; None (and a problem unless it is simply not there) when it cannot be read."""
        if not os.path.lexists(path):
            return None
        try:
            return read_whole(path, self.root, self.root_real)
        except Unreadable as error:
            self.problems.append(Problem(self._rel(path), None, str(error)))
        except OSError as error:
            self.problems.append(Problem(self._rel(path), None, f"cannot read: {error.strerror or error}"))
        return None

    # --- plots/metrics/**.tsv ---------------------------------------------------------------------

    def histories(self, folder: Path) -> dict[str, MetricHistory]:
        found: dict[str, MetricHistory] = {}
        stack = [(folder, "")]
        while stack and len(found) < MAX_LISTED:
            directory, prefix = stack.pop()
            try:
                with os.scandir(directory) as listing:
                    entries = sorted(listing, key=lambda entry: entry.name)
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), f"{prefix}{entry.name}/"))
                elif entry.name.endswith(HISTORY_SUFFIX):
                    key = prefix + entry.name[: -len(HISTORY_SUFFIX)]
                    if not key or len(key) > MAX_KEY_LENGTH:
                        self.problems.append(Problem(self._rel(Path(entry.path)), None,
                                                     f"metric name longer than {MAX_KEY_LENGTH} characters"))
                        continue
                    history = self._history(Path(entry.path), key)
                    if history:  # else the summary's value stands in for it
                        found[key] = history
        return found

    def _history(self, path: Path, key: str) -> MetricHistory:
        problems = FileProblems(self._rel(path))
        history = MetricHistory(key)
        try:
            with open_inside(path, self.root, self.root_real) as file:
                _read_rows(Lines(file), history, problems)
        except OSError as error:
            problems.add(None, f"cannot read: {error.strerror or error}")
        self.problems += problems.all()
        return history

    # --- metrics.json -----------------------------------------------------------------------------

    def summary(self, path: Path, run: Run) -> None:
        """Metrics found only in the summary (one point at its step), and its text values as tags."""
        data = self._whole(path)
        if data is None:
            return
        try:
            summary = json.loads(data)
        except (ValueError, RecursionError) as error:
            self.problems.append(Problem(self._rel(path), None, f"not JSON: {_why(error)}"))
            return
        if not isinstance(summary, dict):
            self.problems.append(Problem(self._rel(path), None, "not a JSON object"))
            return
        step = summary.get(STEP_KEY)
        step = step if type(step) is int and fits_int64(step) else 0
        flat, notes = flatten({key: value for key, value in summary.items() if key != STEP_KEY}, "/")
        self.problems += [Problem(self._rel(path), None, note) for note in notes]
        for key, value in flat.items():
            if key in run.metrics:
                continue
            point = number(value)
            if point is None and isinstance(value, str):
                point = _text_number(value)  # dvclive writes NaN and infinities as "nan", "inf"
            if point is None:
                run.tags[key] = value
                continue
            history = run.metrics[key] = MetricHistory(key)
            history.append(point, step, 0)

    # --- params.yaml ------------------------------------------------------------------------------

    def params(self, path: Path) -> dict:
        data = self._whole(path)
        if data is None:
            return {}
        try:
            tree = yaml.safe_load(data)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            reason = getattr(error, "problem", None) or type(error).__name__
            self.problems.append(Problem(self._rel(path), line, f"not YAML dvclive can have written: {reason}"))
            return {}
        except (ValueError, RecursionError) as error:
            self.problems.append(Problem(self._rel(path), None, f"not read: {_why(error)}"))
            return {}
        if tree is None:
            return {}
        if not isinstance(tree, dict):
            self.problems.append(Problem(self._rel(path), None, "not a mapping of names to values"))
            return {}
        flat, notes = flatten(tree, ".")
        self.problems += [Problem(self._rel(path), None, note) for note in notes]
        return flat


def _read_rows(lines: Lines, history: MetricHistory, problems: FileProblems) -> None:
    """A history file's rows into `history`: its header says which column is which."""
    header: list[str] | None = None
    step_at = 0
    time_at: int | None = None
    for lineno, raw in lines:
        if raw is None:
            problems.add(lineno, "line too long: skipped")
            continue
        text = raw.decode("utf-8", "replace").rstrip("\r")
        if not text.strip():
            continue
        fields = text.split("\t")
        if header is None:
            if len(fields) < 2 or STEP_KEY not in fields[:-1]:
                problems.add(lineno, "no header `[timestamp<TAB>]step<TAB><name>`: the file is not read")
                return
            header = fields
            step_at = fields.index(STEP_KEY)
            time_at = fields.index("timestamp") if "timestamp" in fields[:-1] else None
            continue
        if len(fields) != len(header):
            problems.add(lineno, f"expected {len(header)} tab-separated fields, got {len(fields)}")
            continue
        try:
            step = int(fields[step_at])
            timestamp = int(fields[time_at]) if time_at is not None else 0
        except ValueError:
            problems.add(lineno, f"step or timestamp is not an integer: {text[:60]!r}")
            continue
        if not (fits_int64(step) and fits_int64(timestamp)):
            problems.add(lineno, "step or timestamp out of range")
            continue
        value = _text_number(fields[-1])
        if value is not None:  # else a text value: dvclive keeps those too, but they are no points
            history.append(value, step, timestamp)


def _text_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _why(error: Exception) -> str:
    return "nested too deeply" if isinstance(error, RecursionError) else str(error)
