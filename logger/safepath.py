"""Reading only inside one folder: the check every read of a foreign tree goes through.

    root_real = os.path.realpath(store)
    if is_inside(root_real, folder): ...               # before listing a folder
    with open_inside(root_real, path) as file: ...     # before reading a file

A link anywhere in the path (the file, or any folder above it) is resolved first, so a link that
leads out of the folder is refused wherever it sits. Only regular files are opened: a FIFO would
block the reader forever and a device could be endless.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

LEADS_OUTSIDE = "a link out of the log folder: not read"
NOT_REGULAR = "not a regular file (a FIFO, device, socket or folder): not read"


def is_inside(root_real: str, path: str | os.PathLike) -> bool:
    """True when `path`, every link in it resolved, is `root_real` (a realpath) or lies under it."""
    real = os.path.realpath(path)
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def open_inside(root_real: str, path: str | os.PathLike) -> BinaryIO:
    """Open `path` for reading in binary mode, when it resolves inside `root_real` to a regular file.

    Raises OSError otherwise (strerror says why, for problem messages), as for a missing file.
    """
    real = os.path.realpath(path)
    if not is_inside(root_real, real):
        raise OSError(errno.EACCES, LEADS_OUTSIDE, os.fspath(path))
    if not stat.S_ISREG(os.stat(real).st_mode):
        raise OSError(errno.EINVAL, NOT_REGULAR, os.fspath(path))
    file = open(real, "rb", opener=_open_without_waiting)  # noqa: SIM115 - the caller closes it
    if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
        file.close()
        raise OSError(errno.EINVAL, NOT_REGULAR, os.fspath(path))
    return file


def _open_without_waiting(name: str, flags: int) -> int:
    # O_NONBLOCK: should the file be swapped for a FIFO after the check, opening it does not wait for a writer;
    # O_NOFOLLOW: nor for a link (the path is resolved, so its last part is no link unless swapped).
    return os.open(name, flags | os.O_NONBLOCK | os.O_NOFOLLOW)
