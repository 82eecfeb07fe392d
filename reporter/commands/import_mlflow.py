"""`reporter import-mlflow`: convert an MLflow file store into flowsheet logs (again: only what is new)."""

from __future__ import annotations

import sys

import click

from reporter.options import default_log_dir
from reporter.terminal import fail, warn


@click.command("import-mlflow")
@click.argument("mlruns_dir")
@click.option("-o", "--out", "log_dir", default=None,
              help="Log directory to import into (default: $FLOWSHEET_DIR or ./runs).")
@click.option("--copy", is_flag=True,
              help="Always copy artifacts (default: hard-link them when on the same filesystem).")
@click.option("--quiet", "-q", is_flag=True, help="No warnings and no summary; errors only.")
@click.option("--allow-artifacts-outside", "outside", multiple=True, metavar="PATH",
              type=click.Path(exists=True, file_okay=False),
              help="A folder outside the store that runs' artifact_uri may name (repeatable); others are not read.")
def import_mlflow(mlruns_dir, log_dir, copy, quiet, outside) -> None:
    """Convert an MLflow file store (an mlruns/ folder) into flowsheet's format.

    Importing again adds only what is new."""
    sys.exit(run_import(mlruns_dir, log_dir or default_log_dir(), link=not copy, quiet=quiet,
                        allow_artifacts_outside=outside))


def run_import(mlruns_dir: str, log_dir: str, *, link: bool = True, quiet: bool = False,
               allow_artifacts_outside=()) -> int:
    """Import, print warnings and one summary line; the exit code (0, 1 failed, 2 bad input)."""
    from reporter.importers.mlflow import MlflowImportError, import_mlflow

    try:
        result = import_mlflow(mlruns_dir, log_dir, link=link, allow_artifacts_outside=allow_artifacts_outside)
    except MlflowImportError as error:
        return fail("import-mlflow", error, 2)
    except OSError as error:
        return fail("import-mlflow", error, 1)
    if not quiet:
        warn(result.problems)
        click.echo(f"Imported into {result.log_dir}: {result.summary()}")
    return 0
