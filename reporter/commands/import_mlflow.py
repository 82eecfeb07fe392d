"""`reporter import-mlflow`: convert an MLflow file store into flowsheet logs (again: only what is new)."""

from __future__ import annotations

import sys

import click

from reporter.commands.import_logs import run_import
from reporter.options import default_log_dir


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

    `reporter import` reads any format; this one also takes artifacts from folders outside the store.
    Importing again adds only what is new."""
    from reporter.importers.mlflow import import_mlflow as convert

    sys.exit(run_import("import-mlflow", lambda: convert(mlruns_dir, log_dir or default_log_dir(), link=not copy,
                                                         allow_artifacts_outside=outside), quiet))
