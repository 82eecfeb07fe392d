"""`reporter build`: read the logs, gather everything each page needs, then render and write the site."""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from logger.model import LogData, Problem, require_points
from logger.safepath import open_regular

from reporter.assets import STATIC_DIR
from reporter.charts.chunks import chunk_files
from reporter.charts.run import TEMPLATES_SCRIPT, run_origin, templates_js
from reporter.config import BuildConfig
from reporter.errors import BuildError
from reporter.site import compare as compare_data
from reporter.site import inputs, tables
from reporter.site import pages as P
from reporter.site.artifacts import ArtifactView, Blob, artifact_views, site_name_for_artifact
from reporter.site.downloads import METRICS_DOWNLOAD, RUNS_DOWNLOAD, gzipped_csv
from reporter.site.incremental import HOME_UNIT, PlannedUnit, write_units
from reporter.site.reading import Reading, save_known, start_reading
from reporter.site.render import make_environment, render_page
from reporter.site.writer import SiteWriter

if TYPE_CHECKING:
    from reporter.site.redact import RedactionReport

VEGA_BUNDLE = "vega-bundle.js"

Progress = Callable[[int, int], None]  # (done, total)


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
    redaction: str | None = None  # what was masked, for a warning
    pages_rendered: int = 0  # pages made again (written or found unchanged); kept pages are not rendered
    units_kept: int = 0  # parts of the site (home, an experiment, a run) the build cache kept as they were
    units_made: int = 0
    cache: str = ""  # what the build cache did: "incremental: ..." or "full build (why)"


@dataclass
class SitePlan:
    """Everything the site will contain, gathered before anything is written."""

    pages: list[P.Page] = field(default_factory=list)
    # generated data files; a callable makes its content only when written, and may give it in chunks of
    # bytes that the writer streams to disk (large downloads stay out of memory)
    files: dict[str, str | bytes | Callable[[], str | bytes | Iterable[bytes]]] = field(default_factory=dict)
    copies: dict[str, Path | Blob] = field(default_factory=dict)  # artifacts and static assets

    def add(self, other: SitePlan) -> None:
        self.pages += other.pages
        self.files.update(other.files)
        self.copies.update(other.copies)


def read_data(log_dir: Path) -> LogData:
    try:
        from logger.reader import read_logs
    except ImportError as exc:  # pragma: no cover - only while the reader is being written
        raise BuildError(f"the log reader is not available: {exc}") from None
    return read_logs(log_dir)


class PublishableData(LogData):
    """LogData that went through `publishable`: the only kind the planners below accept."""


def publishable(data: LogData, config: BuildConfig) -> tuple[PublishableData, RedactionReport]:
    """The data as pages may show it: deleted runs (delete_run) left out, credentials masked,
    .flowsheetignore'd artifacts left out.

    Every page, CSV and export is made from this, never from the reader's data directly: the planners
    refuse anything else (`require_publishable`), so no build path can forget it."""
    from reporter.site.redact import Redaction, redact

    if any(run.deleted for run in data.runs.values()):
        data = LogData(data.experiments, {run_id: run for run_id, run in data.runs.items() if not run.deleted},
                       data.problems)
    safe, report = redact(data, Redaction(config.redact, config.redact_patterns), config.log_root)
    return PublishableData(**{f.name: getattr(safe, f.name) for f in dataclasses.fields(LogData)}), report


def shown_problems(problems: list[Problem], config: BuildConfig) -> list[Problem]:
    """The reader's problems as warnings and errors may print them: masked like every page."""
    from reporter.site.redact import Redaction, mask_problems

    return mask_problems(problems, Redaction(config.redact, config.redact_patterns))


def require_publishable(data: LogData) -> None:
    if not isinstance(data, PublishableData):
        raise TypeError("pages are planned only from publishable(data, config), never from the reader's data")


