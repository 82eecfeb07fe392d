"""The compare page's data: a small site-wide index, and one script per run with that run's summary and curves.

`compare.html?runs=id1,id2` is a static page. Its shared script `compare-data.js` says which runs exist
(id -> the folder of its script, compactly: most ids are their own folder name), each experiment's name and
primary-metric tag, and the chart templates. compare.js then loads only the selected runs' scripts,
`runs/<site id>/compare-data.js`, each with <script src> (never fetch, which file:// forbids); a run's script
calls `window.FLOWSHEET_COMPARE_RUN(id, data)` with display-ready text for the run's facts, params and tags,
three numbers per metric (latest, min, max), which way each metric is better, its curves (each metric with more
than one point, downsampled to CURVE_POINTS whatever the size of the site) and the site paths of its image
artifacts (with the name pattern that matches a randomly named one across runs, and the steps of
`log_image(key=, step=)` series). compare_charts.js fills the templates with the selected runs' data.

So the home unit reads of each run only its id and its experiment; the run unit writes the run's script.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from logger.events import encode_non_finite
from logger.model import Experiment, Run
from logger.search import run_row, system_tags

from reporter.charts.common import COMMON_PRIMARY, PRIMARY_METRIC_TAG, lower_is_better, runs_frame
from reporter.charts.downsample import downsample
from reporter.charts.experiment import bars_spec, overlay_spec, parallel_spec, scatter_spec
from reporter.charts.levels import int_column
from reporter.site.artifacts import image_views
from reporter.site.image_names import image_pattern, series_images
from reporter.site.text import duration_ms, format_duration, format_time, source_text
from reporter.site.urls import run_dir, site_id

SHARED_SCRIPT = "compare-data.js"  # the site-wide part; reporter serve reloads any "*-data.js" script it changed
RUN_SCRIPT = "compare-data.js"  # in each run's folder
CURVE_POINTS = 50  # per run and metric, whatever the number of runs of the site (the run page has the detail)
# Charts of the compare page: runs with 100,000 metric keys must not make 100,000 charts (the compare table
# still lists every metric).
MAX_CURVE_CHARTS, MAX_BAR_CHARTS = 40, 24


def run_script_path(run_id: str) -> str:
    return f"{run_dir(run_id)}/{RUN_SCRIPT}"


def run_summary(run: Run, experiments: dict[str, Experiment], run_href: Callable[[str], str],
                images: dict[str, str]) -> dict[str, Any]:
    """What the compare page shows of one run; `images` maps artifact path -> href from the site root."""
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
    metrics, curves = {}, {}
    for key, history in run.metrics.items():
        if not len(history):
            continue
        values = np.asarray(history.values, dtype=np.float64)
        finite = values[np.isfinite(values)]
        metrics[key] = [_number(history.values[history.latest_index()]),
                        float(finite.min()) if len(finite) else None, float(finite.max()) if len(finite) else None]
        if len(history) > 1:  # a metric logged once per run is a bar, not a curve
            series = downsample(history.steps, history.values, history.timestamps, CURVE_POINTS)
            # steps as the run page writes them ({first, step} when evenly spaced), values as they are
            curves[key] = [int_column(series.steps), _rounded(series.values)]
    plain, series_of = series_images(images)
    patterns = {path: pattern for path in plain if (pattern := image_pattern(path, run.run_id)) != path}
    summary: dict[str, Any] = {
        "id": run.run_id,
        "name": run.name or run.run_id,
        "url": run_href(run.run_id),
        "experiment": run.experiment_id,
        "info": [[label, value] for label, value in info],
        "params": row["params"],
        "metrics": metrics,
        "better": better(metrics),
        "curves": curves,
        # MLflow's system tags are the facts above (name, user, source, parent) and the description
        "tags": {key: value for key, value in row["tags"].items() if key not in facts},
        "images": plain,
    }
    if patterns:  # only when there are some: most runs have neither
        summary["patterns"] = patterns  # image path -> the name pattern that matches it in other runs
    if series_of:
        summary["series"] = {key: [[step, href] for step, href in steps] for key, steps in series_of.items()}
    return summary


def _rounded(values: np.ndarray) -> list[float]:
    """`round_sig` of each value (finite ones only), in one formatting call: 2,000 runs make 500,000 of them."""
    return list(map(float, ((" %.7g" * len(values)) % tuple(values.tolist())).split()))


def better(keys: Iterable[str]) -> dict[str, str]:
    """Which way each metric is better: "min" or "max"."""
    return {key: "min" if lower_is_better(key) else "max" for key in keys}


def site_images(run: Run, run_folder: str, max_bytes: int, log_dir: Path) -> dict[str, str]:
    """Image artifacts of `run` that the build copies, as artifact path -> href from the site root."""
    return {view.path: f"{run_folder}/{view.href}" for view in image_views(run, max_bytes, log_dir) if view.href}


def run_script(summary: dict[str, Any]) -> str:
    """A run's compare script: hands its summary to the compare page; no log value can end it early."""
    return f"window.FLOWSHEET_COMPARE_RUN({script_json(summary['id'])}, {script_json(summary)});\n"


