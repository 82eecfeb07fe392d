"""Appending lines to a run file: buffered, flushed within a second, safe across threads and processes.

Each flush is one locked `write` of whole lines to a file opened with O_APPEND, so lines from
several threads or processes never interleave. Errors from a background flush are kept and
raised by the next call of the process that logged, never dropped.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref

FLUSH_INTERVAL = 0.2  # seconds; the format promises lines are on disk within one second
FLUSH_BYTES = 1 << 16


class EventWriter:
    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()
        self._buffer: list[bytes] = []
        self._size = 0
        self._error: OSError | None = None
        self._resuming_partial = False  # our previous flush stopped mid-line; finish it first
        _flusher.add(self)

    def write(self, line: bytes) -> None:
        with self._lock:
            if self._error is not None:
                self._raise_kept_error()
            self._buffer.append(line)
            self._size += len(line)
            if self._size >= FLUSH_BYTES:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            if self._error is not None:
                self._raise_kept_error()
            self._flush_locked()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            _flusher.discard(self)
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def flush_in_background(self) -> None:
        """Called by the flusher thread: keep the error for the logging thread instead of raising it here."""
        with self._lock:
            if self._buffer and self._error is None:
                try:
                    self._flush_locked()
                except OSError as error:
                    self._error = error

    def _raise_kept_error(self) -> None:
        error, self._error = self._error, None
        raise error

    def _flush_locked(self) -> None:
        if not self._buffer or self._fd < 0:
            return
        data = b"".join(self._buffer)
        self._buffer.clear()
        self._size = 0
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            if not self._resuming_partial and not _ends_with_newline(self._fd):
                # A crashed writer left a torn line: start on a fresh line so nothing more is lost.
                data = b"\n" + data
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self._fd, view):]
            except OSError as error:
                raise OSError(error.errno, f"flowsheet could not write to {self.path}: {error.strerror}") from error
            finally:
                if view:  # keep what did not reach the disk for the next try
                    self._buffer.append(bytes(view))
                    self._size = len(view)
                    self._resuming_partial = len(view) < len(data)
                else:
                    self._resuming_partial = False
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def _ends_with_newline(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size == 0 or os.pread(fd, 1, size - 1) == b"\n"


class _Flusher:
    """One daemon thread per process that flushes every open writer a few times a second."""

    def __init__(self):
        self._writers: weakref.WeakSet[EventWriter] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

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
        while not self._wake.wait(FLUSH_INTERVAL):
            for writer in self.writers():
                writer.flush_in_background()

    def after_fork_in_child(self) -> None:
        # The parent flushes what it buffered; the child must not write it a second time.
        for writer in list(self._writers):
            writer._lock = threading.Lock()
            writer._buffer.clear()
            writer._size = 0
        self._lock = threading.Lock()
        self._thread = None
        self._wake = threading.Event()


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
