"""Bucketing long metric series: bucket counts, min/max/last kept, NaN/Inf left out and counted."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reporter.charts.downsample import MAX_POINTS, bucket_edges, downsample, round_sig


def series(n: int):
    steps = list(range(n))
    values = [math.sin(i / 50) for i in range(n)]
    stamps = [1_000 + 10 * i for i in range(n)]
    return steps, values, stamps


def test_short_series_is_kept_whole():
    s = downsample(*series(MAX_POINTS))
    assert not s.bucketed and len(s) == MAX_POINTS == s.total
    assert s.lo is None and s.hi is None


@pytest.mark.parametrize("n", [1001, 1999, 2000, 100_000])
def test_long_series_becomes_at_most_max_points_buckets(n):
    s = downsample(*series(n))
    assert s.bucketed and len(s) == MAX_POINTS and s.total == n
    assert s.steps[-1] == n - 1  # the last point is always the last bucket's last value
    assert np.all(s.lo <= s.values) and np.all(s.values <= s.hi)
    assert np.all(np.diff(s.steps) > 0)


def test_a_single_spike_survives_bucketing():
    steps, values, stamps = series(100_000)
    values[54_321] = 1e6
    values[12_345] = -1e6
    s = downsample(steps, values, stamps)
    assert s.hi.max() == 1e6 and s.lo.min() == -1e6
    assert 1e6 not in s.values  # it is not a bucket's last value: only the band shows it


def test_buckets_cover_every_point_once():
    starts = bucket_edges(2500, 1000)
    assert starts[0] == 0 and len(starts) == 1000
    sizes = np.diff(np.append(starts, 2500))
    assert sizes.sum() == 2500 and set(sizes) <= {2, 3}


def test_nan_and_inf_are_left_out_and_counted():
    s = downsample([0, 1, 2, 3, 4], [1.0, float("nan"), 2.0, float("inf"), float("-inf")], [0, 1, 2, 3, 4])
    assert list(s.values) == [1.0, 2.0] and list(s.steps) == [0, 2]
    assert s.dropped == 3 and s.total == 2


def test_points_are_sorted_by_step_then_time_keeping_logging_order_for_ties():
    s = downsample([2, 0, 1, 1], [20.0, 0.0, 11.0, 10.0], [5, 9, 3, 3])
    assert list(s.steps) == [0, 1, 1, 2]
    assert list(s.values) == [0.0, 11.0, 10.0, 20.0]


def test_columns_of_different_length_are_refused():
    with pytest.raises(ValueError, match="differ in length"):
        downsample([1, 2], [1.0], [1, 2])


def test_round_sig_keeps_seven_significant_digits():
    assert round_sig(0.123456789) == 0.1234568
    assert round_sig(123456789.0) == 123456800.0
    assert round_sig(0.0) == 0.0
