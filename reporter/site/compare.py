"""The compare page's data: a short summary of every run and the compare charts' specs, in one script file.

`compare.html?runs=id1,id2` is a static page: it loads `compare-data.js` with <script src> (never fetch,
which file:// forbids) and picks the selected runs out of it in the browser. So the file holds every run
of the site, and each run is kept small: display-ready text for the run's facts, params and tags, three
numbers per metric (latest, min, max), and the site paths of its image artifacts (with the name pattern
that matches a randomly named one across runs, and the steps of `log_image(key=, step=)` series). The chart specs are
the compare charts of `reporter.charts.experiment` (downsampled curves that filter on the URL's selection).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from logger.events import encode_non_finite
from logger.model import Experiment, Run
from logger.search import run_row, system_tags

from reporter.charts.common import ChartBlock, ChartSection, lower_is_better, pick_primary_metric
from reporter.charts.experiment import (
    bars_spec,
    curve_keys,
    logged_metrics,
    overlay_spec,
    parallel_spec,
    runs_frame,
    scatter_spec,
)
from reporter.site.artifacts import image_views
from reporter.site.image_names import image_pattern, series_images
from reporter.site.text import duration_ms, format_duration, format_time, source_text
from reporter.site.urls import site_id

COMPARE_POINT_BUDGET = 200_000  # curve points across all runs and keys: keeps compare-data.js (and memory) small
MIN_POINTS, MAX_POINTS = 10, 100
# Charts of the compare page, which is one page for the whole site: a run with 100,000 metric keys must not
# make 100,000 charts (the compare table still lists every metric).
MAX_CURVE_CHARTS, MAX_BAR_CHARTS = 40, 24
SPEC_PREFIX = "fs-cmp-"


def compare_points(run_count: int, key_count: int = 1) -> int:
    """Points per run and metric in the compare overlays: fewer as the site grows, between 10 and 100."""
    return max(MIN_POINTS, min(MAX_POINTS, COMPARE_POINT_BUDGET // max(1, run_count * key_count)))


def run_summary(run: Run, experiments: dict[str, Experiment], run_href: Callable[[str], str],
                images: dict[str, str]) -> dict[str, Any]:
    """What the compare table shows of one run; `images` maps artifact path -> href from the site root."""
    experiment = experiments.get(run.experiment_id)
    row = run_row(run, published=True)
    facts = system_tags(run)
    info = [
        ("Experiment", experiment.name if experiment else run.experiment_id),
        ("Status", run.status),
        ("Start (UTC)", format_time(run.start_time)),
        ("Duration", format_duration(duration_ms(run))),
        ("User", row["attributes"]["user"] or ""),
        ("Source", source_text(run)),
        ("Parent run", run.parent_run_id or ""),
    ]
    metrics = {}
    for key, history in run.metrics.items():
        if not len(history):
            continue
        finite = [v for v in history.values if math.isfinite(v)]
        metrics[key] = [_number(history.values[history.latest_index()]),
                        min(finite) if finite else None, max(finite) if finite else None]
    plain, series = series_images(images)
    patterns = {path: pattern for path in plain if (pattern := image_pattern(path, run.run_id)) != path}
    summary: dict[str, Any] = {
        "id": run.run_id,
        "name": run.name or run.run_id,
        "url": run_href(run.run_id),
        "info": [[label, value] for label, value in info],
        "params": row["params"],
        "metrics": metrics,
        # MLflow's system tags are the facts above (name, user, source, parent) and the description
        "tags": {key: value for key, value in row["tags"].items() if key not in facts},
        "images": plain,
    }
    # only when there are some: most runs have neither, and the compare data holds every run of the site
    if patterns:
        summary["patterns"] = patterns  # image path -> the name pattern that matches it in other runs
    if series:
        summary["series"] = {key: [[step, href] for step, href in steps] for key, steps in series.items()}
    return summary


def site_images(run: Run, run_folder: str, max_bytes: int, log_dir: Path) -> dict[str, str]:
    """Image artifacts of `run` that the build copies, as artifact path -> href from the site root."""
    return {view.path: f"{run_folder}/{view.href}" for view in image_views(run, max_bytes, log_dir) if view.href}


def compare_payload(runs: list[Run], summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The `FLOWSHEET_COMPARE` object: runs by id, and which way each metric is better ("min" or "max")."""
    keys = sorted({key for summary in summaries for key in summary["metrics"]})
    return {"runs": {s["id"]: s for s in summaries},
            "better": {key: "min" if lower_is_better(key) else "max" for key in keys}}


def compare_chart_sections(runs: list[Run], experiments: dict[str, Experiment],
                           runs_by_experiment: dict[str, list[Run]]) -> list[ChartSection]:
    """The compare page's charts: metric overlays across the whole site (a key means the same in every
    experiment) and bars of the metrics logged once per run, then parallel coordinates and scatter per
    experiment, whose params and primary metric are its own. Every chart holds all the runs it covers and
    filters on the URL's selection."""
    keys = curve_keys(runs)[:MAX_CURVE_CHARTS]
    points = compare_points(len(runs), len(keys))
    frame = runs_frame(runs)
    overlays = [ChartBlock(f"{SPEC_PREFIX}overlay-{n}", key,
                           overlay_spec(runs, frame, key, selection=True, max_points=points))
                for n, key in enumerate(keys)]
    # a metric logged once per run (f1 at the end) has no curve: one bar per selected run instead
    curves = set(curve_keys(runs))
    once = [key for key in logged_metrics(frame) if key not in curves][:MAX_BAR_CHARTS]
    bars = [ChartBlock(f"{SPEC_PREFIX}bars-{n}", key, bars_spec(frame, key, selection=True))
            for n, key in enumerate(once)]
    sections = [ChartSection("metrics", overlays + bars)] if overlays or bars else []
    ordered = sorted(runs_by_experiment, key=lambda eid: (_name(experiments, eid).lower(), eid))
    for experiment_id in ordered:
        members = runs_frame(runs_by_experiment[experiment_id])  # its own params and metrics, not the site's
        experiment = experiments.get(experiment_id)
        primary = pick_primary_metric(logged_metrics(members), experiment.tags if experiment else None)
        if primary is None:
            continue
        prefix = f"{SPEC_PREFIX}{site_id(experiment_id)}-"
        sections.append(ChartSection(_name(experiments, experiment_id), [
            ChartBlock(prefix + "parallel", "parallel coordinates", parallel_spec(members, primary, selection=True)),
            ChartBlock(prefix + "scatter", "scatter", scatter_spec(members, primary, selection=True)),
        ]))
    return sections


def _name(experiments: dict[str, Experiment], experiment_id: str) -> str:
    experiment = experiments.get(experiment_id)
    return experiment.name if experiment else experiment_id


def compare_data_js(payload: dict[str, Any], sections: list[ChartSection]) -> str:
    """`window.FLOWSHEET_COMPARE` and `window.FLOWSHEET_SPECS` as one script; no log value can end it early."""
    specs = {block.spec_id: block.spec for section in sections for block in section.charts}
    return ("window.FLOWSHEET_COMPARE = " + _json(payload) + ";\n"
            + "window.FLOWSHEET_SPECS = " + _json(specs) + ";\n")


def _json(value: Any) -> str:
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    # the same JSON, with no "<", ">" or "&" that an HTML parser could read as the end of the script
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _number(value: float) -> float | str:
    """JSON has no NaN or Infinity: they travel as text and compare.js shows them as such."""
    return encode_non_finite(value)
