"""`.flowsheetignore`: the gitignore-style file in a log directory naming runs and artifacts never to publish.

Reading it is strict in one direction: something that is not a file is skipped with a problem, but a
file that exists and cannot be read stops the build, since building without it would publish what
it hides. The redaction step (reporter/site/redact.py) applies the patterns.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from logger.model import Problem

from reporter.errors import BuildError

IGNORE_FILE = ".flowsheetignore"


class IgnoreFileError(BuildError):
    """The ignore file exists but cannot be read: building would publish what it hides."""


def read_ignore_file(log_dir: Path):
    """The patterns of the log directory's .flowsheetignore (None when there is none), and a Problem when skipped.

    Something that is not a file (a folder, a FIFO, a device) is skipped, with a Problem: nobody wrote patterns
    into it, and reading a FIFO would wait forever. A file that exists but cannot be read stops the build
    (IgnoreFileError): building without it would publish what the user asked to hide.
    """
    path = log_dir / IGNORE_FILE
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None, None
    except OSError as error:
        raise _unreadable(error.strerror or str(error)) from None
    try:
        target = path.resolve()
        target.relative_to(log_dir.resolve())
    except (OSError, RuntimeError) as error:  # a loop of links
        raise _unreadable(str(error)) from None
    except ValueError:
        raise _unreadable(f"it links outside the log directory (to {target}), and nothing outside the log "
                          "directory is read; copy the file into the log directory") from None
    try:
        text = _read_regular_file(target)
    except OSError as error:
        raise _unreadable(error.strerror or str(error)) from None
    except UnicodeDecodeError as error:
        raise _unreadable(f"it is not UTF-8 text ({error.reason} at byte {error.start})") from None
    if text is None:
        return None, Problem(IGNORE_FILE, None, "not a regular file; not read, so it hides nothing")
    import pathspec

    try:
        return pathspec.GitIgnoreSpec.from_lines(text.splitlines()), None
    except ValueError as error:  # a pattern gitignore would not take
        raise _unreadable(str(error)) from None


def _read_regular_file(path: Path) -> str | None:
    """The file's text, or None when it is not a regular file. Opening does not wait on a FIFO."""
    handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        return None
    with os.fdopen(handle, "rb") as file:
        return file.read().decode("utf-8")


def _unreadable(why: str) -> IgnoreFileError:
    return IgnoreFileError(f"cannot read {IGNORE_FILE}: {why}. Refusing to build: the site would publish the "
                           f"runs and artifacts it lists. Fix the file, or remove it to publish everything.")
