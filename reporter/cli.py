"""The `reporter` command: each subcommand turns its options into plain arguments and calls one function."""

from __future__ import annotations

import os
import sys

import click


def default_log_dir() -> str:
    return os.environ.get("FLOWSHEET_DIR") or "runs"


def redaction_options(command):
    """--no-redact and --redact PATTERN, the same for every command that writes pages."""
    command = click.option("--redact", "redact_patterns", multiple=True, metavar="PATTERN",
                           help="Also mask keys matching this regular expression (repeatable).")(command)
    return click.option("--no-redact", "redact", flag_value=False, default=True,
                        help="Keep param and tag values that look like credentials (masked by default).")(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowsheet")
def main() -> None:
    """flowsheet: turn append-only run logs into a static site."""


@main.command()
@click.argument("log_dir", required=False)
@click.option("--experiment", "experiments", multiple=True, help="Only runs of this experiment (repeatable).")
@click.option("--filter", "filter_string", default="", help="A search_runs filter, e.g. \"metrics.f1 > 0.8\".")
@click.option("--order-by", "order_by", multiple=True, help="e.g. \"metrics.f1 DESC\" (repeatable).")
@click.option("--columns", default=None, help="Comma-separated columns to show.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def runs(log_dir, experiments, filter_string, order_by, columns, fmt) -> None:
    """List runs as a table, CSV or JSON."""
    from reporter.runs_view import show_runs

    sys.exit(show_runs(log_dir or default_log_dir(), experiments=list(experiments), filter_string=filter_string,
                       order_by=list(order_by), columns=columns, fmt=fmt))


@main.command()
@click.argument("log_dir", required=False)
@click.option("-o", "--out", "out_dir", default="site", show_default=True, help="Folder to write the site into.")
@click.option("--title", default=None, help="The site's title (default: flowsheet).")
@click.option("--templates", "templates_dir", default=None, help="Folder of templates that override the defaults.")
@click.option("--max-artifact-mb", type=float, default=50, show_default=True,
              help="Artifacts larger than this are listed but not copied.")
@click.option("--strict", is_flag=True, help="Fail when the reader reports problems in the logs.")
@click.option("--quiet", "-q", is_flag=True, help="No progress and no warnings; errors only.")
@click.option("--force", is_flag=True, help="Write into an existing folder that `reporter build` did not make.")
@redaction_options
def build(log_dir, out_dir, title, templates_dir, max_artifact_mb, strict, quiet, force, redact,
          redact_patterns) -> None:
    """Build the static site from LOG_DIR (default: $FLOWSHEET_DIR or ./runs)."""
    from reporter.build_cli import run_build

    sys.exit(run_build(log_dir or default_log_dir(), out_dir, title=title, templates_dir=templates_dir,
                       max_artifact_mb=max_artifact_mb, strict=strict, quiet=quiet, force=force, redact=redact,
                       redact_patterns=redact_patterns))


@main.command()
@click.argument("log_dir", required=False)
@click.option("--remote", default="origin", show_default=True, help="The git remote to push to.")
@click.option("--branch", default="gh-pages", show_default=True, help="The branch GitHub Pages serves.")
@click.option("--message", "-m", default=None, help="The commit message on the Pages branch.")
@click.option("--cname", default=None, help="A custom domain for GitHub Pages (writes a CNAME file).")
@click.option("--title", default=None, help="The site's title (default: flowsheet).")
@click.option("--quiet", "-q", is_flag=True, help="Errors only.")
@redaction_options
def publish(log_dir, remote, branch, message, cname, title, quiet, redact, redact_patterns) -> None:
    """Build the site from LOG_DIR and push it to the gh-pages branch of this repository."""
    from reporter.build_cli import run_publish

    sys.exit(run_publish(log_dir or default_log_dir(), remote=remote, branch=branch, message=message, cname=cname,
                         title=title, quiet=quiet, redact=redact, redact_patterns=redact_patterns))


@main.command()
@click.argument("log_dir", required=False)
@click.option("-o", "--out", "out_file", required=True, help="The HTML file to write, e.g. report.html.")
@click.option("--experiment", default=None, help="Export this experiment (name or id).")
@click.option("--runs", "run_ids", default="", help="Export these runs: ids or id prefixes, comma-separated.")
@click.option("--title", default=None, help="The report's title.")
@click.option("--max-image-mb", type=float, default=None, help="Images larger than this are left out (default 5).")
@click.option("--quiet", "-q", is_flag=True, help="Errors only.")
@redaction_options
def export(log_dir, out_file, experiment, run_ids, title, max_image_mb, quiet, redact, redact_patterns) -> None:
    """Write one self-contained HTML report (table, charts, compare view) that opens offline."""
    from reporter.build_cli import run_export

    ids = [part.strip() for part in run_ids.split(",") if part.strip()]
    sys.exit(run_export(log_dir or default_log_dir(), out_file, experiment=experiment, run_ids=ids, title=title,
                        max_image_mb=max_image_mb, redact=redact, redact_patterns=redact_patterns, quiet=quiet))


@main.command("import-mlflow")
@click.argument("mlruns_dir")
@click.option("-o", "--out", "log_dir", default=None, help="Log directory to import into (default: $FLOWSHEET_DIR or ./runs).")
@click.option("--copy", is_flag=True, help="Always copy artifacts (default: hard-link them when on the same filesystem).")
@click.option("--quiet", "-q", is_flag=True, help="No warnings and no summary; errors only.")
@click.option("--allow-artifacts-outside", "outside", multiple=True, metavar="PATH",
              type=click.Path(exists=True, file_okay=False),
              help="A folder outside the store that runs' artifact_uri may name (repeatable); others are not read.")
def import_mlflow(mlruns_dir, log_dir, copy, quiet, outside) -> None:
    """Convert an MLflow file store (an mlruns/ folder) into flowsheet's format; importing again adds only what is new."""
    from reporter.import_mlflow import run_import

    sys.exit(run_import(mlruns_dir, log_dir or default_log_dir(), link=not copy, quiet=quiet,
                        allow_artifacts_outside=outside))


@main.command()
@click.argument("log_dir", required=False)
@click.option("-o", "--out", "out_dir", default="site", show_default=True, help="Folder to write the site into.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port (0: any free port).")
@click.option("--watch/--no-watch", default=True, show_default=True, help="Rebuild when the logs or templates change.")
@click.option("--poll", is_flag=True, help="Poll for changes (network file systems, containers) instead of inotify.")
@click.option("--open", "open_browser", is_flag=True, help="Open the site in a web browser.")
@click.option("--templates", "templates_dir", default=None, help="Folder of templates that override the defaults.")
@click.option("--title", default=None, help="The site's title (default: flowsheet).")
@click.option("--force", is_flag=True, help="Write into an existing folder that `reporter build` did not make.")
@click.option("--max-artifact-mb", type=float, default=50, show_default=True,
              help="Artifacts larger than this are listed but not copied.")
@click.option("--request-timeout", type=click.FloatRange(0, min_open=True), default=20, show_default=True,
              metavar="SECONDS", help="Close a connection that takes longer than this to send its request.")
@redaction_options
def serve(log_dir, out_dir, host, port, watch, poll, open_browser, templates_dir, title, force, max_artifact_mb,
          request_timeout, redact, redact_patterns) -> None:
    """Build the site, serve it on http://HOST:PORT/ and rebuild it live as LOG_DIR grows."""
    from reporter.serve import run_serve

    sys.exit(run_serve(log_dir or default_log_dir(), out_dir, host=host, port=port, watch=watch, poll=poll,
                       open_browser=open_browser, templates_dir=templates_dir, title=title, force=force,
                       max_artifact_mb=max_artifact_mb, redact=redact, redact_patterns=redact_patterns,
                       request_timeout=request_timeout))
