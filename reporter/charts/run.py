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

import functools
import json

import altair as alt
import numpy as np

from logger.model import Run
from reporter.charts.common import CHART_HEIGHT, ChartBlock, ChartSection, group_metric_keys, plural
from reporter.charts.downsample import MAX_POINTS, Series, downsample, round_sig

DATA_NAME = "points"
X_MODES = ("step", "rel", "wall")

# Relative time is shown in the largest unit that keeps numbers readable.
_TIME_UNITS = ((3 * 86400_000, 86400_000, "days"), (3 * 3600_000, 3600_000, "hours"), (3 * 60_000, 60_000, "minutes"))


def series_rows(series: Series, origin: int) -> list[dict]:
    """Compact rows of a series (see the module docstring); values rounded to 7 significant digits."""
    rows = []
    bucketed = series.bucketed
    for i in range(len(series)):
        row = {"s": int(series.steps[i]), "t": int(series.times[i]) - origin, "v": round_sig(float(series.values[i]))}
        if bucketed:
            row["lo"] = round_sig(float(series.lo[i]))
            row["hi"] = round_sig(float(series.hi[i]))
        rows.append(row)
    return rows


def _relative_unit(span_ms: int) -> tuple[int, str]:
    for threshold, divisor, name in _TIME_UNITS:
        if span_ms >= threshold:
            return divisor, name
    return 1000, "seconds"


def x_encodings(span_ms: int) -> dict[str, dict]:
    """The x encoding for each x-axis mode, as Vega-Lite dicts (charts.js swaps them in)."""
    return json.loads(_x_encodings_json(_relative_unit(span_ms)[1]))


@functools.lru_cache(maxsize=None)
def _x_encodings_json(unit: str) -> str:
    return json.dumps({
        "step": alt.X("s:Q", title="step").to_dict(validate=False),
        "rel": alt.X("r:Q", title=f"relative time ({unit})").to_dict(validate=False),
        "wall": alt.X("w:T", title="wall-clock time").to_dict(validate=False),
    })


def subtitle(series: Series) -> str:
    parts = []
    if series.bucketed:
        parts.append(f"showing {len(series):,} of {plural(series.total, 'point')} (min/max band per bucket)")
    if series.dropped:
        parts.append(f"{plural(series.dropped, 'NaN/Inf value')} left out")
    return "; ".join(parts)


def metric_chart(series: Series, key: str, origin: int, x_mode: str = "step",
                 note_override: str | None = None) -> alt.LayerChart:
    """The layered chart of one metric (data-less: it reads the named dataset "points")."""
    if x_mode not in X_MODES:
        raise ValueError(f"unknown x-axis mode {x_mode!r}; expected one of {', '.join(X_MODES)}")
    span = int(series.times[-1]) - origin if len(series) else 0
    divisor, _ = _relative_unit(span)
    base = alt.Chart(alt.Data(name=DATA_NAME))
    y_title = key
    hover = alt.selection_point(name="hover", on="pointerover", nearest=True, fields=["s"], empty=False, clear="pointerout")
    layers = []
    if series.bucketed:
        layers.append(base.mark_area(opacity=0.25).encode(y=alt.Y("lo:Q", title=y_title), y2="hi:Q"))
    layers.append(base.mark_line(opacity=0.3, strokeWidth=1).encode(y=alt.Y("v:Q", title=y_title)))
    layers.append(
        base.transform_calculate(y="isValid(datum.sm) ? datum.sm : datum.v")
        .mark_line(strokeWidth=1.8)
        .encode(y=alt.Y("y:Q", title=y_title))
    )
    tooltip = [
        alt.Tooltip("s:Q", title="step"),
        alt.Tooltip("w:T", title="time", format="%Y-%m-%d %H:%M:%S"),
        alt.Tooltip("r:Q", title="relative", format=".4~g"),
        alt.Tooltip("v:Q", title="value" if not series.bucketed else "last value", format=".7~g"),
        alt.Tooltip("y:Q", title="smoothed", format=".7~g"),
    ]
    if series.bucketed:
        tooltip += [alt.Tooltip("lo:Q", title="min", format=".7~g"), alt.Tooltip("hi:Q", title="max", format=".7~g")]
    layers.append(
        base.transform_calculate(y="isValid(datum.sm) ? datum.sm : datum.v")
        .mark_point(filled=True, size=40)
        .encode(
            y=alt.Y("y:Q", title=y_title),
            opacity=alt.condition(hover, alt.value(1), alt.value(0)),
            tooltip=tooltip,
        )
        .add_params(hover)
        .properties(name="hover_points")  # explicit: Altair would number views with a global counter
    )
    x = x_encodings(span)[x_mode]
    note = subtitle(series) if note_override is None else note_override
    title = alt.Title(key, subtitle=note, anchor="start") if note else alt.Title(key, anchor="start")
    return (
        alt.layer(*layers)
        .encode(x=x)
        .transform_calculate(w=f"datum.t + {origin}", r=f"datum.t / {divisor}")
        .properties(title=title, width="container", height=CHART_HEIGHT)
    )


