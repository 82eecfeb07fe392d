"""Lightning's CSVLogger: `<save_dir>/<name>/version_<N>/metrics.csv`, with `hparams.yaml` beside it.

The logger (lightning/fabric/loggers/csv_logs.py, lightning/pytorch/loggers/csv_logs.py) writes one CSV
row per logged step: a header of every metric name seen so far plus `step` (and `epoch`, which the
Trainer logs), and an empty cell where a metric was not logged on that row. Rows are appended as
training goes; when a new metric name appears the whole file is written again under a wider header.
`hparams.yaml` is written by `save_hparams_to_yaml` (lightning/pytorch/core/saving.py): plain YAML,
or PyYAML's dump, whose Python tags (`!!python/tuple`) are read here as plain data, never as objects.

A folder holding metrics.csv is claimed when its header has a `step` column, or when it is named
`version_<N>` and holds hparams.yaml; one folder is one run (`owns`: Lightning keeps the run's
`checkpoints/` inside it). A version folder of Lightning's TensorBoardLogger (event files and
hparams.yaml, no metrics.csv) is not claimed here.

Choices where the format leaves room:
- Every column but `step` is a metric at that row's step (`epoch` too). A cell that is not a number
  is a problem with its line number and the rest of the row is still read; a row without an integer
  step is skipped and reported.
- The file is read again whole when it changes (it is small, and Lightning rewrites it whole when the
  header widens); a last line without its newline is being written and waits for the next refresh.
- hparams.yaml becomes params: nested mappings flattened with "." (`optimizer.lr`), lists as compact
  JSON text, by the rules every source shares (logger/foreign.py, `flatten`).
- The CSV has no times: every point carries the file's modification time; the run starts at the
  older of the two files' times, and is RUNNING or FINISHED by the time of the last write.
- Run name `<name>/version_<N>` (the folder holding the versions, then the version's own folder);
  the experiment is the folder holding the versions.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from ..foreign import flatten
from ..format import MAX_KEY_LENGTH
from ..line_checks import short, type_name
from ..model import MetricHistory, Problem, Run
from ..safepath import open_inside, open_regular
from . import Claim, Listing, register
from .units import UNKNOWN_END, UnitRead, UnitSource, file_stamp, run_id_for

METRICS_FILE = "metrics.csv"
HPARAMS_FILE = "hparams.yaml"
STEP = "step"
VERSION = re.compile(r"version_\d+")
HEADER_PEEK = 64 << 10  # bytes of metrics.csv a claim looks at for the header
MAX_LINE = 1 << 20
MAX_HPARAMS_BYTES = 4 << 20
MAX_PROBLEMS = 50  # per file: then one line says how many more
INTEGER = re.compile(r"[+-]?\d+")
STEP_RANGE = range(-(1 << 63), 1 << 63)


class _HparamsLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading the tags `yaml.dump` writes for Python values as the plain data under them."""


