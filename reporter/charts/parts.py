"""Pieces the experiment and compare charts share: the runs lookup, titles, colours, the zoom and cursor layers.

Every curve chart (overlays, the run page's metrics) carries an interval param `zoom` bound to the x scale:
drag to pan, wheel to zoom, double-click to reset. charts.js adds the shared hover cursor to the same charts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import altair as alt
import pandas as pd

from reporter.charts.common import finite, lower_is_better

SELECTION_FILTER = "indexof(selected_runs, datum.id) >= 0"
LOG_DECADES = 2  # positive values spanning more than this many powers of ten are drawn on a log scale


def runs_rows(frame: pd.DataFrame) -> list[dict]:
    return [{"i": int(r.i), "id": r.id, "name": str(r.name)} for r in frame[["i", "id", "name"]].itertuples()]


def spec_of(chart: alt.TopLevelMixin, datasets: dict, **meta) -> dict:
    spec = chart.to_dict(validate=False)  # schema-checked in the tests
    spec["datasets"] = datasets
    spec["usermeta"] = {"fs": meta}
    return spec


def with_runs(chart, selection: bool):
    """Names (and ids) looked up from the `runs` dataset; with `selection`, only the selected runs."""
    runs = alt.LookupData(alt.Data(name="runs"), key="i", fields=["id", "name"])
    chart = chart.transform_lookup(lookup="i", from_=runs)
    return chart.transform_filter(SELECTION_FILTER) if selection else chart


def chart_title(text: str, *notes: str) -> alt.Title:
    subtitle = "; ".join(n for n in notes if n)
    return alt.Title(text, subtitle=subtitle, anchor="start") if subtitle else alt.Title(text, anchor="start")


def direction(metric: str) -> str:
    return "lower is better" if lower_is_better(metric) else "higher is better"


def colour_scale(metric: str) -> alt.Scale:
    # the same colour means "good" whichever way the metric points
    return alt.Scale(scheme="viridis", reverse=lower_is_better(metric))


def zoom_param() -> alt.Parameter:
    """Drag (pan) and wheel (zoom) on x, double-click to reset: an interval selection bound to the scales."""
    return alt.selection_interval(name="zoom", bind="scales", encodings=["x"])


def spans_decades(values: Iterable) -> bool:
    """Whether the values are all positive and span more than LOG_DECADES powers of ten (a log axis reads better)."""
    numbers = [v for v in (finite(x) for x in values) if v is not None]
    if len(numbers) < 2 or min(numbers) <= 0:
        return False
    return math.log10(max(numbers) / min(numbers)) > LOG_DECADES
