"""What every chart shares: compact deterministic JSON, the script tag a page embeds, metric naming rules.

The chart builders live in `run.py` (run page) and `experiment.py` (experiment and compare pages):
each is a function from a small table to a Vega-Lite spec dict (written out in `run.py`, made with
Altair in `experiment.py`), with the data inlined under the spec's top-level `datasets` (never a
URL: browsers block fetch over file://).

How a page shows a chart (read by `static/charts.js`):

    <script src="{{ static }}/vega-bundle.js"></script>
    <script src="{{ static }}/charts.js"></script>
    <div class="fs-chart-controls"></div>              (run page only: x axis, smoothing, log y)
    <div class="fs-chart" data-spec-id="fs-spec-0"></div>
    {{ chart_script_tag("fs-spec-0", spec) }}          (a <script type="application/json">)

A run page's metric charts inline a compact form instead (`CompactChart`, see run.py) that charts.js
expands with the templates of static/chart-templates.js.

Every chart-specific setting charts.js needs is in the spec's `usermeta.fs` (ignored by Vega-Lite).
Every curve chart (overlays, the run page's metrics) carries an interval param `zoom` bound to the x scale:
drag to pan, wheel to zoom, double-click to reset; charts.js adds the page's shared hover cursor to them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import altair as alt
import orjson
import pandas as pd
from markupsafe import Markup, escape

from logger.model import Run
from logger.values import lower_is_better, natural_key, natural_sorted

# Keys users commonly log as "the" metric, most telling first; the first one present is the primary metric.
COMMON_PRIMARY = ("val_loss", "val/loss", "val_accuracy", "val/accuracy", "f1", "accuracy", "auc", "r2", "rmse", "loss")
PRIMARY_METRIC_TAG = "flowsheet.primary_metric"
# fewer false positives/negatives is better

CHART_HEIGHT = 220
OVERLAY_RUNS = 10
MAX_PARALLEL_PARAMS = 6
SYSTEM_PREFIX = "system"  # the key prefix of system metrics (logger/system_metrics.py), as in MLflow
SYSTEM_SECTION = "System"  # their section, shown after all others


def spec_json(spec: dict) -> str:
    """Compact, key-sorted JSON of a spec, safe to place inside a <script> element.

    Sorted keys make the bytes depend only on the content. `<`, `>` and `&` are written as \\u escapes
    (still the same JSON) so no log value can close the script element. NaN/Inf are refused rather
    than written as null or as invalid JSON: builders must leave them out first.
    """
    _check_finite(spec)
    text = orjson.dumps(spec, option=orjson.OPT_SORT_KEYS).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def chart_script_tag(spec_id: str, spec: dict) -> Markup:
    """The `<script type="application/json" id=...>` element charts.js reads a spec from."""
    tag = Markup('<script type="application/json" id="{}">{}</script>')
    return tag.format(escape(spec_id), Markup(spec_json(spec)))


def _check_finite(obj, path: str = "spec") -> None:
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"non-finite number {obj!r} at {path}: chart builders must leave NaN/Inf out")
    elif isinstance(obj, dict):
        for key, value in obj.items():
            _check_finite(value, f"{path}.{key}")
    elif isinstance(obj, list):
        try:  # a column of numbers, all finite (the points of a chart): checked in one C loop
            if all(map(math.isfinite, obj)):
                return
        except TypeError:
            pass  # not only numbers: each item is looked at below
        for index, value in enumerate(obj):
            _check_finite(value, f"{path}[{index}]")


def finite(x) -> float | None:
    """`x` as a float if it is a finite number (or a numeric string), else None."""
    if isinstance(x, bool) or x is None:
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def pick_primary_metric(keys: Iterable[str], tags: dict | None = None) -> str | None:
    """The metric runs are ranked and coloured by.

    The experiment tag `flowsheet.primary_metric` wins if it names a logged key; then the first of
    COMMON_PRIMARY that is logged; then the first key in natural order. None when nothing is logged.
    """
    available = set(keys)
    if not available:
        return None
    wanted = (tags or {}).get(PRIMARY_METRIC_TAG)
    if wanted is not None and str(wanted) in available:
        return str(wanted)
    for key in COMMON_PRIMARY:
        if key in available:
            return key
    return min(available, key=natural_key)


def group_metric_keys(keys: Iterable[str]) -> list[tuple[str, list[str]]]:
    """Metric keys grouped into sections by the prefix before their first "/".

    Keys without a prefix come first in a section named "" (a page shows them without a heading);
    then each prefix in natural order (m2 before m10); last the machine's own metrics (`system/...`, what
    `start_run(log_system_metrics=True)` logs) in a section named "System". Keys are in natural order within a section.
    """
    sections: dict[str, list[str]] = {}
    for key in natural_sorted(set(keys)):
        prefix, slash, rest = key.partition("/")
        section = prefix if slash and prefix and rest else ""
        if section == SYSTEM_PREFIX:
            section = SYSTEM_SECTION
        sections.setdefault(section, []).append(key)
    return sorted(sections.items(), key=lambda item: (item[0] == SYSTEM_SECTION, item[0] != "", natural_key(item[0])))


def left_out_note(count: int, what: str = "without a value") -> str:
    """The subtitle note for runs a chart could not show ("" when none)."""
    return f"{plural(count, 'run')} {what} left out" if count else ""


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class ChartBlock:
    """One chart of a page: where charts.js finds it (`spec_id`) and what it shows."""

    spec_id: str
    title: str
    spec: dict

    @property
    def kind(self) -> str | None:
        return self.spec.get("usermeta", {}).get("fs", {}).get("kind")

    @property
    def page_form(self) -> dict:
        """What the page inlines for this chart."""
        return self.spec


@dataclass(frozen=True)
class CompactChart:
    """A chart a page inlines in compact form: what fills a template that every chart of its kind shares
    (the site has it once, in static/chart-templates.js; see charts/run.py `page_chart`). charts.js
    expands the two into the full spec; so does `spec`, made only when asked."""

    spec_id: str
    title: str
    kind: str
    page_form: dict
    template_id: str
    template: dict
    expand: Callable[[dict, dict], dict]  # (template, page_form) -> spec

    @functools.cached_property
    def spec(self) -> dict:
        return self.expand(self.template, self.page_form)


@dataclass(frozen=True)
class ChartSection:
    name: str  # "" for metrics without a prefix
    charts: Sequence[ChartBlock | CompactChart]


# ---- shared by the experiment and compare charts ------------------------------------------------

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


# ---- runs as a table ---------------------------------------------------------------------------

def runs_frame(runs: list[Run]) -> pd.DataFrame:
    """One row per run: `i`, `id`, `name`, `p:<param>` (as logged) and `m:<metric>` (latest value or NaN)."""
    rows = []
    for index, run in enumerate(runs):
        row = {"i": index, "id": run.run_id, "name": run.name or run.run_id[:8]}
        row.update({f"p:{k}": v for k, v in run.params.items()})
        row.update({f"m:{k}": finite(v) for k, v in run.latest_metrics().items()})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=None if rows else ["i", "id", "name"])
    keys = natural_sorted(c for c in frame.columns if c[:2] in ("p:", "m:"))
    return frame.reindex(columns=["i", "id", "name"] + keys)


def logged_metrics(frame: pd.DataFrame) -> list[str]:
    """Metric keys (without `m:`) with a point in some run of the table, in natural order."""
    return [column[2:] for column in frame.columns if column.startswith("m:")]


def curve_keys(runs: list[Run]) -> list[str]:
    """Metrics worth an overlay: logged at more than one point in some run (single values go to the scatter)."""
    return natural_sorted({key for run in runs for key, history in run.metrics.items() if len(history) > 1})


def param_is_numeric(values: pd.Series) -> bool:
    present = values.dropna()
    return len(present) > 0 and all(finite(v) is not None for v in present)


def differing_params(frame: pd.DataFrame, limit: int | None = MAX_PARALLEL_PARAMS) -> list[str]:
    """Params (without `p:`) whose value is not the same in every run, in natural order, at most `limit`."""
    names = []
    for column in frame.columns:
        if column.startswith("p:") and frame[column].astype("string").nunique(dropna=False) > 1:
            names.append(column[2:])
    return names if limit is None else names[:limit]


def best_rows(frame: pd.DataFrame, metric: str, n: int = OVERLAY_RUNS) -> list[int]:
    """Positions of the `n` rows with the best latest value of `metric` (rows without a value come last)."""
    sign = 1 if lower_is_better(metric) else -1
    values = frame.get(f"m:{metric}", pd.Series([None] * len(frame)))

    def rank(position: int):
        value = finite(values.iloc[position])
        return (value is None, sign * value if value is not None else 0.0, position)

    return sorted(range(len(frame)), key=rank)[:n]
