"""What `reporter serve` prints about its rebuilds: a short summary every few seconds, failures at once.

    report = RebuildReport(quiet=False)
    report.first_build(outcome)     # "Built 12 page(s) (40 file(s) written) in 1.3 s"
    report.add(outcome)             # each later rebuild, on the watcher's thread
    report.close()                  # prints what is still pending

A run that logs keeps the watcher rebuilding several times a second (its page, and every second the
summary pages): a line per rebuild would scroll everything else away. Successful rebuilds are summed
into at most one line per `interval` ("rebuilt 4 page(s) for 2 run(s) (6 rebuilds, 0.3 s)"): the first
change after a quiet spell is told at once, later ones when the interval is over. A failure is told at
once, but the same message only once in a row; "rebuild succeeded again" tells that it is over.
`quiet` keeps only those two (the errors, and the end of them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import click

REPORT_INTERVAL = 5.0  # seconds: at most one summary line this often


def _start_timer(delay: float, action: Callable[[], None]) -> Callable[[], None]:
    timer = threading.Timer(delay, action)
    timer.daemon = True
    timer.start()
    return timer.cancel


@dataclass
class Tally:
    """The successful rebuilds not told yet."""

    rebuilds: int = 0
    seconds: float = 0.0
    pages: set[str] = field(default_factory=set)
    files: set[str] = field(default_factory=set)

    def add(self, changed: list[str], seconds: float) -> None:
        self.rebuilds += 1
        self.seconds += seconds
        self.files.update(changed)
        self.pages.update(p for p in changed if p.endswith(".html"))

    def line(self) -> str:
        runs = {p.split("/")[1] for p in self.files if p.startswith("runs/") and p.count("/") >= 2}
        what = f"rebuilt {len(self.pages)} page(s)" if self.pages else f"rewrote {len(self.files)} file(s)"
        took = f"{self.seconds:.1f} s" if self.seconds >= 1 else f"{self.seconds * 1000:.0f} ms"
        count = f"{self.rebuilds} rebuild" + ("s" if self.rebuilds != 1 else "")
        return what + (f" for {len(runs)} run(s)" if runs else "") + f" ({count}, {took})"


class RebuildReport:
    """Thread-safe: `add` runs on the watcher's thread, the pending line may be printed by a timer."""

    def __init__(self, quiet: bool = False, interval: float = REPORT_INTERVAL, echo: Callable[..., None] = click.echo,
                 clock: Callable[[], float] = time.monotonic,
                 start_timer: Callable[[float, Callable[[], None]], Callable[[], None]] = _start_timer):
        self.quiet = quiet
        self.interval = interval
        self.echo = echo
        self.clock = clock
        self.start_timer = start_timer
        self._lock = threading.Lock()
        self._tally = Tally()
        self._last_line = float("-inf")
        self._cancel: Callable[[], None] | None = None  # the timer that will print the pending line
        self._error: str | None = None  # the failure told last, until a rebuild succeeds

    def first_build(self, outcome) -> None:
        if outcome.error:
            self.add(outcome)
        elif not self.quiet:
            self.echo(f"Built {outcome.pages} page(s) ({len(outcome.changed)} file(s) written) "
                      f"in {outcome.seconds:.1f} s")

    def add(self, outcome) -> None:
        with self._lock:
            if outcome.error:
                if outcome.error != self._error:
                    self._error = outcome.error
                    self.echo(f"reporter serve: rebuild failed: {outcome.error} (still serving the last good site)",
                              err=True)
                return
            if not outcome.scope:
                return
            if self._error is not None:
                self._error = None
                self.echo("rebuild succeeded again")
            if not outcome.changed or self.quiet:
                return
            self._tally.add(outcome.changed, outcome.seconds)
            wait = self._last_line + self.interval - self.clock()
            if wait <= 0:
                self._print_pending()
            elif self._cancel is None:
                self._cancel = self.start_timer(wait, self.flush)

    def flush(self) -> None:
        """Print the pending summary now (the timer, or the end of serving)."""
        with self._lock:
            self._cancel = None
            self._print_pending()

    def close(self) -> None:
        with self._lock:
            if self._cancel is not None:
                self._cancel()
                self._cancel = None
            self._print_pending()

    def _print_pending(self) -> None:
        if self._tally.rebuilds:
            self.echo(self._tally.line())
            self._last_line = self.clock()
        self._tally = Tally()
