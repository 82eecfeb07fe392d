"""`reporter build`: options to a BuildConfig, then the build, with progress, warnings and a summary.

Errors are one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reporter.config import BuildConfig, ConfigError
from reporter.options import log_dir_argument, out_dir_options, quiet_option, site_config, site_options
from reporter.remote import local_logs
from reporter.site.size import GITHUB_PAGES, SizeLimits
from reporter.terminal import fail, progress_bar, read_summary, warn


@click.command()
@log_dir_argument
@out_dir_options
@site_options
@click.option("--strict", is_flag=True, help="Fail when the reader reports problems in the logs.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Processes making run pages (default: one per core on 4 or more cores when there are many "
                   "pages, else 1: no pool).")
@quiet_option
def build(log_dir, out_dir, force, strict, quiet, jobs, **site) -> None:
    """Build the static site from LOG_DIR (default: $FLOWSHEET_DIR or ./runs)."""
    try:
        log_dir = local_logs(log_dir, quiet=quiet, strict=strict)  # a URL: its local copy (reporter/remote.py)
        config = site_config(log_dir, out_dir, site, strict=strict, quiet=quiet, force=force)
    except ConfigError as exc:
        click.echo(f"reporter build: {exc}", err=True)
        sys.exit(2)
    sys.exit(build_site(config, jobs=jobs))


def run_build(log_dir: str | None, out_dir: str, **options) -> int:
    """`reporter build` from Python (benchmarks, publish): options as the command takes them; the exit code."""
    try:
        log_dir = local_logs(log_dir, quiet=options.get("quiet", False), strict=options.get("strict", False))
        config = site_config(log_dir, out_dir, options, **{k: options[k] for k in ("strict", "quiet", "force")
                                                           if k in options})
    except ConfigError as exc:
        click.echo(f"reporter build: {exc}", err=True)
        return 2
    return build_site(config)


def build_site(config: BuildConfig, limits: SizeLimits = GITHUB_PAGES, jobs: int | None = None) -> int:
    """Build and report; returns the exit code (0 ok, 1 build failed). `limits`: where the site's size
    gets a warning (GitHub Pages' by default); `jobs`: processes making run pages (None: by the machine)."""
    from jinja2 import TemplateError

    from logger.sources import count_by_source

    from reporter.site.build import BuildError, build, shown_problems, static_sources
    from reporter.site.reading import start_reading, summarised
    from reporter.site.writer import SiteError

    quiet = config.quiet
    try:
        reading = start_reading(config, static_sources())  # unchanged runs the last build knew are not read
        data = reading.data
        if config.strict and not quiet:  # the build is about to fail on them: show them all first
            warn(shown_problems(data.problems, config), "error")
        progress = progress_bar() if not quiet and sys.stderr.isatty() else None
        try:
            result = build(config, progress=progress, jobs=jobs, reading=reading)
        finally:
            if progress:
                click.echo("", err=True)
    except TemplateError as exc:
        filename, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
        where = f" ({filename}:{line})" if filename else ""
        click.echo(f"reporter build: template error{where}: {exc}", err=True)
        return 1
    except (BuildError, SiteError, OSError) as exc:
        return fail("build", exc, 1)
    if not quiet:  # the logs' problems and the files the site could not take
        warn(shown_problems(result.problems, config))
    if result.redaction and not quiet:
        click.echo(f"warning: {result.redaction}", err=True)
    if not quiet:
        unread = sum(1 for run in data.runs.values() if summarised(run))
        kept = f" ({unread} unchanged since the last build, not read again)" if unread else ""
        click.echo(read_summary(count_by_source(data.runs.values())) + kept)
        click.echo(f"{result.experiments} experiment(s), {result.runs} run(s); {result.pages_written} page(s) written, "
                   f"{result.files_unchanged} file(s) unchanged, {result.files_removed} removed; "
                   f"{len(result.problems)} problem(s); {result.seconds:.1f} s")
        click.echo(f"Build cache: {result.cache}")
        report_size(config.out_dir, limits)
        click.echo(f"Open {config.out_dir.joinpath('index.html').as_uri()}")
    return 0



def report_size(out_dir: Path, limits: SizeLimits = GITHUB_PAGES, summary: bool = True) -> None:
    """The site's size and file count (summary), and a warning when it does not fit `limits`."""
    from reporter.site.size import measure_site, size_summary, size_warnings

    size = measure_site(out_dir)
    if summary:
        click.echo(size_summary(size))
    for warning in size_warnings(size, limits):
        click.echo(f"warning: {warning}", err=True)