def build(config: BuildConfig, data: LogData | None = None, progress: Progress | None = None,
          jobs: int | None = None, reading: Reading | None = None) -> BuildResult:
    """Build the whole site into config.out_dir. `data` skips reading (tests, serve); `reading` is the
    logs as `start_reading(config, static)` read them (runs the last build knew and whose files did not change
    are not read again: reporter/site/reading.py); with neither, the build reads them so. `jobs`:
    processes making run pages (None: one per core when there are many pages; 1: all in this process).

    Units of the site whose inputs are the same as at the last build are kept as they are (the build
    cache, reporter/site/cache.py); `BuildResult.cache` says what the cache did."""
    from reporter.site import cache as C
    from reporter.site.inputs import global_fingerprint

    started = time.perf_counter()
    if data is None and reading is None:
        reading = start_reading(config, static_sources())
    raw = reading.data if data is None and reading is not None else data
    assert raw is not None
    data, redaction = publishable(raw, config)
    if config.strict and data.problems:
        raise BuildError(f"{len(data.problems)} problem(s) in the logs and --strict is on; first: {data.problems[0]}")
    writer = SiteWriter(config.out_dir, force=config.force)
    writer.open()
    static = reading.static if reading is not None else static_sources()
    fingerprint = reading.fingerprint if reading is not None else global_fingerprint(config, static)
    try:
        previous: C.BuildCache | None = C.load_cache(writer.root, fingerprint, writer.previous,
                                                     reading.document if reading is not None else None)
        note = "incremental"
    except C.CacheRefused as refused:
        previous, note = None, f"full build ({refused})"
    # from the first change to the site until the new cache is saved, no cache may vouch for its files
    writer.before_change = lambda: C.forget_cache(writer.root)
    env = make_environment(config.templates_dir)
    not_copied = write_plan(static_plan(static), writer, env)
    units = site_units(data, config, frozenset(static))
    total = 1 + len(P.all_experiments(data)) + len(data.runs)
    published = data
    fetch = None if reading is None else functools.partial(
        reading.fetch_points, published=published, publish=lambda fresh: publishable(fresh, config)[0])
    written = write_units(units, previous, fingerprint, writer,
                          lambda plan, w: write_plan(plan, w, env), progress, total, jobs, fetch)
    writer.close()
    C.save_cache(writer.root, written.cache)
    if reading is not None:
        save_known(config.out_dir, fingerprint, reading.reader.export())
    stats = writer.stats
    if previous is not None:
        note += f": {written.kept} of {total} parts of the site unchanged, {written.made} made again"
    return BuildResult(experiments=len(P.all_experiments(data)), runs=len(data.runs),
                       pages_written=stats.pages_written, files_written=stats.written,
                       files_unchanged=stats.unchanged, files_removed=stats.removed,
                       problems=list(data.problems) + not_copied + written.problems,
                       seconds=time.perf_counter() - started, index_path=config.out_dir / "index.html",
                       redaction=redaction.message(), pages_rendered=stats.pages_rendered,
                       units_kept=written.kept, units_made=written.made, cache=note)


def site_units(data: PublishableData, config: BuildConfig, static_names: frozenset[str]) -> Iterator[PlannedUnit]:
    """The home unit, one unit per experiment, one per run (reporter/site/incremental.py): the pages `gather`
    plans, each with the digest of its inputs (reporter/site/inputs.py)."""
    index = P.site_index(data)
    runs = P.sorted_runs(data.runs.values())
    contents = {run.run_id: inputs.run_content(run) for run in runs}
    experiments = index.experiments
    yield PlannedUnit(HOME_UNIT, inputs.home_unit_digest(experiments, runs, contents, data.problems),
                      lambda: plan_home(data, config, static_names, index))
    for experiment_id in sorted(experiments):
        members = index.runs_by_experiment.get(experiment_id, [])
        digest = inputs.experiment_unit_digest(experiments[experiment_id], members, contents, sorted(experiments))
        yield PlannedUnit(f"experiment:{experiment_id}", digest,
                          functools.partial(plan_experiment, data, experiment_id, config, static_names, index))
    for run in runs:
        children = [child for child in index.children.get(run.run_id, []) if child.run_id != run.run_id]
        digest = inputs.run_unit_digest(run, contents[run.run_id], data, experiments, children)
        yield PlannedUnit(f"run:{run.run_id}", digest,
                          functools.partial(plan_run, data, run.run_id, config, static_names, index), (run.path,))


def static_plan(static: dict[str, Path]) -> SitePlan:
    """The site's own CSS and JS, and the Vega bundle."""
    plan = SitePlan()
    for name, source in static.items():
        plan.copies[f"static/{name}"] = source
    plan.files[f"static/{VEGA_BUNDLE}"] = vega_bundle()
    plan.files[f"static/{TEMPLATES_SCRIPT}"] = templates_js()  # what every run page's charts share
    return plan


