"""`reporter export`: one self-contained HTML file for an experiment or a selection of runs.

The file is rendered once, in memory, from what the site's pages are made of: the same publishable
data, page contexts, table rows, chart sections and compare data, through `templates/export.html`, with
the site's CSS and scripts, the Vega bundle, the chart data and the compared images inside. It opens
offline, e.g. from an email attachment, so every link in it leads to a part of it: a run's name to its
`#run-<id>` section, an experiment's to `#experiment-<id>`. "Compare selected" opens the file itself with
`?runs=`, which its compare view shows. Nothing is written but the file.
"""

from __future__ import annotations

import base64
import functools
import json
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from logger.model import LogData, Run

from reporter.config import BuildConfig
from reporter.site import compare as compare_data
from reporter.site import pages as P
from reporter.site import tables
from reporter.site.artifacts import image_views, read_source
from reporter.site.build import (
    VEGA_BUNDLE,
    PublishableData,
    publishable,
    require_publishable,
    static_sources,
    vega_bundle,
)
from reporter.site.markdown import render_markdown
from reporter.site.render import make_environment, render_page
from reporter.site.urls import site_id

DEFAULT_MAX_IMAGE_MB = 5.0
TEMPLATE = "export.html"
STYLESHEET = "site.css"
# In the order the site's pages load them: filter.js before its users, compare_charts.js before compare.js,
# which uses it.
_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)
SCRIPTS = ("filter.js", "shards.js", "groups.js", "table_draw.js", "table.js", "compare_charts.js", "compare.js",
           VEGA_BUNDLE, "charts.js")


class ExportError(Exception):
    """Nothing to export, or a selection that names nothing; one line for the user."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    runs: int
    size: int
    images_left_out: int


def select(data: LogData, experiment: str | None, run_ids: list[str]) -> LogData:
    """The runs named (by id or id prefix) and/or those of the experiment (by name or id)."""
    runs = dict(data.runs)
    if experiment:
        ids = {e.experiment_id for e in data.experiments.values() if experiment in (e.name, e.experiment_id)}
        if not ids:
            raise ExportError(f"no experiment named {experiment!r}")
        runs = {rid: run for rid, run in runs.items() if run.experiment_id in ids}
    if run_ids:
        chosen: dict[str, Run] = {}
        for wanted in run_ids:
            matches = [rid for rid in runs if rid.startswith(wanted)]
            if not matches:
                raise ExportError(f"no run {wanted!r}" + (f" in experiment {experiment!r}" if experiment else ""))
            chosen.update((rid, runs[rid]) for rid in matches)
        runs = chosen
    if not runs:
        raise ExportError("nothing to export: no runs" + (f" in experiment {experiment!r}" if experiment else ""))
    experiments = {eid: e for eid, e in data.experiments.items() if any(r.experiment_id == eid for r in runs.values())}
    return LogData(experiments=experiments, runs=runs, problems=data.problems)


def export(config: BuildConfig, data: LogData, out_file: Path, max_image_mb: float = DEFAULT_MAX_IMAGE_MB,
           title: str | None = None) -> ExportResult:
    """Render the selection's report and write it to `out_file` (config.out_dir is not used)."""
    # The file's title, run count and selection show names and ids too: take them from what may be published.
    safe, _ = publishable(data, config)
    if not safe.runs:
        raise ExportError("nothing to export: every run chosen is left out by .flowsheetignore")
    html, left_out = render_export(safe, config, max_image_mb * 1024 * 1024, title or _default_title(safe))
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(html, encoding="utf-8")
    return ExportResult(out_file, len(safe.runs), out_file.stat().st_size, left_out)


def run_anchor(run_id: str) -> str:
    return f"run-{site_id(run_id)}"


def experiment_anchor(experiment_id: str) -> str:
    return f"experiment-{site_id(experiment_id)}"


