"""Logs on object storage: a URL where a command takes a log folder becomes a local copy, synced first.

logger/mirror.py keeps the copy (by byte ranges, refusing keys that would leave it); the commands then
read the copy like any folder. Nothing is ever written to the storage.
"""

from __future__ import annotations

import threading

import click

from logger.mirror import Synced, is_url, sync

from reporter.config import ConfigError
from reporter.options import default_log_dir
from reporter.terminal import warn


def local_logs(log_dir: str | None, *, quiet: bool = False, strict: bool = False) -> str | None:
    """`log_dir` itself, or for a URL (s3://, gs://, az://, any fsspec filesystem) the path of its
    local copy, brought up to date now. Raises ConfigError (one line) when the storage cannot be read."""
    if log_dir is None and is_url(default_log_dir()):  # FLOWSHEET_DIR=s3://... and no LOG_DIR
        log_dir = default_log_dir()
    if log_dir is None or not is_url(log_dir):
        return log_dir
    synced = fetch(log_dir)
    if not quiet:
        warn(synced.problems, "error" if strict else "warning")
        click.echo(f"{log_dir}: {synced.fetched_objects} object(s), {synced.fetched_bytes} byte(s) fetched "
                   f"into {synced.path}", err=True)
    if strict and synced.problems:
        raise ConfigError(f"{len(synced.problems)} object(s) of {log_dir} refused or not fetched (--strict)")
    return str(synced.path)


def fetch(url: str) -> Synced:
    try:
        return sync(url)
    except ImportError as error:
        raise ConfigError(str(error)) from None
    except Exception as error:  # the storage's own errors (credentials, endpoint): one line, no traceback
        text = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise ConfigError(f"cannot read {url}: {text}") from None


SYNC_INTERVAL = 5.0  # seconds between two listings of the storage while `reporter serve` runs


def keep_synced(url: str, interval: float = SYNC_INTERVAL, quiet: bool = False) -> threading.Event:
    """Sync the local copy of `url` every `interval` seconds in a daemon thread (`reporter serve`: its
    watcher sees the copy change and rebuilds); set the returned event to stop. A failed sync is said
    once, and the next one tries again."""
    stop = threading.Event()

    def loop() -> None:
        said: set[str] = set()
        while not stop.wait(interval):
            try:
                problems = [str(problem) for problem in fetch(url).problems]
            except ConfigError as error:
                problems = [str(error)]
            fresh = [problem for problem in problems if problem not in said]
            if fresh and not quiet:
                warn(fresh)
            said = set(problems)

    threading.Thread(target=loop, name="flowsheet-remote-sync", daemon=True).start()
    return stop
