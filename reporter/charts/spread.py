"""Charts of one value per run: the heatmap and box plot of the experiment page, the bars of single-value metrics.

A chart with nothing to draw still gets a spec, with `usermeta.fs.empty` saying why in one line:
charts.js shows that line in the chart's place instead of an empty plot with a `NaN` legend.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from reporter.charts.common import CHART_HEIGHT, finite, left_out_note, lower_is_better
from reporter.charts.downsample import round_sig
from reporter.charts.parts import (
    chart_title,
    colour_scale,
    direction,
    runs_rows,
    spans_decades,
    spec_of,
    with_runs,
)

GRID_LEVELS = 12  # up to this many distinct values a param is drawn as discrete cells, not bins


def _axis_encoding(channel, field: str, title: str, values: pd.Series):
    if values.nunique() <= GRID_LEVELS:  # a grid search: one cell per tried value, evenly spaced whatever the scale
        return channel(f"{field}:O", title=title, sort="ascending")
    if spans_decades(values):  # bins of equal width in powers of ten (log10 of the value, named so)
        return channel(f"log_{field}:Q", title=f"{title} (log10)", bin=alt.Bin(maxbins=10))
    return channel(f"{field}:Q", title=title, bin=alt.Bin(maxbins=10))


def _missing(names: list[str]) -> str:
    return " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]


def heatmap_spec(frame: pd.DataFrame, primary: str, x_param: str, y_param: str) -> dict:
    """The best value of `primary` in each cell of two numeric params (binned, or one cell per value)."""
    table = pd.DataFrame({
        "i": frame["i"],
        "a": [finite(v) for v in frame.get(f"p:{x_param}", [None] * len(frame))],
        "b": [finite(v) for v in frame.get(f"p:{y_param}", [None] * len(frame))],
        "m": [finite(v) for v in frame.get(f"m:{primary}", [None] * len(frame))],
    }).dropna()
    left_out = len(frame) - len(table)
    rows = [{"i": int(r.i), "a": round_sig(r.a), "b": round_sig(r.b), "m": round_sig(r.m)} for r in table.itertuples()]
    best = "min" if lower_is_better(primary) else "max"
    chart = alt.Chart(alt.Data(name="table")).transform_calculate(
        log_a="log(datum.a) / LN10", log_b="log(datum.b) / LN10",
    ).mark_rect().encode(
        x=_axis_encoding(alt.X, "a", x_param, table["a"]),
        y=_axis_encoding(alt.Y, "b", y_param, table["b"]),
        color=alt.Color(f"{best}(m):Q", title=f"{best} {primary}", scale=colour_scale(primary)),
        tooltip=[alt.Tooltip(f"{best}(m):Q", title=f"{best} {primary}", format=".7~g"),
                 alt.Tooltip("count():Q", title="runs")],
    ).properties(title=chart_title(f"{primary} by {x_param} and {y_param}", direction(primary),
                                   left_out_note(left_out)),
                 width="container", height=300)
    meta: dict = {"runs": len(rows), "left_out": left_out}
    if not rows:
        meta["empty"] = f"No run has {_missing([x_param, y_param, primary])}"
    return spec_of(chart, {"table": rows}, kind="heatmap", **meta)


def box_spec(frame: pd.DataFrame, primary: str, param: str) -> dict:
    """The spread of `primary` for each value of the categorical `param`."""
    table = pd.DataFrame({
        "i": frame["i"],
        "c": [None if pd.isna(v) else str(v) for v in frame.get(f"p:{param}", [None] * len(frame))],
        "m": [finite(v) for v in frame.get(f"m:{primary}", [None] * len(frame))],
    }).dropna()
    left_out = len(frame) - len(table)
    rows = [{"i": int(r.i), "c": r.c, "m": round_sig(r.m)} for r in table.itertuples()]
    chart = alt.Chart(alt.Data(name="table")).mark_boxplot(extent="min-max", size=28).encode(
        x=alt.X("c:N", title=param, sort="ascending"),
        y=alt.Y("m:Q", title=primary, scale=alt.Scale(zero=False)),
    ).properties(title=chart_title(f"{primary} by {param}", left_out_note(left_out)), width="container", height=300)
    meta: dict = {"runs": len(rows), "left_out": left_out}
    if not rows:
        meta["empty"] = f"No run has both {param} and {primary}"
    return spec_of(chart, {"table": rows}, kind="box", **meta)


def bars_spec(frame: pd.DataFrame, key: str, *, selection: bool = False) -> dict:
    """A metric logged once per run (f1, a test score): one bar per run, in the runs' order.

    Bars have no zoom nor hover cursor: their x is the runs, not steps.

    `frame` is a runs table (`runs_frame`); with `selection`, only the runs of the page's selection.
    """
    values = frame.get(f"m:{key}", pd.Series([None] * len(frame)))
    rows = [{"i": int(i), "v": round_sig(v)} for i, v in zip(frame["i"], (finite(x) for x in values)) if v is not None]
    base = with_runs(alt.Chart(alt.Data(name="points")), selection)
    bars = base.mark_bar().encode(
        x=alt.X("name:N", title="run", sort=None, axis=alt.Axis(labelLimit=140)),
        y=alt.Y("v:Q", title=key),
        tooltip=[alt.Tooltip("name:N", title="run"), alt.Tooltip("v:Q", title=key, format=".7~g")],
    )
    chart = bars.add_params(alt.param(name="selected_runs", value=[])) if selection else bars
    chart = chart.properties(title=chart_title(key, direction(key), "logged once per run"),
                             width="container", height=CHART_HEIGHT)
    meta: dict = {"kind": "bars", "runs": len(rows), "data": "points"}
    if selection:
        meta["selection"] = "url"
    if not rows:
        meta["empty"] = f"No run has a value of {key}"
    return spec_of(chart, {"points": rows, "runs": runs_rows(frame)}, **meta)