def compare_index(run_ids: Iterable[str], experiments: dict[str, Experiment]) -> dict[str, Any]:
    """The `FLOWSHEET_COMPARE` object: which runs exist and where their scripts are, each experiment's name and
    primary-metric tag, and what the charts need to choose a primary metric and how many charts to draw.

    An id that is its own folder name (most are) is listed as such in `runs`; any other is in `moved`, with
    its folder. The page finds a run's script at `runs/<folder>/compare-data.js`."""
    plain, moved = [], {}
    for run_id in run_ids:
        folder = site_id(run_id)
        if folder == run_id:
            plain.append(run_id)
        else:
            moved[run_id] = folder
    return {
        "runs": plain,
        "moved": moved,
        "script": RUN_SCRIPT,
        "experiments": {eid: [e.name, _primary_tag(e)] for eid, e in experiments.items()},
        "primary": list(COMMON_PRIMARY),
        "limits": {"curves": MAX_CURVE_CHARTS, "bars": MAX_BAR_CHARTS},
    }


def _primary_tag(experiment: Experiment) -> str | None:
    wanted = (experiment.tags or {}).get(PRIMARY_METRIC_TAG)
    return None if wanted is None else str(wanted)


@functools.lru_cache(maxsize=1)
def chart_templates() -> dict[str, dict]:
    """The compare charts' specs without their data: compare_charts.js fills in the selected runs' rows,
    titles, axes and fields. Made from a two-run sample (one numeric and one text param, so the parallel
    chart has its category layer) and emptied of its rows."""
    sample = pd.DataFrame({"i": [0, 1], "id": ["a", "b"], "name": ["a", "b"], "p:n": [1.0, 2.0],
                           "p:c": ["x", "y"], "m:m": [1.0, 2.0]})
    templates = {
        "overlay": overlay_spec([], runs_frame([]), "metric", selection=True, max_points=CURVE_POINTS),
        "bars": bars_spec(sample, "m", selection=True),
        "parallel": parallel_spec(sample, "m", selection=True),
        "scatter": scatter_spec(sample, "m", selection=True),
    }
    for spec in templates.values():
        spec["datasets"] = {name: [] for name in spec["datasets"]}
    return templates


def compare_data_js(index: dict[str, Any]) -> str:
    """`window.FLOWSHEET_COMPARE` (the index) and `window.FLOWSHEET_COMPARE_TEMPLATES` as one script."""
    return ("window.FLOWSHEET_COMPARE = " + script_json(index) + ";\n"
            + "window.FLOWSHEET_COMPARE_TEMPLATES = " + script_json(chart_templates()) + ";\n")


def script_json(value: Any) -> str:
    """`value` as JSON to put inside a <script>."""
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    # the same JSON, with no "<", ">" or "&" that an HTML parser could read as the end of the script
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _number(value: float) -> float | str:
    """JSON has no NaN or Infinity: they travel as text and compare.js shows them as such."""
    return encode_non_finite(value)
