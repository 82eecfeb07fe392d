"""Several resolutions of one long metric series, for drag-to-zoom without a server.

Pure numpy, no I/O. A series of n finite points (sorted as `downsample.clean_series` sorts them) is cut
into levels of equal-size buckets of consecutive points: level k has buckets of `sizes[k]` points,
`sizes[0] = ceil(n / base)` (at most `base` buckets, the level a page inlines), each next level
`factor` times finer, the last one of size 1 (the points themselves). Every bucket keeps its min, max and
last point (drawn at the last point's step and time), so no level hides a spike.

Because the buckets of every level are aligned on point indices, a page can tell from the inline level
alone which points a visible step range covers, and so which chunk of `chunk` buckets of a finer level to
load (see `static/charts.js`); nothing but `n`, `sizes` and `chunk` has to be written into the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Each level 8x finer: 10 M points in buckets of 10,000 (inline), 1,250, 157, 20, 3 and 1 point. A zoom then
# draws between 1 and 8 buckets per pixel (16x drew up to 9,000 rows, 2.5 s to redraw), for about the same
# bytes on disk: the last level, the points themselves, is most of them whatever the factor.
FACTOR = 8
CHUNK = 4096  # buckets per chunk file: 60-150 KB of JS; a zoom shows under 8 buckets a pixel, so 2-3 chunks


@dataclass(frozen=True)
class Plan:
    """The shape of a series' levels: derived from the point count alone (no data needed)."""

    n: int
    sizes: tuple[int, ...]  # points per bucket, coarsest first, the last is 1
    chunk: int

    def buckets(self, level: int) -> int:
        return -(-self.n // self.sizes[level])

    def chunks(self, level: int) -> int:
        return -(-self.buckets(level) // self.chunk)

    def manifest(self) -> dict:
        """What a page needs to find the chunks of the finer levels."""
        return {"n": self.n, "sizes": list(self.sizes), "chunk": self.chunk}


def plan(n: int, base: int, factor: int = FACTOR, chunk: int = CHUNK) -> Plan:
    """The levels of an n-point series: at most `base` buckets at level 0, `factor` times more at each next level."""
    if base < 1 or factor < 2 or chunk < 1:
        raise ValueError(f"need base >= 1, factor >= 2 and chunk >= 1, got {base}, {factor}, {chunk}")
    sizes = [max(1, math.ceil(n / base))]
    while sizes[-1] > 1:
        # exact integer arithmetic: ceil(n / (base * factor**k)) strictly decreases to 1
        sizes.append(-(-n // (base * factor ** len(sizes))))
    return Plan(n, tuple(sizes), chunk)


@dataclass(frozen=True)
class Buckets:
    """One level (or a slice of it): each bucket's last step, last time and last value, and its min and max."""

    steps: np.ndarray
    times: np.ndarray
    values: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    def __len__(self) -> int:
        return len(self.values)


def bucketize(steps: np.ndarray, times: np.ndarray, values: np.ndarray, size: int,
              first: int = 0, count: int | None = None) -> Buckets:
    """Buckets `first` to `first + count` (all by default) of `size` consecutive points each.

    The input must be finite and sorted (`clean_series`); the last bucket may hold fewer points.
    """
    if size < 1:
        raise ValueError(f"bucket size must be at least 1, got {size}")
    n = len(values)
    total = -(-n // size)
    stop = total if count is None else min(total, first + count)
    start_point = first * size
    stop_point = min(n, stop * size)
    if start_point >= stop_point:
        empty_f, empty_i = np.empty(0, np.float64), np.empty(0, np.int64)
        return Buckets(empty_i, empty_i, empty_f, empty_f, empty_f)
    starts = np.arange(start_point, stop_point, size)
    ends = np.minimum(starts + size, stop_point) - 1
    part = values[start_point:stop_point]
    if size == 1:
        return Buckets(steps[starts], times[starts], part, part, part)
    local = starts - start_point
    return Buckets(steps[ends], times[ends], values[ends],
                   np.minimum.reduceat(part, local), np.maximum.reduceat(part, local))


def chunk_buckets(steps: np.ndarray, times: np.ndarray, values: np.ndarray, levels: Plan,
                  level: int, index: int) -> Buckets:
    """Chunk `index` of `level`: buckets index*chunk .. (index+1)*chunk."""
    return bucketize(steps, times, values, levels.sizes[level], index * levels.chunk, levels.chunk)


def int_column(column: np.ndarray) -> list[int] | dict[str, int]:
    """How pages and chunks write steps and times: {"first", "step"} when evenly spaced (steps usually are),
    else the differences from the previous value (the first from 0), which stay short."""
    values = np.asarray(column, dtype=np.int64)
    steps = np.diff(values)
    if len(values) > 2 and (steps == steps[0]).all():
        return {"first": int(values[0]), "step": int(steps[0])}
    return np.diff(values, prepend=np.int64(0)).tolist()
