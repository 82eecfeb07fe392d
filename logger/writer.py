"""Appending lines to a run file: buffered, flushed within a second, safe across threads and processes.

Logging calls put a finished line on a queue (`pending.append`, a thread-safe C call, so the hot
path holds no lock) and drain it themselves once it holds a few thousand lines, which keeps the
memory small and warm. A per-process flusher thread drains the rest a few times a second;
`flush()` drains at once. Each drain is one flock-guarded write of whole lines to a file opened with
O_APPEND, so lines from several threads or processes never interleave. An error met by the
background flush is kept and raised by the next logging call, never dropped.
"""

from __future__ import annotations

import collections
import fcntl
import os
import threading
import weakref

FLUSH_INTERVAL = 0.2  # seconds; the format promises lines are on disk within one second
FLUSH_LINES = 128  # orjson leaves each line 4 KiB of memory: few queued lines keep it in cache


class EventWriter:
    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()  # one drain at a time
        self.pending: collections.deque[bytes] = collections.deque()
        self.error: OSError | None = None  # met by the background flush, for the next call to raise
        self._unwritten = b""  # what a failed write left over, written first next time
        self._resuming_partial = False  # that leftover starts mid-line: no fresh line before it
        self._checked_tail = False  # whether a torn line left by a crash was looked for
        _flusher.add(self)

    def write(self, data: bytes) -> None:
        """Queue whole lines; the caller's hot loops do the same inline (see Run.log_metric)."""
        self.pending.append(data)
        if len(self.pending) >= FLUSH_LINES or self.error is not None:
            self.flush()

    def flush(self) -> None:
        # A kept background error is retried here, so it is raised again unless the disk recovered.
        with self._lock:
            self.error = None
            self._drain()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            _flusher.discard(self)
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def flush_in_background(self) -> None:
        """Called by the flusher thread: an error is handed to the logging thread, not raised here."""
        if not self.pending or self.error is not None:
            return
        with self._lock:
            try:
                self._drain()
            except OSError as error:
                self.error = error

    def _drain(self) -> None:
        pending = self.pending
        chunks = [pending.popleft() for _ in range(len(pending))]
        if (not chunks and not self._unwritten) or self._fd < 0:
            return
        data = self._unwritten + b"".join(chunks)
        self._unwritten = b""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            if not self._checked_tail and not self._resuming_partial and not _ends_with_newline(self._fd):
                # A crashed writer left a torn line: start on a fresh line so nothing more is lost.
                # (Whole-line writes under the lock cannot tear later, so once per open is enough.)
                data = b"\n" + data
            self._checked_tail = True
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self._fd, view):]
            except OSError as error:
                raise OSError(error.errno, f"flowsheet could not write to {self.path}: {error.strerror}") from error
            finally:
                self._unwritten = bytes(view)  # kept for the next try: nothing is dropped
                self._resuming_partial = 0 < len(view) < len(data)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def _ends_with_newline(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size == 0 or os.pread(fd, 1, size - 1) == b"\n"


class _Flusher:
    """One daemon thread per process that drains every open writer a few times a second."""

    def __init__(self):
        self._writers: weakref.WeakSet[EventWriter] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, writer: EventWriter) -> None:
        with self._lock:
            self._writers.add(writer)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="flowsheet-flusher", daemon=True)
                self._thread.start()

    def discard(self, writer: EventWriter) -> None:
        with self._lock:
            self._writers.discard(writer)

    def writers(self) -> list[EventWriter]:
        with self._lock:
            return list(self._writers)

    def _loop(self) -> None:
        stop = threading.Event()
        while not stop.wait(FLUSH_INTERVAL):
            for writer in self.writers():
                writer.flush_in_background()

    def after_fork_in_child(self) -> None:
        # The parent writes what it had queued; the child must not write it a second time.
        for writer in list(self._writers):
            writer._lock = threading.Lock()
            writer.pending.clear()
            writer._unwritten = b""
        self._lock = threading.Lock()
        self._thread = None


_flusher = _Flusher()
os.register_at_fork(after_in_child=_flusher.after_fork_in_child)


def flush_all() -> None:
    """Flush every writer of this process; raises the first error met after trying them all."""
    first_error = None
    for writer in _flusher.writers():
        try:
            writer.flush()
        except OSError as error:
            first_error = first_error or error
    if first_error is not None:
        raise first_error
