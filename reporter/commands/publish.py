"""`reporter publish`: build into a temporary folder and commit it to the GitHub Pages branch."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reporter.options import log_dir_argument, site_options
from reporter.site.size import GITHUB_PAGES, SizeLimits


@click.command()
@log_dir_argument
@click.option("--remote", default="origin", show_default=True, help="The git remote to push to.")
@click.option("--branch", default="gh-pages", show_default=True, help="The branch GitHub Pages serves.")
@click.option("--message", "-m", default=None, help="The commit message on the Pages branch.")
@click.option("--cname", default=None, help="A custom domain for GitHub Pages (writes a CNAME file).")
@site_options
@click.option("--quiet", "-q", is_flag=True, help="Errors only.")
def publish(log_dir, remote, branch, message, cname, quiet, **site) -> None:
    """Build the site from LOG_DIR and push it to the gh-pages branch of this repository."""
    sys.exit(run_publish(log_dir, remote=remote, branch=branch, message=message, cname=cname, quiet=quiet, **site))


def run_publish(log_dir: str | None, *, remote: str, branch: str, message: str | None, cname: str | None,
                quiet: bool = False, limits: SizeLimits = GITHUB_PAGES, **site) -> int:
    """Build with the site options and commit the result to the Pages branch; returns the exit code.
    A site that passes `limits` (GitHub Pages') is still published, with a warning naming what slims it."""
    from reporter.commands.build import report_size, run_build
    from reporter.site.publish import PublishError, publish

    def build_site(out_dir: Path) -> None:
        if run_build(log_dir, str(out_dir), quiet=True, **site) != 0:
            raise PublishError("the site could not be built (see above); nothing was published")
        if not quiet:  # GitHub's limits are what publishing meets
            report_size(out_dir, limits, summary=False)

    try:
        result = publish(build_site, Path.cwd(), remote=remote, branch=branch, message=message, cname=cname)
    except PublishError as exc:
        click.echo(f"reporter publish: {exc}", err=True)
        return 1
    if not quiet and not result.changed:
        click.echo(f"Nothing to publish: the site is the same as the last one on {result.branch} "
                   f"({result.commit[:8]}); no commit made.")
    elif not quiet:
        click.echo(f"Published to {result.remote}/{result.branch} ({result.commit[:8]}).")
        if result.url:
            click.echo(f"GitHub Pages will serve it at {result.url} (once Pages serves the {result.branch} branch).")
        else:
            click.echo("Not a GitHub remote: serve the branch with any static host.")
    return 0
