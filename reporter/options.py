"""The command-line options, each spelled once and shared by the commands that take it.

A command stacks the groups it needs; `site_config` turns the site options into the one frozen
BuildConfig that build, serve, publish and export all pass to plain functions.
"""

from __future__ import annotations

import os

import click

from reporter.config import BuildConfig


def default_log_dir() -> str:
    return os.environ.get("FLOWSHEET_DIR") or "runs"


def log_dir_argument(command):
    return click.argument("log_dir", required=False)(command)


def quiet_option(command):
    return click.option("--quiet", "-q", is_flag=True, help="No progress and no warnings; errors only.")(command)


def redaction_options(command):
    """--no-redact and --redact PATTERN: what every command that publishes pages masks."""
    command = click.option("--redact", "redact_patterns", multiple=True, metavar="PATTERN",
                           help="Also mask keys matching this regular expression (repeatable).")(command)
    return click.option("--no-redact", "redact", flag_value=False, default=True,
                        help="Keep values that look like credentials (masked by default).")(command)


def site_options(command):
    """What the pages look like and what they carry: the same for build, serve, publish and export."""
    command = redaction_options(command)
    command = click.option("--max-artifact-mb", type=float, default=None,
                           help="Artifacts larger than this are listed but not copied (default 50).")(command)
    command = click.option("--no-history-downloads", "history_downloads", flag_value=False, default=True,
                           help="Leave out each run's full-history download (metrics.csv.gz): a smaller site; "
                                "the pages still chart every metric.")(command)
    command = click.option("--templates", "templates_dir", default=None,
                           help="Folder of templates that override the defaults.")(command)
    return click.option("--title", default=None, help="The site's title (default: flowsheet).")(command)


def out_dir_options(command):
    """Where a site is written, and whether a folder `reporter build` did not make may be used."""
    command = click.option("--force", is_flag=True,
                           help="Write into an existing folder that `reporter build` did not make.")(command)
    return click.option("-o", "--out", "out_dir", default="site", show_default=True,
                        help="Folder to write the site into.")(command)


SITE_KEYS = ("title", "templates_dir", "max_artifact_mb", "redact", "redact_patterns", "history_downloads")


def site_config(log_dir: str | None, out_dir: str, options: dict, **more) -> BuildConfig:
    """The BuildConfig of a command's site options (raises ConfigError with a one-line message)."""
    site = {key: options[key] for key in SITE_KEYS if key in options}
    site["redact_patterns"] = tuple(site.get("redact_patterns", ()))
    return BuildConfig.from_options(log_dir or default_log_dir(), out_dir, **site, **more)
