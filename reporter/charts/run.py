"""Run page charts: one chart per metric key, with a switchable x axis, smoothing and a log y scale.

Each spec inlines its points under `datasets["points"]`, one compact row per point:
`s` step, `t` milliseconds since the run's first point, `v` value (a bucket's last value), and for
bucketed series `lo`/`hi` (the bucket's min and max). Wall-clock and relative time are computed in
the spec from `t` (the run's origin is a constant in the spec), so rows stay short.

The smoothed line reads field `sm`, which charts.js computes (debiased EMA, as TensorBoard does) and
pushes into the view with `view.change("points", ...)`: Vega-Lite has no recursive transform. Without
charts.js the smoothed layer falls back to the raw value. The x-axis variants and the y scale type
are switched by charts.js from `usermeta.fs` (Vega-Lite cannot change a scale type from a param).

A run page does not inline these specs whole: every chart's spec is `metric_template` (two variants,
in the site once as static/chart-templates.js) with its "$fs:" holes filled, so the page carries per
chart only `page_chart`: the fill and the points as columns (what an earlier chart has alike is named,
not repeated: `share_with_earlier`). charts.js and `expand_page_chart` make the same spec from it.
A series of more than `max_points` points there inlines level 0 of its zoom levels (levels.py) and
names the chunk files of the finer ones (chunks.py), which static/zoom.js loads as the user zooms.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Mapping

import altair as alt
import numpy as np
import orjson

from logger.model import Run

from reporter.charts.common import (
    CHART_HEIGHT,
    ChartBlock,
    ChartSection,
    CompactChart,
    group_metric_keys,
    plural,
    spec_json,
)
from reporter.charts.downsample import MAX_POINTS, Series, clean_series, downsample, round_sig
from reporter.charts.levels import FACTOR, bucketize, int_column
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


HOLE = "$fs:"  # in a template, the string "$fs:name" stands for fill["name"] (left out when the fill has none)
TEMPLATE_IDS = {False: "fs-metric-line", True: "fs-metric-band"}  # names in static/chart-templates.js
TEMPLATES_SCRIPT = "chart-templates.js"


def metric_template(bucketed: bool) -> dict:
    """The spec every metric chart of a run page shares, with holes for what differs (see `metric_fill`).

    A run page carries each template it uses once; each chart carries only its fill and its columns.
    """
    x = {"step": _field("s", "quantitative", "step"), "rel": _field("r", "quantitative", HOLE + "rel_title"),
         "wall": _field("w", "temporal", "wall-clock time")}
    return {
        "$schema": alt.SCHEMA_URL,
        "config": {"view": {"continuousWidth": 300, "continuousHeight": 300}},
        "data": {"name": DATA_NAME},
        "encoding": {"x": x["step"]},
        "height": CHART_HEIGHT,
        "layer": _layers(HOLE + "key", bucketed),
        "params": [_hover_param(), _zoom_param()],
        "title": {"text": HOLE + "key", "anchor": "start", "subtitle": HOLE + "subtitle"},
        "transform": [{"calculate": HOLE + "wall", "as": "w"}, {"calculate": HOLE + "rel", "as": "r"}],
        "usermeta": {"fs": {"kind": "metric", "data": DATA_NAME, "x": x, "shown": HOLE + "shown",
                            "total": HOLE + "total", "dropped": HOLE + "dropped", "zoom": HOLE + "zoom"}},
        "width": "container",
    }


def templates_js() -> str:
    """static/chart-templates.js: the run page's chart templates by id (`<` and `&` escaped as in pages)."""
    templates = {TEMPLATE_IDS[band]: metric_template(band) for band in (False, True)}
    return f"window.FLOWSHEET_TEMPLATES = {spec_json(templates)};\n"


def metric_fill(series: Series, key: str, origin: int, zoom: dict | None = None) -> dict:
    """What fills the holes of `metric_template` for one series."""
    span = int(series.times[-1]) - origin if len(series) else 0
    divisor, unit = _relative_unit(span)
    note = subtitle(series)
    fill = {"key": key, "rel_title": f"relative time ({unit})", "wall": f"datum.t + {int(origin)}",
            "rel": f"datum.t / {divisor}", "shown": len(series), "total": series.total, "dropped": series.dropped}
    if note:
        fill["subtitle"] = note
    if zoom:
        fill["zoom"] = zoom
    return fill