def gather(data: PublishableData, config: BuildConfig) -> SitePlan:
    """Every page, data file and copied file of the site, from the model alone (plus artifact heads)."""
    require_publishable(data)
    static = static_sources()
    static_names = frozenset(static)
    plan = static_plan(static)
    index = P.site_index(data)
    plan.add(plan_home(data, config, static_names, index))
    for experiment_id in sorted(index.experiments):
        plan.add(plan_experiment(data, experiment_id, config, static_names, index))
    for run in P.sorted_runs(data.runs.values()):
        plan.add(plan_run(data, run.run_id, config, static_names, index))
    return plan


def plan_home(data: PublishableData, config: BuildConfig, static_names: frozenset[str],
              index: P.SiteIndex | None = None) -> SitePlan:
    """The home page, the compare page and the all-runs data they share (and CSV), plus the compare page's index."""
    require_publishable(data)
    index = index or P.site_index(data)
    experiments = index.experiments
    runs = P.sorted_runs(data.runs.values())
    rows = index.table_rows(runs)
    plan = SitePlan(pages=[P.home_page(data, config, static_names, index, rows),
                           P.compare_page(data, config, static_names)])
    plan.files.update(tables.runs_data_files(rows, {eid: P.experiment_href(eid) for eid in experiments}))
    plan.files[RUNS_DOWNLOAD] = index.runs_download(rows, share=len(index.runs_by_experiment) == 1)
    # the compare page's shared part: which runs exist, not their data (each run unit writes its own)
    plan.files[compare_data.SHARED_SCRIPT] = compare_data.compare_data_js(
        compare_data.compare_index((run.run_id for run in runs), experiments))
    return plan


def plan_experiment(data: PublishableData, experiment_id: str, config: BuildConfig, static_names: frozenset[str],
                    index: P.SiteIndex | None = None) -> SitePlan:
    """One experiment's page, its runs table data and its CSV."""
    require_publishable(data)
    index = index or P.site_index(data)
    experiments = index.experiments
    folder = P.experiment_dir(experiment_id)
    runs = index.runs_by_experiment.get(experiment_id, [])
    rows = index.table_rows(runs, keep=False)  # the home page's rows of these runs, when it was planned first
    plan = SitePlan(pages=[P.experiment_page(data, experiments[experiment_id], config, static_names, index, rows)])
    plan.files[f"{folder}/{RUNS_DOWNLOAD}"] = index.runs_download(rows)  # the home page's, for one experiment
    urls = {eid: P.experiment_href(eid) for eid in experiments}
    plan.files.update({f"{folder}/{name}": text for name, text in tables.runs_data_files(rows, urls).items()})
    return plan


def plan_run(data: PublishableData, run_id: str, config: BuildConfig, static_names: frozenset[str],
             index: P.SiteIndex | None = None, downloads: bool = True) -> SitePlan:
    """One run's page, its metric history download (metrics.csv.gz), its artifacts (those under the size limit)
    and its part of the compare page's data (compare-data.js).

    downloads=False leaves out the download, whose cost follows the whole history (serve puts it off);
    config.history_downloads=False leaves it, and the zoom levels of long series, out of the site (the page then
    has no link to it, and its charts do not zoom past their inline level).
    """
    require_publishable(data)
    run = data.runs[run_id]
    require_points(run)  # a run known from the build cache is read whole before its page is made
    artifacts = artifact_views(run, config.max_artifact_bytes, config.log_root) if run.artifacts else []
    folder = P.run_dir(run_id)
    # Without its downloads (serve's light rebuilds) the page names no zoom chunks either: the chunks on disk
    # are cut for the points of the last full rebuild, not these.
    plan = SitePlan(pages=[P.run_page(data, run, artifacts, config, static_names, index, zoom=downloads)])
    if run.metrics and downloads and config.history_downloads:
        plan.files[f"{folder}/{METRICS_DOWNLOAD}"] = functools.partial(gzipped_csv, tables.metrics_csv_chunks, run)
        # the finer levels of long series, loaded on zoom (like the CSV, their cost follows the history)
        curves = {key: history for key, history in run.metrics.items() if len(history) > 1}
        charted = dataclasses.replace(run, metrics=curves)  # what the page's charts start their time from
        chunks = chunk_files(charted, run_origin(charted))
        plan.files.update({f"{folder}/{path}": make for path, make in chunks.items()})
    plan.copies.update(_artifact_copies(folder, artifacts))
    # what the compare page shows of this run, loaded only when the run is selected there
    experiments = index.experiments if index else data.experiments  # a run's missing experiment: named by its id
    summary = compare_data.run_summary(run, experiments, P.run_href, compare_data.site_images(
        run, folder, config.max_artifact_bytes, config.log_root))
    plan.files[compare_data.run_script_path(run_id)] = compare_data.run_script(summary)
    return plan


