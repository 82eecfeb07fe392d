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

Every chart-specific setting charts.js needs is in the spec's `usermeta.fs` (ignored by Vega-Lite).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
from markupsafe import Markup, escape

from logger.values import natural_key, natural_sorted

# Keys users commonly log as "the" metric, most telling first; the first one present is the primary metric.
COMMON_PRIMARY = ("val_loss", "val/loss", "val_accuracy", "val/accuracy", "f1", "accuracy", "auc", "r2", "rmse", "loss")
PRIMARY_METRIC_TAG = "flowsheet.primary_metric"
# fewer false positives/negatives is better
_LOWER_IS_BETTER = re.compile(r"loss|error|mse|rmse|mae|false_?(?:pos|neg)")

CHART_HEIGHT = 220
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


def lower_is_better(key: str) -> bool:
    """Whether a smaller value of metric `key` is better (losses and errors)."""
    return bool(_LOWER_IS_BETTER.search(key.lower()))


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


@dataclass(frozen=True)
class ChartSection:
    name: str  # "" for metrics without a prefix
    charts: list[ChartBlock]
