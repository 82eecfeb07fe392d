"""Incremental rebuilds for `reporter serve`: what changed in the logs -> which pages to render again.

    rebuilder = Rebuilder(config)
    outcome = rebuilder.rebuild(full=True)      # the first build: reads everything, writes every page
    outcome = rebuilder.rebuild()               # later: reads appended bytes, renders the affected pages

`scope_of` is the pure middle (changes + model -> a `Scope`); `Rebuilder` does the reading and writing
with the same `publishable` data, planners and writer as `reporter build`, so a served site is the built site.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import jinja2

from logger.model import LogData, Problem
from logger.reader import Changes, LogReader

from reporter.config import BuildConfig
from reporter.site import pages as P
from reporter.site.build import (
    PublishableData,
    SitePlan,
    copy_files,
    file_content,
    gather,
    plan_experiment,
    plan_home,
    plan_run,
    publishable,
    shown_problems,
    static_sources,
)
from reporter.site.cache import forget_cache
from reporter.site.render import make_environment, render_page
from reporter.site.writer import SiteWriter

# What other pages show of a run: a parent page lists its children's names and statuses, a child page
# names its parent. When these stay the same, an appended metric touches only the run's own page.
LinkFacts = tuple  # (name, status, parent_run_id, start_time)


def link_facts(data: LogData) -> dict[str, LinkFacts]:
    return {run_id: (run.name, run.status, run.parent_run_id, run.start_time) for run_id, run in data.runs.items()}


@dataclass(frozen=True)
class Scope:
    """The pages one rebuild renders. `full` means every page (and cleanup of pages no longer built)."""

    full: bool = False
    home: bool = False  # the home page, the compare page and their all-runs data
    experiments: frozenset[str] = frozenset()
    runs: frozenset[str] = frozenset()
    # Only the contents of runs changed (points, params, tags), not what other pages show by name or
    # status, nor an experiment itself: the summary pages may wait a moment (see Rebuilder._pace).
    metrics_only: bool = True
    # Render the run pages but not their downloads (metrics.csv.gz), which cost as much as the whole history.
    light: bool = False

    def __bool__(self) -> bool:
        return self.full or self.home or bool(self.experiments or self.runs)

    def __or__(self, other: Scope) -> Scope:
        return Scope(full=self.full or other.full, home=self.home or other.home,
                     experiments=self.experiments | other.experiments, runs=self.runs | other.runs,
                     metrics_only=self.metrics_only and other.metrics_only, light=self.light and other.light)


FULL = Scope(full=True)


def scope_of(changes: Changes, data: LogData, before: dict[str, LinkFacts], templates_changed: bool = False) -> Scope:
    """Which pages a refresh's changes affect; `before` is `link_facts` of the data the site was last built from.

    A template change or the first read renders everything; so does a removed run or experiment (or a
    run no longer published, such as a deleted one), since only a full build removes pages. Otherwise:
    each changed run's page, its experiment's page, the home page, plus the parent's page (and the
    children's pages) when what they show of the run changed.
    """
    if templates_changed or changes.everything or changes.removed_runs or changes.removed_experiments:
        return FULL
    if any(run_id in before and run_id not in data.runs for run_id in changes.runs):
        return FULL  # a run the site showed is no longer published (deleted): only a full build removes its page
    if not changes:
        return Scope()
    runs = set(changes.runs)
    experiments = set(changes.experiments)
    # An experiment that changed by itself (tags, notes, a new one), not through its runs' points.
    metrics_only = experiments <= {data.runs[r].experiment_id for r in changes.runs if r in data.runs}
    for run_id in changes.runs:
        run = data.runs.get(run_id)
        if run is None:
            continue
        old = before.get(run_id)
        new = (run.name, run.status, run.parent_run_id, run.start_time)
        if old == new:
            continue
        metrics_only = False
        for parent_id in {run.parent_run_id, old[2] if old else None} - {None}:
            if parent_id in data.runs:
                runs.add(parent_id)
                experiments.add(data.runs[parent_id].experiment_id)
        if old is not None and old[0] != new[0]:  # children show their parent's name
            runs.update(child.run_id for child in data.children_of(run_id))
    experiments.update(data.runs[r].experiment_id for r in runs if r in data.runs)
    known = set(P.all_experiments(data))
    return Scope(full=False, home=True, experiments=frozenset(experiments & known),
                 runs=frozenset(r for r in runs if r in data.runs), metrics_only=metrics_only)


@dataclass
class Outcome:
    """What one rebuild did: the site files it changed (relative paths), or the error that stopped it."""

    scope: Scope
    changed: list[str] = field(default_factory=list)
    pages: int = 0  # pages rendered (written or not)
    seconds: float = 0.0
    error: str | None = None
    retry_in: float | None = None  # pages were put off: rebuild again (even with no change) in this many seconds
    problems: list = field(default_factory=list)  # new reader problems, and files that could not be copied
    redaction: str | None = None  # what was masked or left out, as `reporter build` warns


@dataclass
class RecordingWriter(SiteWriter):
    """A SiteWriter that remembers which files it actually wrote (content changed), to tell browsers."""

    changed: list[str] = field(default_factory=list)

    def write(self, relpath, content, *, page=False) -> bool:
        written = super().write(relpath, content, page=page)
        if written:
            self.changed.append(relpath)
        return written

    def copy(self, relpath, source) -> bool:
        written = super().copy(relpath, source)
        if written:
            self.changed.append(relpath)
        return written


# While a run is only gaining points, its own page follows every rebuild, but the summary pages (the
# experiment's, the home and compare pages, whose data covers every run) and the run's metrics.csv.gz are
# rendered at most this often: they cost far more than the run page on a big log or a long run.
SUMMARY_INTERVAL = 1.0
# ... and, when they are slow (many runs, long histories), at most about 1/(1+this) of the worker's time,
# so that the run pages keep up.
SUMMARY_COST_FACTOR = 4.0


class Rebuilder:
    """Keeps the reader (incremental) between rebuilds; one rebuild at a time (the watch worker's thread)."""

    def __init__(self, config: BuildConfig, summary_interval: float = SUMMARY_INTERVAL,
                 summary_cost_factor: float = SUMMARY_COST_FACTOR):
        self.config = config
        self.reader = LogReader(config.log_dir)
        self.summary_interval = summary_interval
        self.summary_cost_factor = summary_cost_factor
        self._summary_cost = 0.0  # seconds the last incremental rebuild with summary pages took
        self._facts: dict[str, LinkFacts] = {}
        self._failed = False  # the last rebuild failed: the next one renders everything again
        self._pending = Scope()  # summary pages and run downloads put off by `_pace`
        self._last_summary = float("-inf")
        self._env: jinja2.Environment | None = None  # made again after a template change or a failure

    def rebuild(self, full: bool = False, templates_changed: bool = False, now: float | None = None) -> Outcome:
        """Refresh the reader and render what changed. Never raises for a template or write error.

        When the outcome has `retry_in`, some pages were put off: call again after that many seconds.
        """
        started = time.perf_counter()
        now = time.monotonic() if now is None else now
        changes = self.reader.refresh()
        changes.problems = shown_problems(changes.problems, self.config)  # printed by serve: masked like pages
        try:
            # The reader's data goes no further: scopes and pages are made from what build would publish.
            data, redaction = publishable(self.reader.data, self.config)
        except Exception as exc:  # noqa: BLE001 - e.g. an unreadable .flowsheetignore: publish nothing new
            self._failed = True
            return Outcome(scope=FULL, problems=list(changes.problems), error=describe_error(exc),
                           seconds=time.perf_counter() - started)
        retry_in = None
        if full or self._failed:
            scope = FULL
            self._pending = Scope()
        else:
            scope, retry_in = self._pace(scope_of(changes, data, self._facts, templates_changed), now)
        outcome = Outcome(scope=scope, problems=list(changes.problems), retry_in=retry_in,
                          redaction=redaction.message())
        if not scope:
            return outcome
        try:
            plan = self._plan(scope, data)
            # Compiling the templates costs more than rendering a run page: keep the environment until a
            # template changes (Jinja's auto_reload also checks each template's mtime when it is used).
            if self._env is None or templates_changed or scope.full:
                self._env = make_environment(self.config.templates_dir)
            rendered = render_all(plan, self._env)
            writer = RecordingWriter(self.config.out_dir, force=self.config.force)
            writer.open()
            forget_cache(writer.root)  # serve changes pages the `reporter build` cache vouched for
            outcome.problems += shown_problems(write_rendered(plan, rendered, writer), self.config)
            writer.close(prune=scope.full)
        except Exception as exc:  # noqa: BLE001 - any failure is reported and the last good site kept
            self._failed = True
            self._env = None
            outcome.error = describe_error(exc)
        else:
            self._failed = False
            self._facts = link_facts(data)
            outcome.changed = writer.changed
            outcome.pages = len(plan.pages)
        outcome.seconds = time.perf_counter() - started
        if not scope.full and not scope.light and outcome.error is None:
            self._summary_cost = outcome.seconds
        return outcome

    def _pace(self, scope: Scope, now: float) -> tuple[Scope, float | None]:
        """What to render now, and in how many seconds to come back for what was put off."""
        if scope.full:
            self._pending = Scope()
            return scope, None
        pending = self._pending | scope
        interval = max(self.summary_interval, self._summary_cost * self.summary_cost_factor)
        wait = self._last_summary + interval - now
        if scope.metrics_only and wait > 0:
            self._pending = Scope(home=pending.home, experiments=pending.experiments, runs=pending.runs)
            now_scope = Scope(runs=scope.runs, light=True)
            return now_scope, (wait if self._pending else None)
        self._pending = Scope()
        if pending.home or pending.experiments:
            self._last_summary = now
        return Scope(home=pending.home, experiments=pending.experiments, runs=pending.runs,
                     metrics_only=scope.metrics_only), None

    def _plan(self, scope: Scope, data: PublishableData) -> SitePlan:
        if scope.full:
            return gather(data, self.config)
        static_names = frozenset(static_sources())
        index = P.site_index(data)
        plan = SitePlan()
        # The run pages first: they are what a user watching a training run is looking at.
        for run_id in sorted(r for r in scope.runs if r in data.runs):
            plan.add(plan_run(data, run_id, self.config, static_names, index, downloads=not scope.light))
        for experiment_id in sorted(scope.experiments):
            if experiment_id in index.experiments:
                plan.add(plan_experiment(data, experiment_id, self.config, static_names, index))
        if scope.home:
            plan.add(plan_home(data, self.config, static_names, index))
        return plan


def render_all(plan: SitePlan, env) -> dict[str, str]:
    """Every page of the plan as HTML, before anything is written: a broken template leaves the site as it was."""
    return {page.path: render_page(env, page.templates, page.context) for page in plan.pages}


def write_rendered(plan: SitePlan, rendered: dict[str, str], writer: SiteWriter) -> list[Problem]:
    """Pages first (in plan order), then data files and copies; each file replaced atomically by the writer.
    Returns the files that could not be copied."""
    for page in plan.pages:
        writer.write(page.path, rendered[page.path], page=True)
    for relpath in sorted(plan.files):
        writer.write(relpath, file_content(plan.files[relpath]))
    return copy_files(plan.copies, writer)


def describe_error(exc: BaseException) -> str:
    """One line for the terminal and the browser: a template error names its file and line."""
    from jinja2 import TemplateError, TemplateSyntaxError

    if isinstance(exc, TemplateSyntaxError):
        where = f" ({exc.filename or exc.name}:{exc.lineno})"
        return f"template error{where}: {exc.message}"
    if isinstance(exc, TemplateError):
        return f"template error: {exc}"
    if isinstance(exc, OSError):
        return f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")
    return f"{type(exc).__name__}: {exc}"
