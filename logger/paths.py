"""Where logs go: resolved each time it is asked, never at import."""

from __future__ import annotations

import os
from pathlib import Path

ENV_DIR = "FLOWSHEET_DIR"
DEFAULT_DIR = "runs"

_chosen: Path | None = None


def path_from_uri(uri: str | os.PathLike) -> Path:
    """Accept a plain path or a `file:` URI (MLflow's tracking URI form)."""
    text = os.fspath(uri)
    if text.startswith("file:"):
        from urllib.parse import unquote, urlparse

        parsed = urlparse(text)
        text = unquote(parsed.path if parsed.netloc in ("", "localhost") else f"//{parsed.netloc}{parsed.path}")
    elif "://" in text:
        raise ValueError(f"flowsheet writes to a folder; cannot use tracking URI {text!r} (give a path or a file: URI)")
    return Path(text).expanduser()


def set_log_dir(path: str | os.PathLike | None) -> None:
    """Choose the log directory for this process; None goes back to $FLOWSHEET_DIR or ./runs."""
    global _chosen
    _chosen = None if path is None else path_from_uri(path)


def get_log_dir() -> Path:
    if _chosen is not None:
        return _chosen.absolute()
    return Path(os.environ.get(ENV_DIR) or DEFAULT_DIR).expanduser().absolute()