def _plain(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_HparamsLoader.add_multi_constructor("tag:yaml.org,2002:python/", _plain)
_HparamsLoader.add_multi_constructor("!", _plain)


def _header_has_step(path: Path) -> bool:
    """Whether the first line of `path` is a CSV header with a `step` column."""
    try:
        with open_regular(path) as file:
            head = file.read(4096)  # a header is short: read more only when it is not
            if b"\n" not in head and len(head) == 4096:
                head += file.read(HEADER_PEEK - len(head))
    except OSError:
        return False
    first, newline, _ = head.partition(b"\n")
    if not newline:
        return False  # no complete header yet: a later refresh decides
    return STEP in next(csv.reader([first.decode("utf-8", "replace")]), [])


def _is_regular(path: Path) -> bool:
    try:
        return path.is_file() and not path.is_symlink()
    except OSError:
        return False


def _mtime_ms(file: BinaryIO) -> int:
    return os.fstat(file.fileno()).st_mtime_ns // 1_000_000


@register
class LightningSource(UnitSource):
    name = "lightning"
    label = "Lightning CSVLogger"
    order = 45

    @classmethod
    def claim(cls, listing: Listing) -> Claim | None:
        if METRICS_FILE not in listing.regular:
            return None
        if VERSION.fullmatch(listing.path.name) and HPARAMS_FILE in listing.regular \
                or _header_has_step(listing.path / METRICS_FILE):
            return Claim([listing.path], owns=True)
        return None

    def stamp(self, unit: Path) -> tuple:
        # The two files alone: the checkpoints beside them are never read, so never walked.
        return file_stamp(unit / METRICS_FILE), file_stamp(unit / HPARAMS_FILE)

    def read_unit(self, unit: Path) -> UnitRead:
        run = Run(run_id=run_id_for(self.name, self.rel(unit)), experiment_id="",
                  name="/".join(part for part in (unit.parent.name, unit.name) if part), path=str(unit),
                  status=UNKNOWN_END, source=self.name)
        problems: list[Problem] = []
        times: list[int] = []
        hparams = unit / HPARAMS_FILE
        if _is_regular(hparams):
            problems += self._read_hparams(hparams, run.params, times)
        problems += self._read_metrics(unit / METRICS_FILE, run.metrics, times)
        if times:
            run.start_time, run.last_time = min(times), max(times)
        return UnitRead(runs=[run], problems=problems)

    def _read_hparams(self, path: Path, params: dict[str, Any], times: list[int]) -> list[Problem]:
        rel = self.rel(path)
        try:
            with open_inside(path, self.root) as file:
                times.append(_mtime_ms(file))
                data = file.read(MAX_HPARAMS_BYTES + 1)
        except OSError as error:
            return [Problem(rel, None, f"cannot read: {error.strerror or error}")]
        if len(data) > MAX_HPARAMS_BYTES:
            return [Problem(rel, None, f"larger than {MAX_HPARAMS_BYTES >> 20} MiB; not read")]
        try:
            loaded = yaml.load(data, Loader=_HparamsLoader)  # a SafeLoader: builds no objects
        except yaml.reader.ReaderError as error:  # not UTF-8, or a control character
            return [Problem(rel, None, f"not readable YAML ({_clip(error.reason)} at position {error.position})")]
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            reason = " ".join(part for part in (error.context, error.problem) if part)
            return [Problem(rel, mark.line + 1 if mark else None, f"not readable YAML ({_clip(reason)})")]
        except (yaml.YAMLError, ValueError, TypeError, RecursionError) as error:
            return [Problem(rel, None, f"not readable YAML ({type(error).__name__}: {_clip(str(error))})")]
        if loaded is None:
            return []  # empty: no hyperparameters were logged
        if not isinstance(loaded, dict):
            return [Problem(rel, None, f"not a mapping of names to values (a {type_name(loaded)})")]
        flat, notes = flatten(loaded, ".")
        params.update(flat)
        return _capped(rel, [(None, note) for note in notes])

    def _read_metrics(self, path: Path, metrics: dict[str, MetricHistory], times: list[int]) -> list[Problem]:
        rel = self.rel(path)
        reasons: list[tuple[int | None, str]] = []
        try:
            with open_inside(path, self.root) as file:
                time_ms = _mtime_ms(file)
                times.append(time_ms)
                _read_rows(_complete_lines(file, reasons), time_ms, metrics, reasons)
        except OSError as error:
            return [Problem(rel, None, f"cannot read: {error.strerror or error}")]
        return _capped(rel, reasons)


def _complete_lines(file: BinaryIO, reasons: list) -> Iterator[str]:
    """The lines of `file` that end in a newline (the last may still be being written), as text.
    A line longer than MAX_LINE is reported and passed on as an empty line, so line numbers still count."""
    number = 0
    while True:
        line = file.readline(MAX_LINE)
        if len(line) == MAX_LINE and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = file.readline(MAX_LINE)
            if not line:
                return
            number += 1
            reasons.append((number, f"line longer than {MAX_LINE >> 20} MiB; skipped"))
            yield "\n"
            continue
        if not line.endswith(b"\n"):
            return
        number += 1
        yield line.decode("utf-8", "replace")


def _read_rows(lines: Iterator[str], time_ms: int, metrics: dict[str, MetricHistory], reasons: list) -> None:
    """The CSV rows into metrics by step; a row naming a `step` column where a step should be is a new header."""
    rows = csv.reader(lines)
    columns: list[str] = []
    step_at = -1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            reasons.append((rows.line_num, f"not a CSV row ({error}); skipped"))
            continue
        line = rows.line_num
        if not row or row == [""]:
            continue
        if step_at < 0 or STEP in row and _integer(row[step_at] if step_at < len(row) else "") is None:
            if STEP not in row:
                reasons.append((line, "the header has no 'step' column; the file is not read"))
                return
            columns, step_at = row, row.index(STEP)
            reasons += [(line, f"column {short(name)} has an empty or too long name; left out")
                        for name in columns if not name or len(name) > MAX_KEY_LENGTH]
            continue
        step = _integer(row[step_at] if step_at < len(row) else "")
        if step is None:
            reasons.append((line, f"'step' must be an integer, got {short(row[step_at] if step_at < len(row) else '')}"
                                  "; row skipped"))
            continue
        if len(row) > len(columns):
            reasons.append((line, f"{len(row)} cells under {len(columns)} columns; the extra cells are left out"))
        for index, cell in enumerate(row[:len(columns)]):
            key = columns[index]
            if index == step_at or not cell or not key or len(key) > MAX_KEY_LENGTH:
                continue
            try:
                value = float(cell)
            except ValueError:
                reasons.append((line, f"{short(key)}: {short(cell)} is not a number; left out"))
                continue
            history = metrics.get(key)
            if history is None:
                history = metrics[key] = MetricHistory(key)
            history.append(value, step, time_ms)


def _integer(text: str) -> int | None:
    text = text.strip()
    try:
        number = int(text) if INTEGER.fullmatch(text) else float(text)
    except ValueError:
        return None
    if isinstance(number, float):
        if not number.is_integer():
            return None
        number = int(number)
    return number if number in STEP_RANGE else None


def _clip(text: str, length: int = 120) -> str:
    text = " ".join(text.split())  # one line
    return text if len(text) <= length else text[:length - 3] + "..."


def _capped(rel: str, reasons: list[tuple[int | None, str]]) -> list[Problem]:
    problems = [Problem(rel, line, reason) for line, reason in reasons[:MAX_PROBLEMS]]
    if len(reasons) > MAX_PROBLEMS:
        problems.append(Problem(rel, None, f"{len(reasons) - MAX_PROBLEMS} more problems like these"))
    return problems