def fill_template(template, fill: dict):
    """A copy of `template` with every hole filled; a hole `fill` lacks is left out of its object."""
    if isinstance(template, str) and template.startswith(HOLE):
        return fill.get(template[len(HOLE):])
    if isinstance(template, dict):
        filled = {k: fill_template(v, fill) for k, v in template.items()}
        return {k: v for k, v in filled.items()
                if v is not None or not (isinstance(template[k], str) and template[k].startswith(HOLE))}
    if isinstance(template, list):
        return [fill_template(v, fill) for v in template]
    return template


def series_spec(series: Series, key: str, origin: int, zoom: dict | None = None) -> dict:
    """The Vega-Lite spec of one metric series: its rows inlined as `datasets["points"]`, drawn against the step.

    Built as a plain dict from the series (Altair costs ~30 ms a chart, which a site of thousands of
    runs would pay per curve); the Vega-Lite schema check is in the tests. `zoom` (the levels manifest of a
    long series, see `zoom_manifest`) goes into `usermeta.fs.zoom` for charts.js.
    """
    spec = fill_template(metric_template(series.bucketed), metric_fill(series, key, origin, zoom))
    spec["datasets"] = {DATA_NAME: series_rows(series, origin)}
    return spec


def page_chart(series: Series, key: str, origin: int, zoom: dict | None = None) -> dict:
    """The run page's form of `series_spec`: its template's id, its fill and its points as columns
    (`s` and `t` as `int_column` writes them, as in the chunk files); charts.js expands it into the same spec."""
    columns = {"s": int_column(series.steps), "t": int_column(series.times - origin),
               "v": [round_sig(float(x)) for x in series.values]}
    if series.bucketed:
        assert series.lo is not None and series.hi is not None  # a bucketed series has both
        columns["lo"] = [round_sig(float(x)) for x in series.lo]
        columns["hi"] = [round_sig(float(x)) for x in series.hi]
    return {"template": TEMPLATE_IDS[series.bucketed], "fill": metric_fill(series, key, origin, zoom),
            "columns": columns}


def metric_spec(run: Run, key: str, *, max_points: int = MAX_POINTS, origin: int | None = None,
                zoom_file: str | None = None, factor: int = FACTOR) -> dict:
    """The spec of metric `key` of `run`, with its (possibly bucketed) points inlined.

    `origin` (time zero of relative time) defaults to `run_origin(run)`; pass it when drawing many keys.
    With `zoom_file` (where the chunk files of the finer levels are, relative to the page), a series of
    more than `max_points` points inlines level 0 of its levels (reporter/charts/levels.py) and names the
    finer ones in `usermeta.fs.zoom`; without it, today's buckets.
    """
    origin = run_origin(run) if origin is None else origin
    series, zoom = metric_series(run, key, max_points, origin, zoom_file, factor)
    return series_spec(series, key, origin, zoom)


