"""Levels of a long series for zooming (#18): level sizes, min/max/last per bucket, chunks, NaN/Inf, uneven steps,
the chunk scripts' JSON, and the index arithmetic the page relies on to find a visible range's chunks."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest
from hardening.knobs import settings
from hypothesis import given
from hypothesis import strategies as st

from logger.model import MetricHistory, Run

from reporter.charts.chunks import CALLBACK, chunk_files, chunk_js, zoom_id
from reporter.charts.downsample import clean_series
from reporter.charts.levels import Buckets, bucketize, chunk_buckets, plan
from reporter.charts.run import metric_spec


def brute_buckets(steps, times, values, size):
    """Bucket by bucket in plain Python: what bucketize must equal."""
    out = []
    for start in range(0, len(values), size):
        part = values[start:start + size]
        last = min(start + size, len(values)) - 1
        out.append((steps[last], times[last], values[last], min(part), max(part)))
    return out


def as_tuples(b: Buckets):
    return list(zip(b.steps.tolist(), b.times.tolist(), b.values.tolist(), b.lo.tolist(), b.hi.tolist()))


def test_level_sizes_go_from_the_inline_level_down_to_single_points():
    assert plan(500, 1000).sizes == (1,)  # short: the inline level is the points, no finer level
    assert plan(1000, 1000).sizes == (1,)
    assert plan(1001, 1000).sizes == (2, 1)
    assert plan(200_000, 1000).sizes == (200, 25, 4, 1)
    assert plan(200_000, 1000, factor=16).sizes == (200, 13, 1)
    assert plan(10_000_000, 1000).sizes == (10_000, 1250, 157, 20, 3, 1)
    levels = plan(10_000_000, 1000)
    assert [levels.buckets(k) for k in range(6)] == [1000, 8000, 63_695, 500_000, 3_333_334, 10_000_000]
    assert levels.chunks(5) == math.ceil(10_000_000 / 4096)
    with pytest.raises(ValueError):
        plan(10, 0)
    with pytest.raises(ValueError):
        plan(10, 5, factor=1)


@settings()
@given(n=st.integers(0, 10**9), base=st.integers(1, 5000), factor=st.integers(2, 64))
def test_levels_shrink_strictly_and_each_is_fine_enough(n, base, factor):
    levels = plan(n, base, factor)
    assert levels.sizes[-1] == 1
    assert all(a > b for a, b in zip(levels.sizes, levels.sizes[1:]))
    for k in range(len(levels.sizes)):
        assert levels.buckets(k) <= max(n, 1) and (levels.buckets(k) <= base * factor ** k or levels.sizes[k] == 1)


def test_buckets_keep_min_max_and_last_with_a_short_last_bucket():
    values = np.array([3.0, -1.0, 7.0, 2.0, 5.0, 0.5, 9.0])
    steps = np.arange(7) * 10
    times = np.arange(7) + 100
    got = bucketize(steps, times, values, 3)
    assert as_tuples(got) == [(20, 102, 7.0, -1.0, 7.0), (50, 105, 0.5, 0.5, 5.0), (60, 106, 9.0, 9.0, 9.0)]
    single = bucketize(steps, times, values, 1)
    assert single.values.tolist() == single.lo.tolist() == single.hi.tolist() == values.tolist()
    assert len(bucketize(steps, times, values, 3, first=5)) == 0  # past the end: empty, not an error
    with pytest.raises(ValueError):
        bucketize(steps, times, values, 0)


@settings()
@given(values=st.lists(st.floats(-1e300, 1e300, allow_nan=False), min_size=1, max_size=300),
       gaps=st.data(), size=st.integers(1, 40), chunk=st.integers(1, 20))
def test_chunks_of_a_level_are_its_buckets_in_order_for_uneven_steps(values, gaps, size, chunk):
    n = len(values)
    steps = np.cumsum(gaps.draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n)))  # repeats allowed
    times = np.arange(n, dtype=np.int64) * 7
    v = np.array(values)
    whole = bucketize(steps, times, v, size)
    assert as_tuples(whole) == brute_buckets(steps.tolist(), times.tolist(), values, size)
    levels = plan(n, max(1, n // size), chunk=chunk)
    for level, level_size in enumerate(levels.sizes):
        parts = [as_tuples(chunk_buckets(steps, times, v, levels, level, c)) for c in range(levels.chunks(level))]
        assert [row for part in parts for row in part] == as_tuples(bucketize(steps, times, v, level_size))


@settings()
@given(n=st.integers(2, 3000), base=st.integers(1, 200), data=st.data())
def test_a_step_range_maps_to_the_points_through_the_inline_level(n, base, data):
    """What zoom.js does: the first inline bucket whose last step is >= a, up to the first whose last step is
    >= b, covers every point with a step in [a, b] (bucket k holds points k*size .. (k+1)*size - 1)."""
    steps = np.cumsum(data.draw(st.lists(st.integers(0, 50), min_size=n, max_size=n)))
    size = plan(n, base).sizes[0]
    top = bucketize(steps, steps, np.zeros(n), size).steps.tolist()
    a = data.draw(st.integers(int(steps[0]) - 5, int(steps[-1]) + 5))
    b = data.draw(st.integers(a, int(steps[-1]) + 10))

    def first_at_least(x):
        return next((k for k, s in enumerate(top) if s >= x), len(top) - 1)

    start, stop = first_at_least(a) * size, min(n, (first_at_least(b) + 1) * size)
    inside = [i for i, s in enumerate(steps.tolist()) if a <= s <= b]
    assert all(start <= i < stop for i in inside)
    assert stop - start <= len(inside) + 2 * size  # no more than a bucket too many on each side


def run_with(key: str, values: list[float]) -> Run:
    run = Run(run_id="c" * 32, experiment_id="e", name="r", path="/x", start_time=1000)
    history = MetricHistory(key)
    for step, value in enumerate(values):
        history.append(value, 3 * step, 1000 + step)
    run.metrics[key] = history
    return run


def parse_chunk(text: str) -> dict:
    assert text.startswith(CALLBACK + "(") and text.endswith(");\n")
    return orjson.loads(text[len(CALLBACK) + 1:-3])


def test_chunk_files_leave_nan_and_inf_out_and_hold_every_finite_point_once():
    values = [math.sin(i / 7) for i in range(5000)]
    for i in (10, 2500, 4999):
        values[i] = [math.nan, math.inf, -math.inf][i % 3]
    key = "weird <key>/\u2028\""
    run = run_with(key, values)
    files = chunk_files(run, origin=1000, max_points=100, factor=8)
    levels = plan(4997, 100, 8)
    assert levels.sizes == (50, 7, 1)
    prefix = f"zoom/{zoom_id(key)}"
    assert sorted(files) == sorted(f"{prefix}-{k}-{c}.js" for k in (1, 2) for c in range(levels.chunks(k)))
    exact = [parse_chunk(files[f"{prefix}-2-{c}.js"]()) for c in range(levels.chunks(2))]
    assert all("lo" not in part for part in exact)  # single points: no band
    points = [v for part in exact for v in part["v"]]
    finite = [v for v in values if math.isfinite(v)]
    assert points == pytest.approx(finite, rel=1e-6)
    first = exact[0]
    assert np.cumsum(first["s"]).tolist()[:3] == [0, 3, 6]  # delta-encoded steps
    assert np.cumsum(first["t"]).tolist()[:3] == [0, 1, 2]  # ms since the run's origin
    middle = parse_chunk(files[f"{prefix}-1-0.js"]())
    assert len(middle["lo"]) == len(middle["hi"]) == len(middle["v"]) == min(4096, levels.buckets(1))


def test_the_inline_level_names_its_chunk_files_and_matches_level_zero():
    values = [float(i % 97) for i in range(20_000)]
    run = run_with("loss", values)
    spec = metric_spec(run, "loss", max_points=1000, zoom_file="zoom/abc", origin=1000)
    zoom = spec["usermeta"]["fs"]["zoom"]
    assert zoom == {"n": 20_000, "sizes": [20, 3, 1], "chunk": 4096, "file": "zoom/abc", "origin": 1000,
                    "divisor": 1000}
    rows = spec["datasets"]["points"]
    s, v, t, _ = clean_series(run.metrics["loss"].steps, run.metrics["loss"].values, run.metrics["loss"].timestamps)
    assert [(r["s"], r["v"], r["lo"], r["hi"]) for r in rows] == [
        (b[0], b[2], b[3], b[4]) for b in brute_buckets(s.tolist(), t.tolist(), v.tolist(), 20)]
    short = metric_spec(run_with("loss", values[:1000]), "loss", max_points=1000, zoom_file="zoom/abc")
    assert "zoom" not in short["usermeta"]["fs"] and len(short["datasets"]["points"]) == 1000


def test_a_chunk_script_is_numbers_and_a_hex_id_only():
    buckets = bucketize(np.array([1, 5]), np.array([0, 2]), np.array([1.5e-9, 2.5e12]), 1)
    assert parse_chunk(chunk_js("00ff", 2, 7, buckets, exact=True)) == {
        "f": "00ff", "l": 2, "c": 7, "s": [1, 4], "t": [0, 2], "v": [1.5e-9, 2.5e12]}
    with pytest.raises(ValueError):
        chunk_js('"});alert(1);//', 1, 0, buckets, exact=True)
