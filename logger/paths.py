"""Where logs go: resolved each time it is asked, never at import."""

from __future__ import annotations

import os
from pathlib import Path

ENV_DIR = "FLOWSHEET_DIR"
ENV_CACHE_DIR = "FLOWSHEET_CACHE_DIR"  # copies of logs on object storage (logger/mirror.py), staging of uploads
DEFAULT_DIR = "runs"

_chosen: Path | None = None


# Tracking URIs MLflow sends to a server or a database; flowsheet writes files (and has no server).
_REMOTE_NAMES = ("databricks", "databricks-uc", "uc")
NO_SERVER = ("flowsheet has no tracking server: it writes to a folder. Give a path or a file: URI "
             "(set_tracking_uri('file:./runs'), or $FLOWSHEET_DIR), then share the folder (rsync, git) or the "
             "site `reporter build` / `reporter publish` makes from it")


def path_from_uri(uri: str | os.PathLike) -> Path:
    """Accept a plain path or a `file:` URI (MLflow's tracking URI form); a server's or database's URI
    (http://, databricks, sqlite://, ...) raises NotSupported."""
    text = os.fspath(uri)
    scheme = text.partition(":")[0].lower()
    if text.lower() in _REMOTE_NAMES or (scheme in _REMOTE_NAMES and ":" in text):
        from .exceptions import NotSupported

        raise NotSupported(f"cannot use tracking URI {text!r}: {NO_SERVER}")
    if text.startswith("file:"):
        from urllib.parse import unquote, urlparse

        parsed = urlparse(text)
        text = unquote(parsed.path if parsed.netloc in ("", "localhost") else f"//{parsed.netloc}{parsed.path}")
    elif "://" in text:
        from .mirror import is_url

        if is_url(text):  # object storage (s3://, gs://, az://, ...): a local staging folder, uploaded
            from .storage import staging_for

            return staging_for(text)
        from .exceptions import NotSupported

        raise NotSupported(f"cannot use tracking URI {text!r}: {NO_SERVER}")
    return Path(text).expanduser()


def set_log_dir(path: str | os.PathLike | None, segments: bool | None = None) -> None:
    """Choose the log directory for this process; None goes back to $FLOWSHEET_DIR or ./runs.

    `segments=True`: each process writes its own segment of a run (run@<writer>.jsonl, docs/FORMAT.md);
    False: one run.jsonl; None: the default ($FLOWSHEET_SEGMENTS, or segments under a distributed launcher)."""
    global _chosen
    from .segments import choose

    _chosen = None if path is None else path_from_uri(path)
    choose(segments)


def get_log_dir() -> Path:
    if _chosen is not None:
        return _chosen.absolute()
    chosen = os.environ.get(ENV_DIR) or DEFAULT_DIR
    if "://" in chosen:
        return path_from_uri(chosen).absolute()
    return Path(chosen).expanduser().absolute()
