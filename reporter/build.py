"""`reporter build`: read the logs, gather everything each page needs, then render and write the site."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from logger.model import LogData, Problem

from reporter import pages as P
from reporter import tables
from reporter.artifacts_view import ArtifactView, artifact_views
from reporter.config import BuildConfig
from reporter.render import make_environment, render_page
from reporter.site import SiteWriter

STATIC_DIR = Path(__file__).resolve().parent / "static"
VEGA_BUNDLE = "vega-bundle.js"

Progress = Callable[[int, int], None]  # (done, total)


class BuildError(Exception):
    """The build stopped; the message is one line for the user."""


@dataclass
class BuildResult:
    experiments: int
    runs: int
    pages_written: int
    files_written: int
    files_unchanged: int
    files_removed: int
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    index_path: Path | None = None


@dataclass
class SitePlan:
    """Everything the site will contain, gathered before anything is written."""

    pages: list[P.Page] = field(default_factory=list)
    files: dict[str, str | bytes] = field(default_factory=dict)  # generated data files
    copies: dict[str, Path] = field(default_factory=dict)  # artifacts and static assets


def read_data(log_dir: Path) -> LogData:
    try:
        from logger.reader import read_logs
    except ImportError as exc:  # pragma: no cover - only while the reader is being written
        raise BuildError(f"the log reader is not available: {exc}") from None
    return read_logs(log_dir)


def build(config: BuildConfig, data: LogData | None = None, progress: Progress | None = None) -> BuildResult:
    """Build the whole site into config.out_dir; `data` skips reading (tests, serve)."""
    started = time.perf_counter()
    if data is None:
        data = read_data(config.log_dir)
    if config.strict and data.problems:
        raise BuildError(f"{len(data.problems)} problem(s) in the logs and --strict is on; first: {data.problems[0]}")
    plan = gather(data, config)
    writer = SiteWriter(config.out_dir, force=config.force)
    writer.open()
    write_plan(plan, writer, make_environment(config.templates_dir), progress)
    writer.close()
    stats = writer.stats
    return BuildResult(experiments=len(P.all_experiments(data)), runs=len(data.runs),
                       pages_written=stats.pages_written, files_written=stats.written,
                       files_unchanged=stats.unchanged, files_removed=stats.removed, problems=list(data.problems),
                       seconds=time.perf_counter() - started, index_path=config.out_dir / "index.html")


def gather(data: LogData, config: BuildConfig) -> SitePlan:
    """Every page, data file and copied file of the site, from the model alone (plus artifact heads)."""
    plan = SitePlan()
    static = static_sources()
    static_names = frozenset(static)
    for name, source in static.items():
        plan.copies[f"static/{name}"] = source
    plan.files[f"static/{VEGA_BUNDLE}"] = vega_bundle()
    experiments = P.all_experiments(data)
    experiment_urls = {eid: P.experiment_href(eid) for eid in experiments}

    all_runs = P.sorted_runs(data.runs.values())
    plan.pages.append(P.home_page(data, config, static_names))
    plan.pages.append(P.compare_page(data, config, static_names))
    plan.files["runs-data.js"] = tables.runs_data_js(
        tables.table_rows(all_runs, P.run_href, experiments), tables.table_columns(all_runs), experiment_urls)

    for experiment in sorted(experiments.values(), key=lambda e: e.experiment_id):
        page = P.experiment_page(data, experiment, config, static_names)
        plan.pages.append(page)
        folder = P.experiment_dir(experiment.experiment_id)
        runs = P.sorted_runs(data.runs_of(experiment.experiment_id))
        plan.files[f"{folder}/runs.csv"] = tables.runs_csv(runs)
        plan.files[f"{folder}/runs-data.js"] = tables.runs_data_js(
            tables.table_rows(runs, P.run_href, experiments), tables.table_columns(runs), experiment_urls)

    for run in all_runs:
        artifacts = artifact_views(run, config.max_artifact_bytes) if run.artifacts else []
        plan.pages.append(P.run_page(data, run, artifacts, config, static_names))
        folder = P.run_dir(run.run_id)
        if run.metrics:
            plan.files[f"{folder}/metrics.csv"] = tables.metrics_csv(run)
        plan.copies.update(_artifact_copies(folder, artifacts))
    return plan


def write_plan(plan: SitePlan, writer: SiteWriter, env, progress: Progress | None = None) -> None:
    total = len(plan.pages) + len(plan.files) + len(plan.copies)
    done = 0
    for relpath in sorted(plan.files):
        writer.write(relpath, plan.files[relpath])
        done += 1
    for relpath in sorted(plan.copies):
        writer.copy(relpath, plan.copies[relpath])
        done += 1
    if progress:
        progress(done, total)
    for page in plan.pages:
        writer.write(page.path, render_page(env, page.templates, page.context), page=True)
        done += 1
        if progress and done % 50 == 0:
            progress(done, total)
    if progress:
        progress(total, total)


def static_sources() -> dict[str, Path]:
    """The site's own CSS and JS (reporter/static), by name; the Vega bundle is made separately."""
    if not STATIC_DIR.is_dir():
        return {}
    return {p.relative_to(STATIC_DIR).as_posix(): p for p in sorted(STATIC_DIR.rglob("*"))
            if p.is_file() and not p.name.startswith(".") and "__pycache__" not in p.parts and p.name != VEGA_BUNDLE}


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed in one script, from vl-convert: copied once into the site."""
    import vl_convert

    return vl_convert.javascript_bundle()


def _artifact_copies(folder: str, artifacts: list[ArtifactView]) -> dict[str, Path]:
    copies = {}
    for view in artifacts:
        if view.href is not None and view.source is not None:
            copies[f"{folder}/artifacts/{view.path}"] = view.source
    return copies
