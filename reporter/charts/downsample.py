"""Reduce a long metric series to at most N buckets that keep its shape.

Pure numpy, no I/O. Each bucket keeps the min, the max and the last point, so a chart drawn from the
buckets (line through the last values, band between min and max) never hides a spike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from logger.model import PointsNotRead, SummaryColumn

MAX_POINTS = 1000


@dataclass(frozen=True)
class Series:
    """A metric series ready to draw: finite points only, sorted by step then time.

    `lo`/`hi` are None when the series was not bucketed (every point is kept as is).
    `total` counts the finite points before bucketing; `dropped` the NaN/Inf points left out.
    """

    steps: np.ndarray
    times: np.ndarray
    values: np.ndarray
    lo: np.ndarray | None
    hi: np.ndarray | None
    total: int
    dropped: int

    @property
    def bucketed(self) -> bool:
        return self.lo is not None

    def __len__(self) -> int:
        return len(self.values)


def clean_series(steps, values, timestamps) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Finite points sorted by (step, timestamp, logging order), and how many non-finite points were dropped.

    Every series drawn or listed comes through here: the summary of a run the build did not read (the build
    cache's, logger/sources/known.py) is refused, and the build reads that run whole."""
    if isinstance(steps, SummaryColumn):
        raise PointsNotRead({steps.path})
    s = np.asarray(steps, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    t = np.asarray(timestamps, dtype=np.int64)
    if not (len(s) == len(v) == len(t)):
        raise ValueError(f"series columns differ in length: {len(s)} steps, {len(v)} values, {len(t)} timestamps")
    finite = np.isfinite(v)
    dropped = int(len(v) - finite.sum())
    s, v, t = s[finite], v[finite], t[finite]
    # lexsort sorts by the last key first; it is stable, so ties keep logging order
    order = np.lexsort((t, s))
    return s[order], v[order], t[order], dropped


def bucket_edges(n: int, max_points: int) -> np.ndarray:
    """Start indices of at most `max_points` contiguous buckets of nearly equal size covering range(n)."""
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points}")
    count = min(n, max_points)
    return np.unique(np.linspace(0, n, count + 1).astype(np.int64)[:-1])


def downsample(steps, values, timestamps, max_points: int = MAX_POINTS) -> Series:
    """Drop non-finite points, sort, and above `max_points` points reduce to `max_points` buckets.

    A bucket is a run of consecutive points (in step order); it is drawn at its last point's step and
    time with its last value, and carries the bucket's min and max.
    """
    s, v, t, dropped = clean_series(steps, values, timestamps)
    n = len(v)
    if n <= max_points:
        return Series(s, t, v, None, None, total=n, dropped=dropped)
    starts = bucket_edges(n, max_points)
    ends = np.append(starts[1:], n) - 1  # index of each bucket's last point
    lo = np.minimum.reduceat(v, starts)
    hi = np.maximum.reduceat(v, starts)
    return Series(s[ends], t[ends], v[ends], lo, hi, total=n, dropped=dropped)


def round_sig(x: float, digits: int = 7) -> float:
    """`x` rounded to `digits` significant digits, so the inline JSON stays short (finite input only)."""
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{digits}g}")