def metric_spec(run: Run, key: str, *, max_points: int = MAX_POINTS, x_mode: str = "step",
                origin: int | None = None) -> dict:
    """The Vega-Lite spec (dict) of metric `key` of `run`, with its (possibly bucketed) points inlined.

    `origin` (time zero of relative time) defaults to `run_origin(run)`; pass it when drawing many keys.
    """
    history = run.metrics[key]
    series = downsample(history.steps, history.values, history.timestamps, max_points)
    origin = run_origin(run) if origin is None else origin
    spec = _spec_like(series, key, origin, x_mode)
    spec["datasets"] = {DATA_NAME: series_rows(series, origin)}
    span = int(series.times[-1]) - origin if len(series) else 0
    spec["usermeta"] = {
        "fs": {
            "kind": "metric",
            "data": DATA_NAME,
            "x": x_encodings(span),
            "shown": len(series),
            "total": series.total,
            "dropped": series.dropped,
        }
    }
    return spec


# Building a chart with Altair costs ~30 ms, which a site of thousands of runs pays per curve. Charts of
# the same shape differ only in the key, the origin and the subtitle: build each shape once with
# placeholders, then fill them in as text (JSON-escaped), which costs microseconds.
_KEY, _ORIGIN, _NOTE = "@@fs-key@@", 4_000_000_000_000_123, "@@fs-note@@"


@functools.lru_cache(maxsize=64)
def _shape(bucketed: bool, divisor: int, x_mode: str, has_note: bool, dropped: bool) -> str:
    stand_in = Series(steps=np.array([0]), times=np.array([0]), values=np.array([0.0]),
                      lo=np.array([0.0]) if bucketed else None, hi=np.array([0.0]) if bucketed else None,
                      total=2 * MAX_POINTS if bucketed else 1, dropped=1 if dropped else 0)
    span = {86400_000: 4 * 86400_000, 3600_000: 4 * 3600_000, 60_000: 4 * 60_000}.get(divisor, 0)
    stand_in.times[0] = span
    chart = metric_chart(stand_in, _KEY, 0, x_mode, note_override=_NOTE if has_note else "")
    text = json.dumps(chart.to_dict(validate=False))  # schema-checked in the tests; validation costs 0.1 s
    return text.replace("datum.t + 0", f"datum.t + {_ORIGIN}")


def _spec_like(series: Series, key: str, origin: int, x_mode: str) -> dict:
    span = int(series.times[-1]) - origin if len(series) else 0
    note = subtitle(series)
    text = _shape(series.bucketed, _relative_unit(span)[0], x_mode, bool(note), bool(series.dropped))
    text = text.replace(_KEY, json.dumps(key)[1:-1]).replace(str(_ORIGIN), str(int(origin)))
    return json.loads(text.replace(_NOTE, json.dumps(note)[1:-1]))


def run_origin(run: Run) -> int:
    """Time zero of relative time: the run's start, or its first metric point if earlier or unknown."""
    firsts = [int(np.min(h.timestamps)) for h in run.metrics.values() if len(h)]
    candidates = firsts + ([run.start_time] if run.start_time is not None else [])
    return int(min(candidates)) if candidates else 0


def run_chart_sections(run: Run, *, max_points: int = MAX_POINTS, id_prefix: str = "fs-metric-") -> list[ChartSection]:
    """Every metric chart of a run page, grouped into sections by key prefix (`train/`, `val/`...).

    Spec ids are `id_prefix` + a running number in section order, so they are stable for the same run.
    Metrics with no finite point get no chart.
    """
    keys = [key for key, history in run.metrics.items() if len(history)]
    sections = []
    counter = 0
    origin = run_origin(run)
    for name, section_keys in group_metric_keys(keys):
        blocks = []
        for key in section_keys:
            spec = metric_spec(run, key, max_points=max_points, origin=origin)
            if not spec["datasets"][DATA_NAME]:
                continue
            blocks.append(ChartBlock(f"{id_prefix}{counter}", key, spec))
            counter += 1
        if blocks:
            sections.append(ChartSection(name, blocks))
    return sections
