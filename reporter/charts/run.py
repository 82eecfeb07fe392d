"""Run page charts: one chart per metric key, with a switchable x axis, smoothing and a log y scale.

Each spec inlines its points under `datasets["points"]`, one compact row per point:
`s` step, `t` milliseconds since the run's first point, `v` value (a bucket's last value), and for
bucketed series `lo`/`hi` (the bucket's min and max). Wall-clock and relative time are computed in
the spec from `t` (the run's origin is a constant in the spec), so rows stay short.

The smoothed line reads field `sm`, which charts.js computes (debiased EMA, as TensorBoard does) and
pushes into the view with `view.change("points", ...)`: Vega-Lite has no recursive transform. Without
charts.js the smoothed layer falls back to the raw value. The x-axis variants and the y scale type
are switched by charts.js from `usermeta.fs` (Vega-Lite cannot change a scale type from a param).
"""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import numpy as np

from logger.model import Run

from reporter.charts.common import CHART_HEIGHT, ChartBlock, ChartSection, group_metric_keys, plural
from reporter.charts.downsample import MAX_POINTS, Series, clean_series, downsample, round_sig
from reporter.charts.levels import FACTOR, bucketize
from reporter.charts.levels import plan as level_plan

DATA_NAME = "points"

# Relative time is shown in the largest unit that keeps numbers readable.
_TIME_UNITS = ((3 * 86400_000, 86400_000, "days"), (3 * 3600_000, 3600_000, "hours"), (3 * 60_000, 60_000, "minutes"))


def series_rows(series: Series, origin: int) -> list[dict]:
    """Compact rows of a series (see the module docstring); values rounded to 7 significant digits."""
    rows = []
    bucketed = series.bucketed
    for i in range(len(series)):
        row = {"s": int(series.steps[i]), "t": int(series.times[i]) - origin, "v": round_sig(float(series.values[i]))}
        if bucketed:
            assert series.lo is not None and series.hi is not None  # a bucketed series has both
            row["lo"] = round_sig(float(series.lo[i]))
            row["hi"] = round_sig(float(series.hi[i]))
        rows.append(row)
    return rows


def _relative_unit(span_ms: int) -> tuple[int, str]:
    for threshold, divisor, name in _TIME_UNITS:
        if span_ms >= threshold:
            return divisor, name
    return 1000, "seconds"


def _field(name: str, kind: str, title: str, **extra) -> dict:
    return {"field": name, "title": title, "type": kind, **extra}


def x_encodings(span_ms: int) -> dict[str, dict]:
    """The x encoding for each x-axis mode, as Vega-Lite dicts (charts.js swaps them in)."""
    unit = _relative_unit(span_ms)[1]
    return {
        "step": _field("s", "quantitative", "step"),
        "rel": _field("r", "quantitative", f"relative time ({unit})"),
        "wall": _field("w", "temporal", "wall-clock time"),
    }


def subtitle(series: Series) -> str:
    parts = []
    if series.bucketed:
        parts.append(f"showing {len(series):,} of {plural(series.total, 'point')} (min/max band per bucket)")
    if series.dropped:
        parts.append(f"{plural(series.dropped, 'NaN/Inf value')} left out")
    return "; ".join(parts)


def _tooltip(bucketed: bool) -> list[dict]:
    fields = [
        _field("s", "quantitative", "step"),
        _field("w", "temporal", "time", format="%Y-%m-%d %H:%M:%S"),
        _field("r", "quantitative", "relative", format=".4~g"),
        _field("v", "quantitative", "last value" if bucketed else "value", format=".7~g"),
        _field("y", "quantitative", "smoothed", format=".7~g"),
    ]
    if bucketed:
        fields += [_field("lo", "quantitative", "min", format=".7~g"),
                   _field("hi", "quantitative", "max", format=".7~g")]
    return fields


def _layers(key: str, bucketed: bool) -> list[dict]:
    """Band (bucketed series only), raw line, smoothed line, and the points shown on hover."""
    smoothed = [{"calculate": "isValid(datum.sm) ? datum.sm : datum.v", "as": "y"}]
    layers = []
    if bucketed:
        layers.append({"mark": {"type": "area", "opacity": 0.25},
                       "encoding": {"y": _field("lo", "quantitative", key), "y2": {"field": "hi"}}})
    layers.append({"mark": {"type": "line", "opacity": 0.3, "strokeWidth": 1}, "name": "raw_line",
                   "encoding": {"y": _field("v", "quantitative", key)}})
    layers.append({"mark": {"type": "line", "strokeWidth": 1.8},
                   "encoding": {"y": _field("y", "quantitative", key)}, "transform": smoothed})
    layers.append({
        "mark": {"type": "point", "filled": True, "size": 40},
        "encoding": {"opacity": {"condition": {"param": "hover", "value": 1, "empty": False}, "value": 0},
                     "tooltip": _tooltip(bucketed), "y": _field("y", "quantitative", key)},
        "name": "hover_points",
        "transform": smoothed,
    })
    return layers


def _hover_param() -> dict:
    """The point nearest the pointer, by step: the hover layer shows it and its tooltip."""
    return {"name": "hover", "views": ["hover_points"],
            "select": {"type": "point", "clear": "pointerout", "fields": ["s"], "nearest": True, "on": "pointerover"}}


