"""The one rule for reading a log directory: nothing outside it is read, and only regular files are opened.

Every read of log-folder content goes through here: the reader's log files, notes.md and artifact
listing, the site's artifact previews and copies. Whatever part of a path is a link (a run folder, an
artifacts folder, a file in it), the path counts as inside only when, every link followed, it is
still under the log directory with every link followed. A FIFO, socket or device is refused before
it is opened (reading a FIFO with no writer blocks forever), and files are opened non-blocking in
case one was swapped in since the check.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

__all__ = ["LEADS_OUTSIDE", "RefusedPath", "file_kind", "is_inside", "open_inside", "open_regular", "resolve_inside"]

LEADS_OUTSIDE = "links out of the log directory"


class RefusedPath(OSError):
    """A path that is not read; `strerror` says why, in words for the problems list."""


def resolve_inside(path: str | os.PathLike, log_dir: str | os.PathLike, root_real: str | None = None) -> Path:
    """`path` with every link followed, when that lies inside `log_dir` (its links followed too).

    `root_real`: `log_dir` already resolved, for a caller checking many files against it (a reader's pass).
    Raises RefusedPath when it leads out, and OSError when it does not exist or cannot be resolved."""
    real = os.path.realpath(path, strict=True)
    if not is_inside(root_real or os.path.realpath(log_dir, strict=True), real):
        raise RefusedPath(errno.EACCES, LEADS_OUTSIDE, os.fspath(path))
    return Path(real)


def is_inside(root_real: str, path: str | os.PathLike) -> bool:
    """True when `path`, every link in it followed, is `root_real` (already a realpath) or lies under it.

    For checking many paths against one root (an MLflow store's folders) without resolving the root each time."""
    real = os.path.realpath(path)
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """Open a regular file for reading (its `name` is `path`); anything else is refused without being opened."""
    _check_regular(os.stat(path).st_mode, path)
    file = open(path, "rb", opener=_open_without_waiting)  # noqa: SIM115 - the caller closes it
    try:
        _check_regular(os.fstat(file.fileno()).st_mode, path)  # swapped for something else since the stat
    except OSError:
        file.close()
        raise
    return file


def _open_without_waiting(name: str, flags: int) -> int:
    # Should the file be swapped for a FIFO after the check, opening it does not wait for a writer.
    return os.open(name, flags | os.O_NONBLOCK)


def open_inside(path: str | os.PathLike, log_dir: str | os.PathLike, root_real: str | None = None) -> BinaryIO:
    """Open a file of the log directory for reading: inside it (links followed) and regular, or refused."""
    return open_regular(resolve_inside(path, log_dir, root_real))


def _check_regular(mode: int, path: str | os.PathLike) -> None:
    if not stat.S_ISREG(mode):
        raise RefusedPath(errno.EINVAL, f"not a regular file ({file_kind(mode)})", os.fspath(path))


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, for messages."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a regular file" if stat.S_ISREG(mode) else "a special file"
