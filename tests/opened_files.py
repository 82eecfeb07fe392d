"""Which files a piece of code opens: for tests that a refresh reads nothing it need not (or must not) read."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_recording: list[list[str]] = []


def _record(event: str, args: tuple) -> None:
    if event == "open" and _recording and isinstance(args[0], (str, bytes, os.PathLike)):
        for opened in _recording:
            opened.append(os.fsdecode(args[0]))


sys.addaudithook(_record)  # audit hooks cannot be removed: it records only inside `opened_files()`


@contextmanager
def opened_files() -> Iterator[list[str]]:
    """The paths opened inside the `with` block, in order (the list fills as they are opened)."""
    opened: list[str] = []
    _recording.append(opened)
    try:
        yield opened
    finally:
        _recording.remove(opened)