def metric_series(run: Run, key: str, max_points: int, origin: int, zoom_file: str | None = None,
                  factor: int = FACTOR) -> tuple[Series, dict | None]:
    """The series a chart of `key` draws, and its zoom manifest (None unless `zoom_file` and a long series)."""
    history = run.metrics[key]
    if zoom_file is None:
        return downsample(history.steps, history.values, history.timestamps, max_points), None
    steps, values, times, dropped = clean_series(history.steps, history.values, history.timestamps)
    if len(values) <= max_points:
        return Series(steps, times, values, None, None, len(values), dropped), None
    levels = level_plan(len(values), max_points, factor)
    top = bucketize(steps, times, values, levels.sizes[0])
    series = Series(top.steps, top.times, top.values, top.lo, top.hi, total=len(values), dropped=dropped)
    return series, zoom_manifest(levels.manifest(), zoom_file, origin, series)


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
    page_forms: dict[str, dict] = {}  # spec id -> compact chart, for the columns one chart takes from another
    first_with: dict[tuple[str, bytes], str] = {}
    for name, section_keys in group_metric_keys(keys):
        blocks: list[ChartBlock | CompactChart] = []
        for key in section_keys:
            series, zoom = metric_series(run, key, max_points, origin, zoom_files(key) if zoom_files else None)
            if not len(series):
                continue
            spec_id = f"{id_prefix}{counter}"
            if zoom_files is None:
                blocks.append(ChartBlock(spec_id, key, series_spec(series, key, origin)))
            else:
                compact = share_with_earlier(page_chart(series, key, origin, zoom), spec_id, first_with)
                page_forms[spec_id] = compact
                blocks.append(CompactChart(spec_id, key, "metric", compact, TEMPLATE_IDS[series.bucketed],
                                           metric_template(series.bucketed),
                                           functools.partial(expand_page_chart, others=page_forms)))
            counter += 1
        if blocks:
            sections.append(ChartSection(name, blocks))
    return sections


SHARED_MIN = 64  # bytes of JSON: shorter columns are not worth a reference
SHARED_FILL = ("rel", "rel_title", "wall", "shown", "total", "dropped")  # alike in the charts of one run
OPTIONAL_FILL = ("subtitle", "zoom")  # the holes `metric_fill` may leave unfilled


def share_with_earlier(compact: dict, spec_id: str, first_with: dict[tuple[str, bytes], str]) -> dict:
    """What equals an earlier chart's on the page becomes {"like": its spec id}, so it is written once:
    steps and times (the keys of one `log_metrics` call share them), and the fill's SHARED_FILL entries
    (the fill then names its other holes, null for one it lacks, and takes the rest from the earlier fill)."""
    for name in ("s", "t"):
        text = orjson.dumps(compact["columns"][name])
        if len(text) < SHARED_MIN:
            continue
        earlier = first_with.setdefault((name, text), spec_id)
        if earlier != spec_id:
            compact["columns"][name] = {"like": earlier}
    fill = compact["fill"]
    earlier = first_with.setdefault(("fill", orjson.dumps([fill[name] for name in SHARED_FILL])), spec_id)
    if earlier != spec_id:
        own = {name: value for name, value in fill.items() if name not in SHARED_FILL}
        compact["fill"] = {"like": earlier, **dict.fromkeys(OPTIONAL_FILL), **own}
    return compact


def page_spec(compact: dict, others: Mapping[str, dict] | None = None) -> dict:
    """The full spec of what a run page inlines for a chart: a compact chart, expanded; any other spec as is.
    `others`: the page's other compact charts by spec id (those whose columns this one takes)."""
    if "template" not in compact:
        return compact
    band = {name: band for band, name in TEMPLATE_IDS.items()}[compact["template"]]
    return expand_page_chart(metric_template(band), compact, others or {})


def expand_page_chart(template: dict, compact: dict, others: Mapping[str, dict]) -> dict:
    """The spec a `page_chart` stands for, made as charts.js makes it (tests compare the two)."""
    fill = compact["fill"]
    if "like" in fill:
        fill = {**others[fill["like"]]["fill"], **fill}
    spec = fill_template(template, fill)
    columns = {name: others[column["like"]]["columns"][name] if isinstance(column, dict) and "like" in column
               else column for name, column in compact["columns"].items()}
    names = [name for name in ("lo", "hi") if name in columns]
    n = len(columns["v"])
    rows = []
    for s, t, i in zip(_integers(columns["s"], n), _integers(columns["t"], n), range(n)):
        rows.append({"s": s, "t": t, "v": columns["v"][i], **{name: columns[name][i] for name in names}})
    spec["datasets"] = {DATA_NAME: rows}
    return spec


def _integers(column: list[int] | dict[str, int], n: int) -> Iterable[int]:
    if isinstance(column, dict):
        return range(column["first"], column["first"] + n * column["step"], column["step"]) if column["step"] else \
            [column["first"]] * n
    return itertools.accumulate(column)
