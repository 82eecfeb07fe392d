"""Experiment and compare page charts: metric overlays, parallel coordinates, scatter, heatmap, box.

Each page computes its runs table once (`runs_frame`: one row per run, params and latest metrics)
and hands it to every spec function. Every spec carries a dataset `runs` ([{i, id, name}], one row
per run) and refers to runs by the short index `i` elsewhere, so long ids and names are not
repeated per point; a lookup transform brings names (and ids) back. Values that are missing, NaN
or Inf are left out in Python and counted in the chart's subtitle (the scatter, whose axes are
chosen in the page, counts them in a text layer).

With `selection=True` (the compare page, `reporter.site.compare`) a chart holds every run given and
filters on the Vega-Lite param `selected_runs`, which charts.js sets from the page URL
(`?runs=id1,id2`, see usermeta.fs.selection).
A chart with nothing to draw still gets a spec, with `usermeta.fs.empty` saying why in one line: charts.js
shows that line in the chart's place instead of an empty plot with a `NaN` legend.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from logger.model import Run, require_points

from reporter.charts.common import (  # the runs-table helpers are imported from here by the pages too
    CHART_HEIGHT,
    ChartBlock,
    ChartSection,
    best_rows,
    chart_title,
    colour_scale,
    curve_keys,
    differing_params,
    direction,
    finite,
    left_out_note,
    logged_metrics,
    lower_is_better,
    param_is_numeric,
    pick_primary_metric,
    plural,
    runs_frame,
    runs_rows,
    spans_decades,
    spec_of,
    with_runs,
    zoom_param,
)
from reporter.charts.downsample import downsample, round_sig

OVERLAY_POINTS = 200  # per run: overlays compare shapes, the run page has the detail
GRID_LEVELS = 12  # up to this many distinct values a param is drawn as discrete cells, not bins


# ---- metric overlays ---------------------------------------------------------------------------

def overlay_spec(runs: list[Run], frame: pd.DataFrame, key: str, *, note: str = "", selection: bool = False,
                 max_points: int = OVERLAY_POINTS, ranked_by: str = "") -> dict:
    """Metric `key` of every run in `runs`, one line per run, each downsampled to `max_points` points.

    `frame` is the runs table of `runs` (row `i` is `runs[i]`); the names come from it. With `ranked_by`
    (a metric), `runs` are the best runs by it and the subtitle counts the lines actually drawn.
    """
    require_points(*runs)  # runs known from the build cache hold a summary of each metric, not every point
    rows, without = [], 0
    for index, run in enumerate(runs):
        history = run.metrics.get(key)
        series = downsample(history.steps, history.values, history.timestamps, max_points) if history else None
        if series is None or not len(series):
            without += 1
            continue
        rows += [{"i": index, "s": int(s), "v": round_sig(float(v))} for s, v in zip(series.steps, series.values)]
    base = with_runs(alt.Chart(alt.Data(name="points")), selection)
    chart = base.mark_line(strokeWidth=1.5).encode(
        x=alt.X("s:Q", title="step"),
        y=alt.Y("v:Q", title=key),
        color=alt.Color("name:N", title="run", legend=alt.Legend(orient="bottom", columns=2, labelLimit=240)),
        detail="i:N",
        tooltip=[alt.Tooltip("name:N", title="run"), alt.Tooltip("s:Q", title="step"),
                 alt.Tooltip("v:Q", title=key, format=".7~g")],
    )
    params = [zoom_param()] + ([alt.param(name="selected_runs", value=[])] if selection else [])
    chart = chart.add_params(*params)
    drawn = len(runs) - without
    if ranked_by:
        notes = [f"{plural(drawn, 'best run')} by {ranked_by} ({direction(ranked_by)})",
                 f"{without} of the {len(runs)} best have no {key}" if without else ""]
    else:
        notes = [left_out_note(without) if not selection else ""]
    chart = chart.properties(title=chart_title(key, note, *notes), width="container", height=CHART_HEIGHT)
    meta: dict = {"kind": "overlay", "runs": drawn, "data": "points"}
    if selection:
        meta["selection"] = "url"
    if not rows:
        meta["empty"] = f"None of the {len(runs)} best runs by {ranked_by} logged {key}" if ranked_by else \
            f"No run logged {key}"
    return spec_of(chart, {"points": rows, "runs": runs_rows(frame)}, **meta)


# ---- parallel coordinates ----------------------------------------------------------------------

def parallel_spec(frame: pd.DataFrame, primary: str, params: list[str] | None = None, *,
                  selection: bool = False) -> dict:
    """One polyline per run across `params` (default: those that differ, up to 6) and the primary metric.

    Numeric axes are normalised to [0, 1] in the spec (min/max over the runs shown); categorical axes
    put their sorted categories at evenly spaced positions. Runs missing any axis are left out.
    """
    if params is None:
        # axes from the runs that can be drawn: a sweep's parent (no metric, params of its own) must not
        # add an axis that every child lacks, which would leave every line out
        metric = frame.get(f"m:{primary}")
        ranked = frame[metric.notna()] if metric is not None and metric.notna().any() else frame
        params = differing_params(ranked)
    fields, dims, cat_ticks = [], [], []
    wide = pd.DataFrame({"i": frame["i"]})
    for n, name in enumerate(params):
        column = frame.get(f"p:{name}", pd.Series([None] * len(frame)))
        field = f"d{n}"
        if param_is_numeric(column):
            wide[field] = [finite(v) for v in column]
            dims.append({"k": field, "label": name, "cat": 0, "log": int(spans_decades(column))})
        else:
            present = column.dropna().astype(str)
            categories = sorted(present.unique())
            spacing = {c: (j / (len(categories) - 1) if len(categories) > 1 else 0.5) for j, c in enumerate(categories)}
            wide[field] = [None if pd.isna(v) else spacing[str(v)] for v in column]
            dims.append({"k": field, "label": name, "cat": 1, "log": 0})
            cat_ticks += [{"label": name, "y": spacing[c], "text": c} for c in categories]
        fields.append(field)
    metric_label = primary if primary not in params else f"{primary} (metric)"
    wide["m"] = frame.get(f"m:{primary}", pd.Series([None] * len(frame)))
    dims.append({"k": "m", "label": metric_label, "cat": 0, "log": int(spans_decades(wide["m"]))})
    complete = wide.dropna()
    left_out = len(wide) - len(complete)
    rows = [{k: (int(v) if k == "i" else round_sig(float(v))) for k, v in row.items()}
            for row in complete.to_dict("records")]
    order = [str(d["label"]) for d in dims]

    def folded(chart):
        return (
            with_runs(chart, selection)
            .transform_fold([d["k"] for d in dims], as_=["k", "val"])
            .transform_joinaggregate(lo="min(val)", hi="max(val)", groupby=["k"])
            .transform_lookup(lookup="k", from_=alt.LookupData(alt.Data(name="dims"), key="k",
                                                                fields=["label", "cat", "log"]))
            .transform_calculate(y="datum.cat ? datum.val : datum.hi > datum.lo ? (log_scale && datum.log"
                                   " ? log(datum.val / datum.lo) / log(datum.hi / datum.lo)"
                                   " : (datum.val - datum.lo) / (datum.hi - datum.lo)) : 0.5")
        )

    x = alt.X("label:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, orient="top", labelLimit=140))
    y_scale = alt.Scale(domain=[0, 1])
    lines = folded(alt.Chart(alt.Data(name="wide"))).mark_line(opacity=0.7).encode(
        x=x, y=alt.Y("y:Q", scale=y_scale, axis=None), detail="i:N",
        color=alt.Color("m:Q", title=primary, scale=colour_scale(primary)),
        tooltip=[alt.Tooltip("name:N", title="run"), alt.Tooltip("label:N", title="axis"),
                 alt.Tooltip("val:Q", title="value", format=".7~g")],
    )
    axes = alt.Chart(alt.Data(name="dims")).mark_rule(color="#888").encode(x=x)
    numeric_ticks = (
        folded(alt.Chart(alt.Data(name="wide")))
        .transform_filter("!datum.cat")
        .transform_aggregate(lo="min(val)", hi="max(val)", groupby=["label"])
        .transform_fold(["lo", "hi"], as_=["end", "tick"])
        .transform_calculate(y="datum.end == 'hi' ? 1 : 0")
        .mark_text(align="left", dx=3, fontSize=10)
        .encode(x=x, y=alt.Y("y:Q", scale=y_scale, axis=None), text=alt.Text("tick:Q", format=".4~g"))
    )
    layers = [axes, lines, numeric_ticks]
    if cat_ticks:
        layers.append(alt.Chart(alt.Data(name="cats")).mark_text(align="left", dx=3, fontSize=10).encode(
            x=x, y=alt.Y("y:Q", scale=y_scale, axis=None), text="text:N"))
    logged = [str(d["label"]) for d in dims if d["log"]]
    # charts.js sets log_scale from the page's "log scale" switch (Vega-Lite cannot switch a scale type by a param)
    chart = alt.layer(*layers).add_params(alt.param(name="log_scale", value=True))
    if selection:
        chart = chart.add_params(alt.param(name="selected_runs", value=[]))
    note = left_out_note(left_out, "without a value on every axis") if not selection else ""
    chart = chart.properties(title=chart_title(f"parallel coordinates, coloured by {primary}", direction(primary),
                                               note), width="container", height=300)
    datasets = {"wide": rows, "dims": dims, "cats": cat_ticks, "runs": runs_rows(frame)}
    meta: dict = {"kind": "parallel", "runs": len(rows), "left_out": left_out, "log": logged}
    if selection:
        meta["selection"] = "url"
    if not rows:
        meta["empty"] = f"No run has a value on every axis ({', '.join(order)})"
    return spec_of(chart, datasets, **meta)


# ---- scatter -----------------------------------------------------------------------------------

SCATTER_FIELDS = 60


def scatter_spec(frame: pd.DataFrame, primary: str, *, selection: bool = False) -> dict:
    """Any numeric param or metric against any other, chosen with two select inputs (params `scatter_x`/`scatter_y`)."""
    params = [p for p in differing_params(frame, limit=None) if param_is_numeric(frame[f"p:{p}"])]
    # A select of thousands of options helps nobody and costs Altair seconds each: the primary metric
    # and the first columns only (the table and the compare view show every value).
    metrics = logged_metrics(frame)
    metrics = ([primary] if primary in metrics else []) + [k for k in metrics if k != primary]
    params, metrics = params[:SCATTER_FIELDS], metrics[:max(1, SCATTER_FIELDS - min(len(params), SCATTER_FIELDS))]
    fields = {f"p{n}": ("p:" + name, name) for n, name in enumerate(params)}
    fields.update({f"m{n}": ("m:" + key, key) for n, key in enumerate(metrics)})
    rows = []
    for record in frame.to_dict("records"):
        row: dict[str, float] = {"i": int(record["i"])}
        for field, (column, _) in fields.items():
            value = finite(record.get(column))
            if value is not None:
                row[field] = round_sig(value)
        rows.append(row)
    options = list(fields)
    labels = [label for _, label in fields.values()]
    y_default = next((f for f, (c, _) in fields.items() if c == f"m:{primary}"), options[0] if options else "m0")
    x_default = next((f for f in options if f != y_default), y_default)
    x_param = alt.param(name="scatter_x", value=x_default,
                        bind=alt.binding_select(options=options, labels=labels, name="x "))
    y_param = alt.param(name="scatter_y", value=y_default,
                        bind=alt.binding_select(options=options, labels=labels, name="y "))
    base = (
        with_runs(alt.Chart(alt.Data(name="table")), selection)
        .transform_calculate(x="datum[scatter_x]", y="datum[scatter_y]")
    )
    points = base.transform_filter("isValid(datum.x) && isValid(datum.y)").mark_point(filled=True, size=60).encode(
        x=alt.X("x:Q", title=None, scale=alt.Scale(zero=False)),
        y=alt.Y("y:Q", title=None, scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("name:N", title="run"), alt.Tooltip("x:Q", format=".7~g"),
                 alt.Tooltip("y:Q", format=".7~g")],
    )
    # how many runs lack the chosen x or y: counted in the browser, since the axes are chosen there
    missing = (
        base.transform_filter("!(isValid(datum.x) && isValid(datum.y))")
        .transform_aggregate(n="count()")
        .transform_filter("datum.n > 0")
        .transform_calculate(text="datum.n + (datum.n == 1 ? ' run' : ' runs') + ' without a value left out'")
        .mark_text(align="left", baseline="bottom", dy=-4, fontSize=11, color="#888")
        .encode(x=alt.value(0), y=alt.value(0), text="text:N")
    )
    params_list = [x_param, y_param] + ([alt.param(name="selected_runs", value=[])] if selection else [])
    chart = alt.layer(points, missing).add_params(*params_list).properties(
        title=chart_title("scatter", "choose x and y below"), width="container", height=300)
    spanning = [f for f, (column, _) in fields.items() if spans_decades(frame.get(column, []))]
    meta = {"kind": "scatter", "fields": {f: label for f, (_, label) in fields.items()}, "log": spanning}
    if selection:
        meta["selection"] = "url"
    return spec_of(chart, {"table": rows, "runs": runs_rows(frame)}, **meta)


# ---- heatmap, box and single-value bars ----------------------------------------------------------

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


# ---- what a page shows -------------------------------------------------------------------------

def experiment_sections(runs: list[Run], tags: dict | None = None, *, id_prefix: str = "fs-exp-") -> list[ChartSection]:
    """The experiment page's charts: overlays of the best runs, then the charts across all runs."""
    frame = runs_frame(runs)
    primary = pick_primary_metric(logged_metrics(frame), tags)
    if primary is None:
        return []
    best = best_rows(frame, primary)
    best_runs, best_frame = [runs[p] for p in best], frame.iloc[best].assign(i=range(len(best)))
    overlays = [ChartBlock(f"{id_prefix}overlay-{n}", key, overlay_spec(best_runs, best_frame, key, ranked_by=primary))
                for n, key in enumerate(curve_keys(runs))]
    across = [ChartBlock(f"{id_prefix}parallel", "parallel coordinates", parallel_spec(frame, primary)),
              ChartBlock(f"{id_prefix}scatter", "scatter", scatter_spec(frame, primary))]
    differing = differing_params(frame, limit=None)
    numeric = [p for p in differing if param_is_numeric(frame[f"p:{p}"])]
    categorical = [p for p in differing if p not in numeric and 1 < frame[f"p:{p}"].nunique() <= 30]
    if len(numeric) >= 2:
        heatmap = heatmap_spec(frame, primary, numeric[0], numeric[1])
        across.append(ChartBlock(f"{id_prefix}heatmap", "heatmap", heatmap))
    if categorical:
        across.append(ChartBlock(f"{id_prefix}box", "box", box_spec(frame, primary, categorical[0])))
    sections = [ChartSection("metrics", overlays)] if overlays else []
    return sections + [ChartSection("runs", across)]
