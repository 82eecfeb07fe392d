"""The terminal side of `reporter build`: options to a BuildConfig, progress, warnings and the summary.

Errors are one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import sys

import click

from reporter.config import BuildConfig, ConfigError

MAX_WARNINGS = 20


def run_publish(log_dir: str, *, remote: str, branch: str, message: str | None, cname: str | None,
                title=None, quiet=False, redact=True, redact_patterns=()) -> int:
    """Build into a temporary folder and commit it to the Pages branch; returns the exit code."""
    from pathlib import Path

    from reporter.publish import PublishError, publish

    def build_site(out_dir: Path) -> None:
        if run_build(log_dir, str(out_dir), title=title, quiet=True, redact=redact,
                     redact_patterns=redact_patterns) != 0:
            raise PublishError("the site could not be built (see above); nothing was published")

    try:
        result = publish(build_site, Path.cwd(), remote=remote, branch=branch, message=message, cname=cname)
    except PublishError as exc:
        click.echo(f"reporter publish: {exc}", err=True)
        return 1
    if not quiet:
        click.echo(f"Published to {result.remote}/{result.branch} ({result.commit[:8]}).")
        if result.url:
            click.echo(f"GitHub Pages will serve it at {result.url} (once Pages serves the {result.branch} branch).")
        else:
            click.echo("Not a GitHub remote: serve the branch with any static host.")
    return 0


def run_export(log_dir: str, out_file: str, *, experiment=None, run_ids=(), title=None, max_image_mb=None,
               redact=True, redact_patterns=(), quiet=False) -> int:
    """Write one self-contained HTML report; returns the exit code."""
    import tempfile
    from pathlib import Path

    from reporter.build import BuildError, read_data
    from reporter.export import DEFAULT_MAX_IMAGE_MB, ExportError, export, select

    try:
        config = BuildConfig.from_options(log_dir, tempfile.gettempdir() + "/flowsheet-export", title=title,
                                          quiet=True, redact=redact, redact_patterns=tuple(redact_patterns))
        data = select(read_data(config.log_dir), experiment, list(run_ids))
    except (ConfigError, ExportError) as exc:
        click.echo(f"reporter export: {exc}", err=True)
        return 2
    if not quiet:
        _warn(data.problems, strict=False)
    limit = DEFAULT_MAX_IMAGE_MB if max_image_mb is None else max_image_mb
    try:
        result = export(config, data, Path(out_file).absolute(), max_image_mb=limit, title=title)
    except BuildError as exc:
        click.echo(f"reporter export: {exc}", err=True)
        return 1
    except OSError as exc:
        click.echo(f"reporter export: {exc.filename or ''}: {exc.strerror or exc}", err=True)
        return 1
    if not quiet:
        note = f"; {result.images_left_out} image(s) over {limit:g} MB left out" if result.images_left_out else ""
        click.echo(f"{result.runs} run(s) in {result.path} ({result.size / 1e6:.1f} MB){note}")
    return 0


def run_build(log_dir: str, out_dir: str, *, title=None, templates_dir=None, max_artifact_mb=None,
              strict=False, quiet=False, force=False, redact=True, redact_patterns=()) -> int:
    """Build and report; returns the exit code (0 ok, 1 build failed, 2 bad options)."""
    from jinja2 import TemplateError

    from reporter.build import BuildError, build, read_data
    from reporter.site import SiteError

    try:
        config = BuildConfig.from_options(log_dir, out_dir, title=title, templates_dir=templates_dir,
                                          max_artifact_mb=max_artifact_mb, strict=strict, quiet=quiet, force=force,
                                          redact=redact, redact_patterns=tuple(redact_patterns))
    except ConfigError as exc:
        click.echo(f"reporter build: {exc}", err=True)
        return 2
    try:
        data = read_data(config.log_dir)
        if not quiet:
            _warn(data.problems, strict)
        progress = _progress_bar() if not quiet and sys.stderr.isatty() else None
        try:
            result = build(config, data=data, progress=progress)
        finally:
            if progress:
                click.echo("", err=True)
    except (BuildError, SiteError) as exc:
        click.echo(f"reporter build: {exc}", err=True)
        return 1
    except TemplateError as exc:
        where = f" ({exc.filename}:{exc.lineno})" if getattr(exc, "filename", None) else ""
        click.echo(f"reporter build: template error{where}: {exc}", err=True)
        return 1
    except OSError as exc:
        click.echo(f"reporter build: {exc.filename or ''}: {exc.strerror or exc}", err=True)
        return 1
    if result.redaction and not quiet:
        click.echo(f"warning: {result.redaction}", err=True)
    if not quiet:
        click.echo(f"{result.experiments} experiment(s), {result.runs} run(s); {result.pages_written} page(s) written, "
                   f"{result.files_unchanged} file(s) unchanged, {result.files_removed} removed; "
                   f"{len(result.problems)} problem(s); {result.seconds:.1f} s")
        click.echo(f"Open {result.index_path.as_uri()}")
    return 0


def _warn(problems, strict: bool) -> None:
    label = "error" if strict else "warning"
    for problem in problems[:MAX_WARNINGS]:
        click.echo(f"{label}: {problem}", err=True)
    if len(problems) > MAX_WARNINGS:
        click.echo(f"{label}: ... and {len(problems) - MAX_WARNINGS} more", err=True)


def _progress_bar():
    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        click.echo(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", err=True, nl=False)
    return show
