"""`flowsheet:` tracking URIs -> the log directory they name. Pure: no MLflow, no disk.

    flowsheet:./runs         a path relative to the working directory when the store is made
    flowsheet:runs           the same
    flowsheet:~/runs         a path under the home folder
    flowsheet:/abs/path      an absolute path
    flowsheet:///abs/path    the same, in URL form (percent-escapes are decoded, as in `file:` URIs)
    flowsheet:               the logger's own default: $FLOWSHEET_DIR, else ./runs
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

SCHEME = "flowsheet"


def log_dir_from_uri(uri: str) -> Path:
    """The absolute log directory of a `flowsheet:` URI; ValueError for any other URI."""
    prefix = f"{SCHEME}:"
    if not isinstance(uri, str) or not uri.lower().startswith(prefix):
        raise ValueError(f"not a {SCHEME}: tracking URI: {uri!r}")
    rest = uri[len(prefix):]
    if rest.startswith("//"):  # URL form: flowsheet://[localhost]/abs/path
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"{uri!r} names a host ({parts.netloc!r}); flowsheet writes to a local folder: "
                             f"use {SCHEME}:///absolute/path or {SCHEME}:relative/path")
        if parts.query or parts.fragment:
            raise ValueError(f"{uri!r} has a query or fragment; a {SCHEME}: URI is only a folder")
        rest = unquote(parts.path)
    if not rest:
        from ..paths import get_log_dir

        return get_log_dir()
    if "\x00" in rest:
        raise ValueError(f"{uri!r} holds a NUL character")
    return Path(rest).expanduser().absolute()