def write_plan(plan: SitePlan, writer: SiteWriter, env, progress: Progress | None = None) -> list[Problem]:
    """Write the whole plan; returns the files that could not be copied (the rest of the site is written)."""
    total = len(plan.pages) + len(plan.files) + len(plan.copies)
    done = 0
    for relpath in sorted(plan.files):
        writer.write(relpath, file_content(plan.files[relpath]))
        done += 1
    not_copied = copy_files(plan.copies, writer)
    done += len(plan.copies)
    if progress:
        progress(done, total)
    for page in plan.pages:
        writer.write(page.path, render_page(env, page.templates, page.context), page=True)
        done += 1
        if progress and done % 50 == 0:
            progress(done, total)
    if progress:
        progress(total, total)
    return not_copied


def copy_files(copies: dict[str, Path | Blob], writer: SiteWriter) -> list[Problem]:
    """Copy files (artifacts) into the site. One that cannot be read or written (unreadable, no longer a
    regular file, a path too long for the site) is left out and reported: it must not fail the build."""
    problems = []
    for relpath in sorted(copies):
        source = copies[relpath]
        try:
            if isinstance(source, Blob):  # bytes inside a log file: written, not copied
                writer.write(relpath, source.read(source.length))
                continue
            # The copy reads by path: make sure first that it is a regular file (a FIFO would block it).
            with open_regular(source):
                pass
            writer.copy(relpath, source)
        except OSError as error:
            problems.append(Problem(str(source), None, f"not copied into the site: {error.strerror or error}"))
    return problems


def file_content(content: str | bytes | Callable[[], str | bytes | Iterable[bytes]]) -> str | bytes | Iterable[bytes]:
    return content() if callable(content) else content


def static_sources() -> dict[str, Path]:
    """The site's own CSS and JS (reporter/static), by name; the Vega bundle is made separately."""
    if not STATIC_DIR.is_dir():
        return {}
    return {p.relative_to(STATIC_DIR).as_posix(): p for p in sorted(STATIC_DIR.rglob("*"))
            if p.is_file() and not p.name.startswith(".") and "__pycache__" not in p.parts and p.name != VEGA_BUNDLE}


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed in one script, from vl-convert: copied once into the site.

    Making it starts a JavaScript engine (2-3 s and ~140 MB), so it is kept in a cache folder per
    vl-convert version ($FLOWSHEET_CACHE_DIR, else $XDG_CACHE_HOME/flowsheet or ~/.cache/flowsheet)."""
    from importlib import metadata

    version = metadata.version("vl-convert-python")
    cache = _cache_dir() / f"vega-bundle-{version}.js"
    try:
        cached = cache.read_text(encoding="utf-8")
        if "vegaEmbed" in cached:  # not a stray or damaged file
            return cached
    except (OSError, UnicodeDecodeError):
        pass
    import vl_convert

    bundle = vl_convert.javascript_bundle()  # type: ignore[call-arg]  # its snippet is optional at run time
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
        temporary.write_text(bundle, encoding="utf-8")
        os.replace(temporary, cache)
    except OSError:
        pass  # a read-only home only costs the next build the same seconds
    return bundle


def _cache_dir() -> Path:
    chosen = os.environ.get("FLOWSHEET_CACHE_DIR")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "flowsheet"


def _artifact_copies(folder: str, artifacts: list[ArtifactView]) -> dict[str, Path | Blob]:
    """Site path -> source of every artifact copied; the name is the one the page links to, never an active type."""
    copies = {}
    for view in artifacts:
        if view.href is not None and view.source is not None:
            copies[f"{folder}/artifacts/{site_name_for_artifact(view.path)}"] = view.source
    return copies
