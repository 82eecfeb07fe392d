"""Which files a piece of code opens: for tests that a refresh reads nothing it need not (or must not) read.

Only the opens of the thread that records count: threads another test left running (the logger's flusher,
an object-storage uploader) open files of their own at any moment."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# (thread, audit events, the list being filled) for every recording under way
_recording: list[tuple[int, tuple[str, ...], list[str]]] = []


def _record(event: str, args: tuple) -> None:
    if _recording and args and isinstance(args[0], (str, bytes, os.PathLike)):
        thread = threading.get_ident()
        for owner, events, opened in _recording:
            if owner == thread and event in events:
                opened.append(os.fsdecode(args[0]))


sys.addaudithook(_record)  # audit hooks cannot be removed: it records only inside `opened_files()`


@contextmanager
def opened_files(events: tuple[str, ...] = ("open",)) -> Iterator[list[str]]:
    """The paths this thread opens inside the `with` block, in order (the list fills as they are opened);
    `events`: the audit events that count as opening (e.g. also "sqlite3.connect", "os.scandir")."""
    opened: list[str] = []
    entry = (threading.get_ident(), events, opened)
    _recording.append(entry)
    try:
        yield opened
    finally:
        _recording.remove(entry)
