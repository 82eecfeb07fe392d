"""The `reporter` command: a group of the commands in reporter/commands, each a module of its own."""

from __future__ import annotations

import click

from reporter.commands.build import build
from reporter.commands.export import export
from reporter.commands.import_logs import import_logs
from reporter.commands.import_mlflow import import_mlflow
from reporter.commands.publish import publish
from reporter.commands.runs import runs
from reporter.commands.serve import serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowsheet")
def main() -> None:
    """flowsheet: turn append-only run logs into a static site."""


for command in (runs, build, serve, publish, export, import_logs, import_mlflow):
    main.add_command(command)
