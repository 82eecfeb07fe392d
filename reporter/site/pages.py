"""Which pages the site has and what each one shows: pure functions from the model to page contexts.

Paths are relative to the site root and always end in a file name, so the site works from file://.
Every page context has `root` (the way back to the site root, "" or "../../") and `static`.
`serve` can re-render one run with `run_page` and its neighbours with `experiment_page` and `home_page`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from logger.format import NOTE_TAG
from logger.model import RUN_STATUSES, Experiment, LogData, Run, require_points
from logger.sources import source_label
from logger.values import natural_key, natural_sorted

from reporter.charts.chunks import zoom_file
from reporter.charts.common import ChartSection, chart_script_tag
from reporter.charts.experiment import experiment_sections
from reporter.charts.groups import GROUP_RUNS, with_group_curves
from reporter.charts.run import run_chart_sections
from reporter.config import BuildConfig
from reporter.site import tables
from reporter.site.artifacts import LIST_HEAD, RASTER_TYPES, ArtifactView, artifact_tree
from reporter.site.downloads import METRICS_DOWNLOAD, RUNS_DOWNLOAD, gzipped
from reporter.site.image_names import series_images
from reporter.site.text import duration_ms, format_time, param_text, source_text
from reporter.site.urls import experiment_dir, experiment_href, run_dir, run_href, site_id

RECENT_RUNS = 20
MAX_CHART_RUNS = 1000  # runs drawn in an experiment's charts (the newest); the table has them all
SHORT_NOTES_LINES = 6  # notes this short start open under the runs table; longer ones start folded
SHORT_NOTES_CHARS = 600


@dataclass
class Page:
    path: str  # relative to the site root
    templates: tuple[str, ...]  # the first that exists is used (per-object names first)
    context: dict[str, Any] = field(default_factory=dict)


def all_experiments(data: LogData) -> dict[str, Experiment]:
    """The experiments, plus a stand-in for runs whose experiment has no experiment.jsonl."""
    experiments = dict(data.experiments)
    for run in data.runs.values():
        if run.experiment_id not in experiments:
            experiments[run.experiment_id] = Experiment(run.experiment_id, run.experiment_id, path="")
    return experiments


@dataclass
class SiteIndex:
    """Look-ups every page needs, made once per build (a 10,000-run site must not scan all runs per page)."""

    experiments: dict[str, Experiment]
    runs_by_experiment: dict[str, list[Run]]  # newest first
    children: dict[str, list[Run]]  # newest first
    # each run's runs-table row, made when a table first needs it: the home page, its experiment's page and
    # both CSVs share it (`table_rows`), rather than making it again from the run for each
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    downloads: dict[tuple[str, ...], bytes] = field(default_factory=dict)  # `runs_download(share=True)`'s

    def table_rows(self, runs: list[Run], keep: bool = True) -> list[dict[str, Any]]:
        """The runs' `tables.table_rows`, each made once per index. keep=False: no later table needs these
        rows (a run's experiment page is planned after the home page), so the index lets them go."""
        rows = tables.table_rows(runs, run_href, self.experiments, self.rows)
        if not keep:
            for run in runs:
                self.rows.pop(run.run_id, None)
        return rows

    def runs_download(self, rows: list[dict[str, Any]], share: bool = False) -> Callable[[], Iterator[bytes]]:
        """What runs.csv.gz of these rows holds, made when written. share=True (the home page's): its bytes
        wait in the index for a table of the same runs (a site of one experiment), which takes them rather
        than making the same CSV again."""
        key = tuple(row["attributes"]["run_id"] for row in rows)  # one row per run id in a build

        def make() -> Iterator[bytes]:
            made = self.downloads.pop(key, None)
            if made is not None:
                yield made
                return
            pieces = []
            for piece in gzipped(tables.runs_csv_chunks(rows)):
                pieces += [piece] if share else []
                yield piece
            if share:
                self.downloads[key] = b"".join(pieces)
        return make


def site_index(data: LogData) -> SiteIndex:
    by_experiment: dict[str, list[Run]] = {}
    children: dict[str, list[Run]] = {}
    for run in sorted_runs(data.runs.values()):
        by_experiment.setdefault(run.experiment_id, []).append(run)
        if run.parent_run_id:
            children.setdefault(run.parent_run_id, []).append(run)
    return SiteIndex(all_experiments(data), by_experiment, children)


def sorted_runs(runs) -> list[Run]:
    """Newest first; runs without a start time last; the id breaks ties so output is deterministic."""
    return sorted(runs, key=lambda r: (-(r.start_time or 0), r.run_id))


class LazyCharts:
    """Chart sections made only when a template iterates them (`{% set sections = charts|list %}`).

    A site plan holds every page's context until it is written; holding every run's chart specs (with
    their data) at once would cost memory that no two pages need together.
    """

    def __init__(self, make: Callable[..., list[ChartSection]], *args: Any, **kwargs: Any):
        self._make, self._args, self._kwargs = make, args, kwargs

    def __iter__(self) -> Iterator[ChartSection]:
        return iter(self._make(*self._args, **self._kwargs))


def base_context(config: BuildConfig, root: str, kind: str, static_files: frozenset[str]) -> dict[str, Any]:
    return {
        "site_title": config.title,
        "root": root,
        "static": f"{root}static",
        "page_kind": kind,
        "static_files": static_files,
        "build_time": None if config.build_time is None else format_time(config.build_time * 1000) + " UTC",
        "charts": [],  # chart sections (ChartSection); run and experiment pages fill it lazily
        "chart_script_tag": chart_script_tag,
        "page_size": tables.PAGE_SIZE, "max_default_columns": tables.MAX_DEFAULT_COLUMNS,  # for table.js
    }


def home_page(data: LogData, config: BuildConfig, static_files: frozenset[str] = frozenset(),
              index: SiteIndex | None = None, rows: list[dict[str, Any]] | None = None) -> Page:
    """`rows`: the site's `table_rows` when the caller has made them already (for runs-data.js)."""
    index = index or site_index(data)
    experiments, by_experiment = index.experiments, index.runs_by_experiment
    table, listed = rows, []
    for experiment in sorted(experiments.values(), key=lambda e: (e.name.lower(), e.experiment_id)):
        runs = by_experiment.get(experiment.experiment_id, [])
        counts = {status: 0 for status in RUN_STATUSES}
        for run in runs:
            counts[run.status] = counts.get(run.status, 0) + 1
        times = [t for run in runs for t in (run.last_time, run.end_time, run.start_time) if t is not None]
        listed.append({
            "experiment": experiment, "href": experiment_href(experiment.experiment_id), "run_count": len(runs),
            "status_counts": [(s, n) for s, n in counts.items() if n], "last_activity": max(times, default=None),
        })
    recent = [_run_link(run, experiments) for run in sorted_runs(data.runs.values())[:RECENT_RUNS]]
    context = base_context(config, "", "home", static_files)
    if table is None:
        table = index.table_rows(sorted_runs(data.runs.values()))
    context.update(title=config.title, experiments=listed, recent_runs=recent, run_count=len(data.runs),
                   problems=[str(p) for p in data.problems], data_script="runs-data.js", table_id="all-runs",
                   csv_href=RUNS_DOWNLOAD, first=tables.first_page(table))
    return Page("index.html", ("index.html",), context)


def experiment_page(data: LogData, experiment: Experiment, config: BuildConfig,
                    static_files: frozenset[str] = frozenset(), index: SiteIndex | None = None,
                    rows: list[dict[str, Any]] | None = None) -> Page:
    """`rows`: the experiment's `table_rows` when the caller has made them already (for its runs-data.js)."""
    index = index or site_index(data)
    runs = index.runs_by_experiment.get(experiment.experiment_id, [])
    if rows is None:
        rows = index.table_rows(runs)
    context = base_context(config, "../../", "experiment", static_files)
    tags = by_key((k, param_text(v)) for k, v in experiment.tags.items() if k != NOTE_TAG)
    context.update(title=experiment.name, experiment=experiment, tags=tags, run_count=len(runs),
                   description=experiment.description, notes=experiment.notes,
                   notes_open=short_notes(experiment.description, experiment.notes),
                   first=tables.first_page(rows, "../../"),
                   csv_href=RUNS_DOWNLOAD, data_script="runs-data.js", table_id="runs",
                   charts=LazyCharts(experiment_chart_sections, runs, experiment.tags) if runs else [],
                   chart_runs=min(len(runs), MAX_CHART_RUNS))
    slug = site_id(experiment.experiment_id)
    return Page(f"{experiment_dir(experiment.experiment_id)}/index.html",
                (f"experiment-{slug}.html", "experiment.html"), context)


def run_page(data: LogData, run: Run, artifacts: list[ArtifactView], config: BuildConfig,
             static_files: frozenset[str] = frozenset(), index: SiteIndex | None = None,
             zoom: bool = True) -> Page:
    """zoom: long series name their zoom levels' chunk files, which the same plan writes (`plan_run`)."""
    index = index or site_index(data)
    experiments = index.experiments
    experiment = experiments.get(run.experiment_id)
    parent = data.runs.get(run.parent_run_id) if run.parent_run_id else None
    children = [child for child in index.children.get(run.run_id, []) if child.run_id != run.run_id]
    system = run.system or {}
    context = base_context(config, "../../", "run", static_files)
    context.update(
        title=run.name or run.run_id, run=run, experiment=experiment,
        named=bool(run.name) and run.name != run.run_id,  # else the title is the id, shown as one
        experiment_href="../../" + experiment_href(run.experiment_id),
        parent=_run_link(parent, experiments, "../../") if parent else None,
        parent_missing=run.parent_run_id if run.parent_run_id and parent is None else None,
        children=[_run_link(child, experiments, "../../") for child in children],
        duration=duration_ms(run), source=source_text(run), system=system,
        info=_run_info(run, system),
        description=run.description if run.description is not None else run.tags.get(NOTE_TAG),
        # Params and tags shown as MLflow stores them: text (None -> "None", True -> "True").
        params=by_key((k, param_text(v)) for k, v in run.params.items()), metrics=metric_summaries(run),
        tags=by_key((k, param_text(v)) for k, v in run.tags.items() if k != NOTE_TAG),
        artifacts=artifact_tree(artifacts), artifact_count=len(artifacts), artifact_list_head=LIST_HEAD,
        models=[a for a in artifacts if a.model is not None],
        metrics_csv_href=METRICS_DOWNLOAD if run.metrics and config.history_downloads else None,
        charts=(LazyCharts(curve_sections, run, zoom=zoom and config.history_downloads)
                if any(len(h) > 1 for h in run.metrics.values()) else []),
        single_value_metrics=sum(1 for h in run.metrics.values() if len(h) == 1),
        image_series=image_series(artifacts),
    )
    slug = site_id(run.run_id)
    return Page(f"{run_dir(run.run_id)}/index.html", (f"run-{slug}.html", "run.html"), context)


def image_series(artifacts: list[ArtifactView]) -> list[tuple[str, list[tuple[int, str]]]]:
    """The run's `log_image(key=, step=)` series, by key: [(step, href of the copy)] by step."""
    copied = {view.path: view.href for view in artifacts
              if view.href and view.kind == "image" and PurePosixPath(view.name).suffix.lower() in RASTER_TYPES}
    return sorted(series_images(copied)[1].items())


def compare_page(data: LogData, config: BuildConfig, static_files: frozenset[str] = frozenset()) -> Page:
    """The compare page: compare.js loads the selected runs' data (each run's compare-data.js, found through the
    site's `compare-data.js`), draws their table and images, and compare_charts.js their charts."""
    context = base_context(config, "", "compare", static_files)
    context.update(title="Compare runs", data_script="runs-data.js", compare_script="compare-data.js")
    return Page("compare.html", ("compare.html",), context)


def experiment_chart_sections(runs: list[Run], tags: dict[str, Any], id_prefix: str = "fs-exp-") -> list[ChartSection]:
    """The experiment's charts over its newest MAX_CHART_RUNS runs: thousands of SVG lines would stall the page."""
    runs = runs[:MAX_CHART_RUNS]
    # the grouped curves draw the newest runs: a build that did not read them reads them in one go, before
    # the overlays ask for the best runs (usually among them)
    require_points(*runs[:GROUP_RUNS])
    return with_group_curves(experiment_sections(runs, tags, id_prefix=id_prefix), runs)


def curve_sections(run: Run, id_prefix: str = "fs-metric-", zoom: bool = False) -> list[ChartSection]:
    """Run page charts for the metrics logged at more than one point; a single value is a row of the metrics table.

    zoom=True: long series name their finer levels' chunk files (the run's folder has them, `plan_run`)."""
    curves = {key: history for key, history in run.metrics.items() if len(history) > 1}
    return run_chart_sections(dataclasses.replace(run, metrics=curves), id_prefix=id_prefix,
                              zoom_files=zoom_file if zoom else None)


def metric_summaries(run: Run) -> list[dict[str, Any]]:
    """Per metric: last (MLflow's latest), min, max (ignoring NaN), number of points, last step."""
    out = []
    for key in natural_sorted(run.metrics):
        history = run.metrics[key]
        if not len(history):
            continue
        latest = history.latest_index()
        finite = [v for v in history.values if not math.isnan(v)]
        out.append({"key": key, "last": history.values[latest], "min": min(finite, default=None),
                    "max": max(finite, default=None), "count": len(history), "last_step": history.steps[latest]})
    return out


def by_key(pairs: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Key/value pairs in the natural order of their keys (m2 before m10)."""
    return sorted(pairs, key=lambda pair: natural_key(pair[0]))


def short_notes(*texts: str | None) -> bool:
    """Whether an experiment's description and notes are short enough to show open without a click."""
    lines = [line for text in texts if text for line in text.splitlines() if line.strip()]
    return len(lines) <= SHORT_NOTES_LINES and sum(len(line) for line in lines) <= SHORT_NOTES_CHARS


def _run_info(run: Run, system: dict[str, Any]) -> list[tuple[str, Any]]:
    """The run's facts as label/value pairs, leaving out what is unknown."""
    dirty = system.get("git_dirty")
    pairs = [
        ("Run ID", run.run_id), ("Status", run.status), ("Start", format_time(run.start_time)),
        ("End", format_time(run.end_time)), ("User", system.get("user")), ("Host", system.get("host")),
        ("Python", system.get("python")), ("Platform", system.get("platform")),
        ("Git commit", system.get("git_commit")), ("Git branch", system.get("git_branch")),
        ("Git dirty", None if dirty is None else ("yes" if dirty else "no")),
        ("Entry point", system.get("entry_point")), ("Command", system.get("command")),
        ("Source", None if run.source == "flowsheet" else source_label(run.source)),
    ]
    return [(label, value) for label, value in pairs if value not in (None, "")]


def _run_link(run: Run, experiments: dict[str, Experiment], root: str = "") -> dict[str, Any]:
    experiment = experiments.get(run.experiment_id)
    return {"run": run, "name": run.name or run.run_id, "href": root + run_href(run.run_id),
            "experiment_name": experiment.name if experiment else run.experiment_id,
            "experiment_href": root + experiment_href(run.experiment_id),
            "start": format_time(run.start_time), "status": run.status}