def _zoom_param() -> dict:
    """Drag to pan and wheel to zoom the x axis, double-click to reset (an interval selection bound to the scales)."""
    return {"name": "zoom", "views": ["raw_line"], "bind": "scales", "select": {"type": "interval", "encodings": ["x"]}}


def series_spec(series: Series, key: str, origin: int, zoom: dict | None = None) -> dict:
    """The Vega-Lite spec of one metric series: its rows inlined as `datasets["points"]`, drawn against the step.

    Built as a plain dict from the series (Altair costs ~30 ms a chart, which a site of thousands of
    runs would pay per curve); the Vega-Lite schema check is in the tests. `zoom` (the levels manifest of a
    long series, see `zoom_manifest`) goes into `usermeta.fs.zoom` for charts.js.
    """
    span = int(series.times[-1]) - origin if len(series) else 0
    divisor, _ = _relative_unit(span)
    x = x_encodings(span)
    note = subtitle(series)
    title = {"text": key, "anchor": "start", **({"subtitle": note} if note else {})}
    return {
        "$schema": alt.SCHEMA_URL,
        "config": {"view": {"continuousWidth": 300, "continuousHeight": 300}},
        "data": {"name": DATA_NAME},
        "datasets": {DATA_NAME: series_rows(series, origin)},
        "encoding": {"x": x["step"]},
        "height": CHART_HEIGHT,
        "layer": _layers(key, series.bucketed),
        "params": [_hover_param(), _zoom_param()],
        "title": title,
        "transform": [{"calculate": f"datum.t + {int(origin)}", "as": "w"},
                      {"calculate": f"datum.t / {divisor}", "as": "r"}],
        "usermeta": {"fs": {"kind": "metric", "data": DATA_NAME, "x": x, "shown": len(series),
                            "total": series.total, "dropped": series.dropped, **({"zoom": zoom} if zoom else {})}},
        "width": "container",
    }


def metric_spec(run: Run, key: str, *, max_points: int = MAX_POINTS, origin: int | None = None,
                zoom_file: str | None = None, factor: int = FACTOR) -> dict:
    """The spec of metric `key` of `run`, with its (possibly bucketed) points inlined.

    `origin` (time zero of relative time) defaults to `run_origin(run)`; pass it when drawing many keys.
    With `zoom_file` (where the chunk files of the finer levels are, relative to the page), a series of
    more than `max_points` points inlines level 0 of its levels (reporter/charts/levels.py) and names the
    finer ones in `usermeta.fs.zoom`; without it, today's buckets.
    """
    history = run.metrics[key]
    origin = run_origin(run) if origin is None else origin
    if zoom_file is None:
        return series_spec(downsample(history.steps, history.values, history.timestamps, max_points), key, origin)
    steps, values, times, dropped = clean_series(history.steps, history.values, history.timestamps)
    if len(values) <= max_points:
        return series_spec(Series(steps, times, values, None, None, len(values), dropped), key, origin)
    levels = level_plan(len(values), max_points, factor)
    top = bucketize(steps, times, values, levels.sizes[0])
    series = Series(top.steps, top.times, top.values, top.lo, top.hi, total=len(values), dropped=dropped)
    return series_spec(series, key, origin, zoom_manifest(levels.manifest(), zoom_file, origin, series))


def zoom_manifest(levels: dict, file: str, origin: int, series: Series) -> dict:
    """What charts.js needs to load finer levels: the level sizes, the chunk files' prefix and the time units."""
    span = int(series.times[-1]) - origin if len(series) else 0
    return {**levels, "file": file, "origin": int(origin), "divisor": _relative_unit(span)[0]}


def run_origin(run: Run) -> int:
    """Time zero of relative time: the run's start, or its first metric point if earlier or unknown."""
    firsts = [int(np.min(h.timestamps)) for h in run.metrics.values() if len(h)]
    candidates = firsts + ([run.start_time] if run.start_time is not None else [])
    return int(min(candidates)) if candidates else 0


def run_chart_sections(run: Run, *, max_points: int = MAX_POINTS, id_prefix: str = "fs-metric-",
                       zoom_files: Callable[[str], str] | None = None) -> list[ChartSection]:
    """Every metric chart of a run page, grouped into sections by key prefix (`train/`, `val/`...).

    Spec ids are `id_prefix` + a running number in section order, so they are stable for the same run.
    Metrics with no finite point get no chart. `zoom_files(key)` names the chunk files of a long series
    (a page whose site has them); without it long series are bucketed once, as on the compare page.
    """
    keys = [key for key, history in run.metrics.items() if len(history)]
    sections = []
    counter = 0
    origin = run_origin(run)
    for name, section_keys in group_metric_keys(keys):
        blocks = []
        for key in section_keys:
            spec = metric_spec(run, key, max_points=max_points, origin=origin,
                               zoom_file=zoom_files(key) if zoom_files else None)
            if not spec["datasets"][DATA_NAME]:
                continue
            blocks.append(ChartBlock(f"{id_prefix}{counter}", key, spec))
            counter += 1
        if blocks:
            sections.append(ChartSection(name, blocks))
    return sections
