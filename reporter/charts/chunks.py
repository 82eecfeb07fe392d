"""The chunk files of long series' finer levels: small scripts a run page loads with <script src> on zoom.

A page opened from disk cannot fetch() a file next to it (file:// blocks it), but it may load a script,
so each chunk is a call `flowsheetZoomChunk({...})` handing its buckets to charts.js. The argument is JSON
made of numbers and the series' hex id only (never a metric key or any other text from the logs):

    {"f": id, "l": level, "c": chunk, "s": [...], "t": [...], "v": [...], "lo": [...], "hi": [...]}

`s` (steps) and `t` (ms since the run's origin) are written by `levels.int_column` (evenly spaced:
{"first", "step"}; else delta-encoded, the first absolute); `lo`/`hi` are
left out at the last level, whose buckets are single points. Values carry 7 significant digits, as the
inline level does. Files are `zoom/<id>-<level>-<chunk>.js` in the run's folder, `<id>` a hash of the key.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

import numpy as np
import orjson

from logger.model import MetricHistory, Run

from reporter.charts.downsample import MAX_POINTS, clean_series
from reporter.charts.levels import FACTOR, Buckets, Plan, chunk_buckets, int_column, plan

ZOOM_DIR = "zoom"
CALLBACK = "flowsheetZoomChunk"


def zoom_id(key: str) -> str:
    """A file-name-safe id of a metric key (the key itself may hold any character)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def zoom_file(key: str) -> str:
    """The chunk files' prefix of `key`, relative to the run page."""
    return f"{ZOOM_DIR}/{zoom_id(key)}"


def finite_count(history: MetricHistory) -> int:
    return int(np.isfinite(np.asarray(history.values, dtype=np.float64)).sum())


class _Series:
    """A history cleaned once for all its chunks, and let go after the last one is made."""

    def __init__(self, history: MetricHistory, origin: int, chunks: int):
        self.history, self.origin, self.left = history, origin, chunks
        self.arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def chunk(self, levels: Plan, level: int, index: int) -> Buckets:
        if self.arrays is None:
            steps, values, times, _ = clean_series(self.history.steps, self.history.values, self.history.timestamps)
            self.arrays = (steps, times - self.origin, values)
        buckets = chunk_buckets(*self.arrays, levels, level, index)
        self.left -= 1
        if self.left <= 0:
            self.arrays = None  # the plan holds this object until the site is written
        return buckets


def chunk_files(run: Run, origin: int, max_points: int = MAX_POINTS,
                factor: int = FACTOR) -> dict[str, Callable[[], str]]:
    """Every chunk file of the run's long series (more than `max_points` finite points, charted), by path
    relative to the run's folder; each made only when called, in path order."""
    files: dict[str, Callable[[], str]] = {}
    for key, history in run.metrics.items():
        n = finite_count(history) if len(history) > max_points else 0
        if n <= max_points:
            continue
        levels = plan(n, max_points, factor)
        finer = range(1, len(levels.sizes))
        series = _Series(history, origin, sum(levels.chunks(level) for level in finer))
        for level in finer:
            for index in range(levels.chunks(level)):
                make = functools.partial(_chunk_text, series, levels, zoom_id(key), level, index)
                files[f"{zoom_file(key)}-{level}-{index}.js"] = make
    return files


def _chunk_text(series: _Series, levels: Plan, file_id: str, level: int, index: int) -> str:
    return chunk_js(file_id, level, index, series.chunk(levels, level, index), exact=levels.sizes[level] == 1)


def chunk_js(file_id: str, level: int, index: int, buckets: Buckets, exact: bool) -> str:
    """The script of one chunk (see the module docstring)."""
    if not all(c in "0123456789abcdef" for c in file_id):
        raise ValueError(f"a chunk id is hex, got {file_id!r}")
    parts = [f'"f":"{file_id}","l":{int(level)},"c":{int(index)}',
             f'"s":{orjson.dumps(int_column(buckets.steps)).decode()}',
             f'"t":{orjson.dumps(int_column(buckets.times)).decode()}', f'"v":[{_reals(buckets.values)}]']
    if not exact:
        parts += [f'"lo":[{_reals(buckets.lo)}]', f'"hi":[{_reals(buckets.hi)}]']
    return f"{CALLBACK}({{{','.join(parts)}}});\n"


def _reals(column: np.ndarray) -> str:
    # finite input only (clean_series); "%.7g" writes JSON numbers (1e-07, 2.5e+12)
    return ",".join([f"{x:.7g}" for x in column.tolist()])
