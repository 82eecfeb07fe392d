"""`reporter export`: one self-contained HTML report of an experiment or of chosen runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reporter.config import BuildConfig, ConfigError
from reporter.options import default_log_dir, log_dir_argument, quiet_option, site_config, site_options
from reporter.terminal import fail, warn


@click.command()
@log_dir_argument
@click.option("-o", "--out", "out_file", required=True, help="The HTML file to write, e.g. report.html.")
@click.option("--experiment", default=None, help="Export this experiment (name or id).")
@click.option("--runs", "run_ids", default="", help="Export these runs: ids or id prefixes, comma-separated.")
@click.option("--max-image-mb", type=float, default=None, help="Images larger than this are left out (default 5).")
@site_options
@quiet_option
def export(log_dir, out_file, experiment, run_ids, max_image_mb, quiet, **site) -> None:
    """Write one self-contained HTML report (table, charts, compare view) that opens offline."""
    ids = [part.strip() for part in run_ids.split(",") if part.strip()]
    sys.exit(run_export(log_dir, out_file, experiment=experiment, run_ids=ids, max_image_mb=max_image_mb,
                        quiet=quiet, **site))


def run_export(log_dir: str | None, out_file: str, *, experiment=None, run_ids=(), max_image_mb=None,
               quiet: bool = False, **site) -> int:
    """Write the report; returns the exit code (0 ok, 1 failed, 2 bad options)."""
    from reporter.site.build import BuildError, read_data, shown_problems
    from reporter.site.export import DEFAULT_MAX_IMAGE_MB, ExportError, export, select

    out = Path(out_file).expanduser().absolute()
    try:
        config = report_config(log_dir, out, site)
        data = select(read_data(config.log_dir), experiment, list(run_ids))
    except (ConfigError, ExportError) as exc:
        return fail("export", exc, 2)
    if not quiet:
        warn(shown_problems(data.problems, config))
    limit = DEFAULT_MAX_IMAGE_MB if max_image_mb is None else max_image_mb
    try:
        result = export(config, data, out, max_image_mb=limit, title=site.get("title"))
    except ExportError as exc:
        return fail("export", exc, 2)
    except (BuildError, OSError) as exc:
        return fail("export", exc, 1)
    if not quiet:
        note = f"; {result.images_left_out} image(s) over {limit:g} MB left out" if result.images_left_out else ""
        click.echo(f"{result.runs} run(s) in {result.path} ({result.size / 1e6:.1f} MB){note}")
    return 0


def report_config(log_dir: str | None, out: Path, site: dict) -> BuildConfig:
    """The site options as a BuildConfig. An export writes no site, only `out`: its out_dir is a name beside
    the report that nothing makes or reads. Like a site, the report may not go into the log folder."""
    logs = Path(log_dir or default_log_dir()).expanduser().absolute()
    if out.parent.resolve().is_relative_to(logs.resolve()):
        raise ConfigError(f"the report {out} would be inside the log directory {logs}; choose another -o")
    return site_config(log_dir, str(out.parent / f".{out.name}.no-site"), site, quiet=True)
