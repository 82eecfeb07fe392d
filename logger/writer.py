"""Appending lines to a run file: buffered, flushed within a second, safe across threads and processes.

Logging calls append their finished lines to a buffer (`pending += line`: one C call that holds the
GIL throughout, so a line goes in whole and the hot path holds no lock) and drain it themselves once
it holds FLUSH_BYTES, which keeps the memory small and warm. A per-process flusher thread drains
the rest a few times a second; `flush()` drains at once. Each drain is one flock-guarded write of
whole lines to a file opened with O_APPEND, so lines from several threads or processes never interleave.

A write that fails part way (a full disk) is cut back to its last whole line while the lock is still
held, so the file never ends in a torn line of ours for another writer to append to. What was not
written is then either written exactly once or reported as not written, never both: the lines of the
logging call that raises are dropped (the caller sees the error and may log again: writing them later
would duplicate the event), while the lines of earlier calls, which returned normally, are kept and
written by the next drain once there is room. The background flush raises nothing: it keeps its
error for the next logging call, which tries again and raises if the disk is still full.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref

FLUSH_INTERVAL = 0.2  # seconds; the format promises lines are on disk within one second
# A drain per 16 KiB of lines: few system calls, and a buffer that stays in the cache. (Queueing orjson's
# own bytes cost more than their writing: each holds 4 KiB, so 128 queued lines were 512 KiB of fresh
# memory, page faults and all, per drain.)
FLUSH_BYTES = 1 << 14


class EventWriter:
    def __init__(self, path: str | os.PathLike, shared: bool = True):
        self.path = os.fspath(path)
        self.shared = shared  # other processes append to the file too: each write takes the file lock
        self._fd = _open_for_append(self.path)
        self._lock = threading.Lock()  # one drain at a time
        # Whole lines not written yet: appended at the end by logging calls, taken from the front by a drain.
        self.pending = bytearray()
        self.error: OSError | None = None  # met by the background flush, for the next call to raise
        self._unwritten = b""  # whole lines of calls that returned normally, not written yet (a full disk)
        self._reopen = False  # set in a forked child: its own open file, so its own lock
        _flusher.add(self)

    def write(self, data: bytes) -> None:
        """Queue the whole lines of one call; the caller's hot loops do the same inline (see Run.log_metric)."""
        pending = self.pending
        pending += data
        if len(pending) >= FLUSH_BYTES or self.error is not None:
            self.flush(own=data)

    def flush(self, own: bytes = b"", final: bool = False) -> None:
        """Drain now. `own`: the lines of the logging call that asks, if any; they are dropped when the
        drain fails (the call raises), while the lines of earlier calls are kept for the next drain,
        unless this is the `final` drain (closing), after which none comes."""
        with self._lock:
            self.error = None
            try:
                self._drain()
            except _NotWritten as failed:
                kept, dropped = _without(failed.lines, own)
                if final:
                    kept, dropped = b"", dropped + kept.count(b"\n")
                self._unwritten = kept
                raise failed.report(self.path, dropped, kept.count(b"\n")) from failed.error

    def close(self) -> None:
        try:
            self.flush(final=True)
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
            except _NotWritten as failed:
                self._unwritten = failed.lines  # every line here is of a call that returned normally
                self.error = failed.error

    def _drain(self) -> None:
        if self._fd < 0 or not (self.pending or self._unwritten):
            return
        if self._reopen:  # before taking anything off the queue: a failure here loses nothing
            fd = _open_for_append(self.path)
            os.close(self._fd)
            self._fd, self._reopen = fd, False
        pending = self.pending
        taken = bytes(pending)  # one C call: lines appended from here on stay for the next drain
        del pending[:len(taken)]
        data = self._unwritten + taken
        self._unwritten = b""
        _append_lines(self._fd, data, self.shared)


def _without(lines: bytes, own: bytes) -> tuple[bytes, int]:
    """`lines` less the call's own (the last copy: other threads may have queued after it), and how
    many events that took out; none when its lines were written before the failure."""
    at = lines.rfind(own) if own else -1
    if at < 0 or (at > 0 and lines[at - 1:at] != b"\n"):
        return lines, 0
    return lines[:at] + lines[at + len(own):], own.count(b"\n")


class _NotWritten(Exception):
    def __init__(self, error: OSError, lines: bytes):
        self.error, self.lines = error, lines

    def report(self, path: str, dropped: int, kept: int) -> OSError:
        """The error a logging call raises: what was lost (its own events) and what waits for room."""
        said = f"flowsheet could not write to {path}: {self.error.strerror}"
        if dropped:
            said += f"; {_events(dropped)} logged {'was' if dropped == 1 else 'were'} not written (this call's)"
        if kept:
            said += f"; {_events(kept)} logged before are kept and written once there is room (flush() to retry)"
        return OSError(self.error.errno, said)


def _events(count: int) -> str:
    return f"{count} event" if count == 1 else f"{count} events"


def _open_for_append(path: str) -> int:
    return os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)


def _append_lines(fd: int, lines: bytes, shared: bool = True) -> None:
    """Append whole lines under the file lock (`shared`: a file of one writer, a segment, takes none, so
    it works where flock does not, such as some NFS mounts). If the write fails part way, the file is cut
    back to the last whole line before the lock is let go, and _NotWritten carries the lines not in it."""
    if shared:
        fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        size = os.fstat(fd).st_size
        # A writer killed mid-line (or a cut that failed) left a torn line: close it, so that ours
        # stay whole; the reader skips the torn one and reports it.
        opening = b"" if size == 0 or os.pread(fd, 1, size - 1) == b"\n" else b"\n"
        data = opening + lines
        view, written = memoryview(data), 0
        try:
            while written < len(data):
                written += os.write(fd, view[written:])
        except OSError as error:
            whole = data.rfind(b"\n", 0, written) + 1
            try:
                os.ftruncate(fd, size + whole)
            except OSError:
                pass  # the torn piece stays; the next append closes it as above
            raise _NotWritten(error, lines[max(0, whole - len(opening)):]) from error
    finally:
        if shared:
            fcntl.flock(fd, fcntl.LOCK_UN)


class _Flusher:
    """One daemon thread per process that drains every open writer a few times a second."""

    def __init__(self) -> None:
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
            del writer.pending[:]
            writer._unwritten = b""
            writer._reopen = True
            writer.shared = True  # the parent may go on appending to the same file (a segment too): lock it
        self._lock = threading.Lock()
        self._thread = None

    def after_fork_in_parent(self) -> None:
        # The child may append to the parent's open files, segments too: from now on both lock them.
        for writer in self.writers():
            writer.shared = True


_flusher = _Flusher()
os.register_at_fork(after_in_child=_flusher.after_fork_in_child, after_in_parent=_flusher.after_fork_in_parent)


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
