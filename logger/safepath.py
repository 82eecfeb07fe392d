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

__all__ = ["RefusedPath", "file_kind", "open_inside", "open_regular", "resolve_inside"]


class RefusedPath(OSError):
    """A path that is not read; `strerror` says why, in words for the problems list."""


def resolve_inside(path: str | os.PathLike, log_dir: str | os.PathLike) -> Path:
    """`path` with every link followed, when that lies inside `log_dir` (its links followed too).

    Raises RefusedPath when it leads out, and OSError when it does not exist or cannot be resolved."""
    real = os.path.realpath(path, strict=True)
    root = os.path.realpath(log_dir, strict=True)
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        raise RefusedPath(errno.EACCES, "links out of the log directory", os.fspath(path))
    return Path(real)


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """Open a regular file for reading; anything else is refused without being opened."""
    _check_regular(os.stat(path).st_mode, path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        _check_regular(os.fstat(fd).st_mode, path)  # swapped for something else since the stat
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def open_inside(path: str | os.PathLike, log_dir: str | os.PathLike) -> BinaryIO:
    """Open a file of the log directory for reading: inside it (links followed) and regular, or refused."""
    return open_regular(resolve_inside(path, log_dir))


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