def render_export(data: PublishableData, config: BuildConfig, max_image_bytes: float, title: str) -> tuple[str, int]:
    """The report as one HTML text, and how many images were too large to inline."""
    require_publishable(data)
    index = P.site_index(data)
    experiments = index.experiments
    runs = P.sorted_runs(data.runs.values())
    static = static_sources()
    images, left_out = _inlined_images(runs, config, max_image_bytes)
    summaries = {run.run_id: compare_data.run_summary(run, experiments, _run_href, images.get(run.run_id, {}))
                 for run in runs}
    experiment_hrefs = {eid: "#" + experiment_anchor(eid) for eid in experiments}
    rows = tables.table_rows(runs, _run_href, experiments)
    data_scripts = [
        tables.runs_data_js(rows, experiment_hrefs),
        compare_data.compare_data_js(compare_data.compare_index(summaries, experiments)),
        # every run's compare data is in the file already: the compare view loads no script
        "window.FLOWSHEET_COMPARE_RUNS = " + compare_data.script_json(summaries) + ";\n",
        # An attachment has no ?runs= in its address until "Compare selected" adds one: compare them all.
        "window.FLOWSHEET_COMPARE_SELECTION = new URLSearchParams(location.search).get('runs') || "
        + _js_string(",".join(run.run_id for run in runs)) + ";\n",
    ]
    context = P.base_context(config, "", "export", frozenset(static))
    context.update(
        title=title, run_count=len(runs), table_id="runs",
        csv_href="data:text/csv;charset=utf-8," + quote(tables.runs_csv(rows)),
        experiments=[_experiment_part(data, experiments[eid], config, index) for eid in sorted(
            index.runs_by_experiment, key=lambda eid: (experiments[eid].name.lower(), eid))],
        runs=[_run_part(data, run, config, index) for run in runs],
        run_anchor=run_anchor, experiment_anchor=experiment_anchor,
        style=_inline_style(static[STYLESHEET].read_text(encoding="utf-8")) if STYLESHEET in static else "",
        scripts=[_inline_script(text) for text in data_scripts + _script_texts(static)],
    )
    env = make_environment(config.templates_dir)
    env.filters["markdown"] = functools.partial(render_markdown, one_file=True)
    return render_page(env, (TEMPLATE,), context), left_out


def _run_href(run_id: str) -> str:
    return "#" + run_anchor(run_id)


def _experiment_part(data: PublishableData, experiment, config: BuildConfig, index: P.SiteIndex) -> dict[str, Any]:
    """The experiment page's context, with chart ids of its own (several experiments share the file)."""
    context = P.experiment_page(data, experiment, config, index=index).context
    runs = index.runs_by_experiment.get(experiment.experiment_id, [])
    prefix = f"fs-exp-{site_id(experiment.experiment_id)}-"
    context["charts"] = P.LazyCharts(P.experiment_chart_sections, runs, experiment.tags, prefix) if runs else []
    return context


def _run_part(data: PublishableData, run: Run, config: BuildConfig, index: P.SiteIndex) -> dict[str, Any]:
    """The run page's context (no artifacts: the compare view carries the images), with chart ids of its own."""
    context = P.run_page(data, run, [], config, index=index).context
    if context["charts"]:
        context["charts"] = P.LazyCharts(P.curve_sections, run, f"fs-run-{site_id(run.run_id)}-")
    return context


def _script_texts(static: dict[str, Path]) -> list[str]:
    texts = []
    for name in SCRIPTS:
        if name == VEGA_BUNDLE:
            texts.append(vega_bundle())
        elif name in static:
            texts.append(static[name].read_text(encoding="utf-8"))
    return texts


def _inlined_images(runs: list[Run], config: BuildConfig, max_bytes: float) -> tuple[dict[str, dict[str, str]], int]:
    """Per run, its raster image artifacts (those the site would copy) as artifact path -> data: URI, and how
    many were left out for their size. SVG is not among them: the compare view shows no SVG (image_views)."""
    images: dict[str, dict[str, str]] = {}
    left_out = 0
    for run in runs:
        for view in image_views(run, config.max_artifact_bytes, config.log_root):
            if view.href is None or view.source is None:
                continue
            try:
                content = read_source(view.source, int(max_bytes) + 1)
            except OSError:
                continue  # the site would report it as not copied; the report just goes without it
            if len(content) > max_bytes:
                left_out += 1
                continue
            kind = mimetypes.guess_type(view.path)[0] or "application/octet-stream"
            images.setdefault(run.run_id, {})[view.path] = f"data:{kind};base64,{base64.b64encode(content).decode()}"
    return images, left_out


def _default_title(data: LogData) -> str:
    names = sorted(e.name for e in data.experiments.values())
    return f"{', '.join(names)}: {len(data.runs)} run{'s' if len(data.runs) != 1 else ''}"


def _inline_style(css: str) -> Markup:
    # "</" can only be in CSS strings and comments, where "<\/" reads the same; nothing ends the element early
    return Markup(css.replace("</", "<\\/"))  # noqa: S704 - the site's own stylesheet


def _inline_script(text: str) -> Markup:
    """Our own script (or data made for a script, whose log values are escaped already) for a <script>
    element. Only "</script" can end it early; "<\\/" means the same inside JS strings, regexes and comments."""
    return Markup(_SCRIPT_END.sub(r"<\\/\1", text))  # noqa: S704 - the site's own files and script data


def _js_string(text: str) -> str:
    return tables.script_safe(json.dumps(text))
