"""`reporter import`: convert logs of any format flowsheet reads into flowsheet logs (again: only what is new)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from reporter.options import default_log_dir
from reporter.terminal import fail, read_summary, warn


@click.command("import")
@click.argument("source")
@click.option("-o", "--out", "log_dir", default=None,
              help="Log directory to import into (default: $FLOWSHEET_DIR or ./runs).")
@click.option("--copy", is_flag=True,
              help="Always copy artifacts (default: hard-link them when on the same filesystem).")
@click.option("--quiet", "-q", is_flag=True, help="No warnings and no summary; errors only.")
def import_logs(source, log_dir, copy, quiet) -> None:
    """Convert the logs at SOURCE into flowsheet's format: a folder holding any mix of the formats
    `reporter build` reads, or one file (an mlflow.db, an event file).

    Runs keep their ids where they can; importing again adds only what is new."""
    from reporter.importers.logs import import_logs as convert

    sys.exit(run_import("import", lambda: convert(source, log_dir or default_log_dir(), link=not copy), quiet))


def run_import(command: str, convert: Callable, quiet: bool) -> int:
    """Run `convert`; print warnings, the formats read and one summary line. The exit code: 0, 1 failed, 2 bad input."""
    from reporter.importers.logs import LogImportError

    try:
        result = convert()
    except LogImportError as error:
        if not quiet:
            warn(error.problems)
        return fail(command, error, 2)
    except OSError as error:
        return fail(command, error, 1)
    if not quiet:
        warn(result.problems)
        if result.runs_by_source:  # import-mlflow reads one known format: nothing to tell
            click.echo(read_summary(result.runs_by_source))
        click.echo(f"Imported into {result.log_dir}: {result.summary()}")
    return 0
