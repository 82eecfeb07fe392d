"""What every command prints the same way: warnings about the logs, and a progress bar."""

from __future__ import annotations

import click

MAX_WARNINGS = 20


def warn(problems, label: str = "warning") -> None:
    """The first problems, one line each on stderr, and how many more there were."""
    for problem in problems[:MAX_WARNINGS]:
        click.echo(f"{label}: {problem}", err=True)
    if len(problems) > MAX_WARNINGS:
        click.echo(f"{label}: ... and {len(problems) - MAX_WARNINGS} more", err=True)


def progress_bar():
    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        click.echo(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", err=True, nl=False)
    return show


def fail(command: str, error: BaseException, code: int) -> int:
    """The one line a command prints when it stops on `error` (an OSError names its file); returns `code`."""
    named = isinstance(error, OSError) and error.strerror
    text = f"{getattr(error, 'filename', None) or ''}: {getattr(error, 'strerror', '')}" if named else str(error)
    click.echo(f"reporter {command}: {text}", err=True)
    return code


def read_summary(counts: dict[str, int]) -> str:
    """"Read 12 run(s): 9 flowsheet, 3 MLflow database": what each log format brought (`count_by_source`)."""
    found = ", ".join(f"{count} {label}" for label, count in counts.items())
    total = sum(counts.values())
    return f"Read {total} run(s)" + (f": {found}" if found else " (no log format found anything here)")
