"""Watching LOG_DIR and the templates for `reporter serve`: file events -> coalesced batches -> one worker.

    watcher = Watcher(roots={"logs": log_dir, "templates": templates}, ignore=[out_dir], on_batch=handle)
    watcher.start()     # an observer thread (watchdog) and a worker thread that calls on_batch({"logs", ...})
    watcher.stop()      # joins both; a batch being handled is finished first

Events are filtered (`classify`): watchdog 7 on inotify also reports files being opened and closed
without writing, which our own reads cause, and would otherwise make every rebuild trigger the next.
Bursts are coalesced (`Debouncer`): a batch fires once events have been quiet for `quiet` seconds, and
never later than `max_delay` after its first event, so a loop appending 1,000 lines a second gives
a few rebuilds a second. With nothing happening the worker sleeps on a condition: no polling.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver

QUIET_SECONDS = 0.1
MAX_DELAY_SECONDS = 0.3
IGNORED_EVENT_TYPES = frozenset({"opened", "closed_no_write"})
FLUSH = "flush"  # the item of a batch that `on_batch` asked for, rather than a file event

# watchdog's inotify observer watches a new folder's subfolders as it walks it, then again on each
# subfolder's own creation event when that comes after the walk (a run folder made with its artifacts/
# by one mkdir -p): the second time it warns "Callback with id ... already exists for watch <bound method
# ...>. It will be Overwritten.", a RuntimeWarning whose message holds the repr of every watched path
# (thousands of characters). Registering the same callback again is harmless: that warning, from that
# module, is left out; any other warning still shows.
REWATCH_WARNING = {"category": RuntimeWarning, "module": r"watchdog\.observers\.inotify\Z",
                   "message": r"Callback with id '[^']*' already exists for watch "}


def ignore_rewatch_warning() -> None:
    warnings.filterwarnings("ignore", **REWATCH_WARNING)  # type: ignore[arg-type]


def classify(event_type: str, is_directory: bool, paths: Iterable[str | bytes | None],
             roots: dict[str, Path], ignore: Iterable[Path] = (), files: dict[str, Path] | None = None) -> str | None:
    """The root name ("logs", "templates", ...) an event concerns, or None when it does not matter.

    Ignored: opened / closed-without-writing events, a folder's own "modified" (its files report
    themselves), paths under an ignored folder (the site being written), and hidden or backup files
    (the logger's `.x.tmp`, editors' `.swp` and `x~`), which the reader skips too. A move counts when
    either end counts. When roots nest, the longest matching root wins. `files` names single files
    (such as the hidden .flowsheetignore) that count under their own name before any root.
    """
    if event_type in IGNORED_EVENT_TYPES or (is_directory and event_type == "modified"):
        return None
    ignore = [Path(p) for p in ignore]
    ordered = sorted(roots.items(), key=lambda item: len(str(item[1])), reverse=True)
    for raw in paths:
        if not raw:
            continue
        path = Path(os.fsdecode(raw))
        if any(_is_within(path, folder) for folder in ignore):
            continue
        for name, file in (files or {}).items():
            if path == Path(file):
                return name
        for name, root in ordered:
            root = Path(root)
            if not _is_within(path, root):
                continue
            rel = path.relative_to(root).parts
            if any(part.startswith(".") or part.endswith("~") for part in rel):
                break
            return name
    return None


class Debouncer:
    """Collects items from any thread; `wait()` returns them as one batch once the burst has settled.

    A batch is due `quiet` seconds after the last item, or `max_delay` seconds after the first one,
    whichever comes first. `clock` is injectable so the timing rules can be tested without sleeping.
    """

    def __init__(self, quiet: float = QUIET_SECONDS, max_delay: float = MAX_DELAY_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.quiet = quiet
        self.max_delay = max(max_delay, quiet)
        self.clock = clock
        self._items: set = set()
        self._first: float | None = None
        self._last: float | None = None
        self._at: float | None = None  # a batch asked for at a set time (`schedule`)
        self._closed = False
        self._cond = threading.Condition()

    def add(self, item) -> None:
        with self._cond:
            now = self.clock()
            if self._first is None:
                self._first = now
            self._last = now
            self._items.add(item)
            self._cond.notify()

    def schedule(self, item, delay: float) -> None:
        """Add `item` to a batch due `delay` seconds from now at the latest (a rebuild of what was put off)."""
        with self._cond:
            at = self.clock() + delay
            self._at = at if self._at is None else min(self._at, at)
            self._items.add(item)
            self._cond.notify()

    def due_in(self, now: float | None = None) -> float | None:
        """Seconds until the pending batch is due (0 when due), None when nothing is pending."""
        with self._cond:
            if self._first is None and self._at is None:
                return None
            now = self.clock() if now is None else now
            if self._first is not None and self._last is not None:
                due = min(self._last + self.quiet, self._first + self.max_delay)
            else:
                due = self._at if self._at is not None else now
            if self._at is not None:
                due = min(due, self._at)
            return max(0.0, due - now)

    def take(self) -> set:
        """The pending items, now; the next batch starts empty."""
        with self._cond:
            items, self._items = self._items, set()
            self._first = self._last = self._at = None
            return items

    def wait(self) -> set | None:
        """Block until a batch is due and return it; None once closed. Sleeps while nothing is pending."""
        with self._cond:
            while not self._closed:
                delay = self.due_in()
                if delay is None:
                    self._cond.wait()
                elif delay > 0:
                    self._cond.wait(delay)
                else:
                    return self.take()
            return None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class Watcher:
    """A watchdog observer on each root plus one worker thread handing settled batches to `on_batch`.

    `on_batch` receives the set of root names that changed and runs on the worker thread, one batch at
    a time; events that arrive meanwhile form the next batch. When it returns a number, a batch holding
    FLUSH follows after that many seconds even if nothing changes. An exception goes to `on_error`.
    """

    def __init__(self, roots: dict[str, Path], on_batch: Callable[[set[str]], float | None], *,
                 ignore: Iterable[Path] = (), files: dict[str, Path] | None = None, poll: bool = False,
                 quiet: float = QUIET_SECONDS, max_delay: float = MAX_DELAY_SECONDS,
                 on_error: Callable[[BaseException], None] | None = None):
        self.roots = {name: Path(root) for name, root in roots.items()}
        self.ignore = [Path(p) for p in ignore]
        self.files = {name: Path(file) for name, file in (files or {}).items()}  # inside a root
        self.on_batch = on_batch
        self.on_error = on_error
        self.poll = poll
        self.debouncer = Debouncer(quiet, max_delay)
        self._observer: BaseObserver | None = None
        self._worker: threading.Thread | None = None

    def start(self) -> None:
        from watchdog import events as E
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                paths = (event.src_path, getattr(event, "dest_path", None))
                name = classify(event.event_type, event.is_directory, paths, watcher.roots, watcher.ignore,
                                watcher.files)
                if name is not None:
                    watcher.debouncer.add(name)

        # Asking inotify only for these also keeps our own reads (open/close) from waking the observer.
        wanted = [E.FileCreatedEvent, E.FileModifiedEvent, E.FileDeletedEvent, E.FileMovedEvent,
                  E.FileClosedEvent, E.DirCreatedEvent, E.DirDeletedEvent, E.DirMovedEvent]
        ignore_rewatch_warning()
        observer: BaseObserver = PollingObserver() if self.poll else Observer()
        handler = Handler()
        for root in _outermost(self.roots.values()):
            observer.schedule(handler, str(root), recursive=True, event_filter=wanted)
        observer.daemon = True
        observer.start()
        self._observer = observer
        self._worker = threading.Thread(target=self._work, name="flowsheet-rebuild", daemon=False)
        self._worker.start()

    def _work(self) -> None:
        while (batch := self.debouncer.wait()) is not None:
            try:
                retry_in = self.on_batch(batch)
                if retry_in is not None:
                    self.debouncer.schedule(FLUSH, retry_in)
            except Exception as exc:  # noqa: BLE001 - the worker must survive to handle the next change
                if self.on_error:
                    self.on_error(exc)

    def stop(self) -> None:
        """Stop the observer and the worker (which finishes the batch it is on); idempotent."""
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
        self.debouncer.close()
        if self._worker is not None:
            self._worker.join()
            self._worker = None


def _outermost(roots: Iterable[Path]) -> list[Path]:
    """The roots that are not inside another root (one recursive watch covers the nested ones)."""
    unique = sorted({Path(r) for r in roots}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for root in unique:
        if not any(_is_within(root, k) for k in kept):
            kept.append(root)
    return kept


def _is_within(path: PurePath, folder: PurePath) -> bool:
    return path == folder or folder in path.parents
