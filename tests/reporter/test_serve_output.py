"""What `reporter serve` prints while runs log: a few summary lines, no watchdog noise, nothing with --quiet.

The CLI tests drive a real server process (tests/serving.py) through a bounded number of rebuilds, each
one waited for on the server's event stream, and count the lines it printed. The summary interval is
the only clock they depend on: a bound on how many lines may appear, never on how fast anything is.
"""

from __future__ import annotations

import re
import time
import urllib.error
import warnings
from types import SimpleNamespace

import pytest

from tests.helpers import run_python
from tests.logwriting import append, metric, write_experiment, write_run
from tests.serving import EventStream, Server, wait_for

from reporter.live.rebuild import FULL, Scope
from reporter.live.report import REPORT_INTERVAL, RebuildReport
from reporter.live.watch import REWATCH_WARNING, ignore_rewatch_warning

EXP = "live-00000009"
RUN = "c" * 32
APPENDS = 8
RUN_PAGE = f"runs/{RUN}/index.html"


def one_run(tmp_path):
    logs = tmp_path / "runs"
    write_run(write_experiment(logs, "live", experiment_id=EXP), RUN, [metric("loss", 1.0, 0), metric("loss", 0.9, 1)])
    return logs, logs / EXP / RUN / "run.jsonl"


def append_and_wait(stream: EventStream, run_file, count: int) -> None:
    """`count` appends, each one rebuilt (its run page changed) before the next."""
    for step in range(count):
        append(run_file, metric("loss", 0.5 - step / 100, 10 + step))
        stream.wait_for("reload", lambda data: RUN_PAGE in data["paths"])


def new_runs_with_artifacts_folders(logs, count: int) -> None:
    """Runs started by the real logger in another process: each makes its folder and artifacts/ in one go."""
    run_python(f"""
        import logger
        logger.set_log_dir({str(logs)!r})
        for i in range({count}):
            with logger.start_run(run_name=f"quick-{{i}}"):
                logger.log_metric("loss", 1.0 / (i + 1))
    """, cwd=logs.parent)


def rebuilt_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("rebuilt ", "rewrote "))]


def test_a_logging_run_gives_a_few_summary_lines_not_one_per_rebuild(tmp_path):
    logs, run_file = one_run(tmp_path)
    server = Server(tmp_path, logs)
    server.wait_ready()
    stream = EventStream(server.url)
    try:
        began = time.monotonic()
        append_and_wait(stream, run_file, APPENDS)
        elapsed = time.monotonic() - began
    finally:
        stream.close()
        assert server.stop() == 0, server.text()
    lines = rebuilt_lines(server.text())
    # At most one line per interval, plus the first one (told at once) and the last (told on stopping).
    assert 1 <= len(lines) <= 2 + int(elapsed / REPORT_INTERVAL), server.text()
    assert len(lines) < APPENDS, server.text()
    # Every rebuild is counted in some line, and each line says what changed.
    assert sum(int(re.search(r"\((\d+) rebuilds?,", line).group(1)) for line in lines) >= APPENDS
    assert all(re.match(r"rebuilt \d+ page\(s\) for \d+ run\(s\) \(", line) for line in lines), lines


def test_runs_made_with_their_artifacts_folder_print_no_watchdog_warning(tmp_path):
    logs, run_file = one_run(tmp_path)
    server = Server(tmp_path, logs)
    server.wait_ready()
    try:
        new_runs_with_artifacts_folders(logs, 30)
        wait_for(lambda: "quick-29" in server.get("runs-data.js"), "the last new run to be built")
    finally:
        assert server.stop() == 0, server.text()
    text = server.text()
    assert "Warning" not in text and "watchdog" not in text, text[:2000]
    assert max(len(line) for line in text.splitlines()) < 300


def test_quiet_prints_nothing_while_all_goes_well(tmp_path):
    logs, run_file = one_run(tmp_path)
    server = Server(tmp_path, logs, "--quiet")

    def answers() -> bool:
        try:
            return bool(server.get(RUN_PAGE))
        except (urllib.error.URLError, ConnectionError):
            return server.proc.poll() is not None
    wait_for(answers, "the quiet server to answer", deadline=60)
    assert server.proc.poll() is None, server.text()
    stream = EventStream(server.url)
    try:
        append_and_wait(stream, run_file, 3)
        new_runs_with_artifacts_folders(logs, 5)
        wait_for(lambda: "quick-4" in server.get("runs-data.js"), "the new runs to be built")
    finally:
        stream.close()
        assert server.stop() == 0, server.text()
    assert server.text() == ""


# ------------------------------------------------------------------------------ the pure parts


class FakeTimers:
    def __init__(self):
        self.started: list[tuple[float, object]] = []
        self.cancelled = 0

    def __call__(self, delay, action):
        self.started.append((delay, action))
        return self.cancel

    def cancel(self):
        self.cancelled += 1


ONE_RUN = Scope(runs=frozenset({"r"}))


def outcome(*changed: str, error: str | None = None, scope: Scope = ONE_RUN, seconds=0.01):
    return SimpleNamespace(changed=list(changed), error=error, scope=scope, seconds=seconds, pages=len(changed))


def make_report(quiet=False):
    lines: list[str] = []
    now = [100.0]
    timers = FakeTimers()
    report = RebuildReport(quiet=quiet, interval=5.0, echo=lambda text, err=False: lines.append(text),
                           clock=lambda: now[0], start_timer=timers)
    return report, lines, now, timers


def test_report_tells_the_first_change_at_once_then_one_summary_per_interval():
    report, lines, now, timers = make_report()
    report.add(outcome("runs/a/index.html", "runs-data.js", seconds=0.02))
    assert lines == ["rebuilt 1 page(s) for 1 run(s) (1 rebuild, 20 ms)"]
    for i in range(5):
        now[0] += 0.4
        report.add(outcome("runs/a/index.html", f"runs/b/metrics-{i}.csv", "index.html", seconds=0.3))
    assert len(lines) == 1 and len(timers.started) == 1  # one timer for the pending summary
    assert timers.started[0][0] == pytest.approx(5.0 - 0.4)
    now[0] += 3.0
    timers.started[0][1]()  # the timer fires
    assert lines[1] == "rebuilt 2 page(s) for 2 run(s) (5 rebuilds, 1.5 s)"
    report.add(outcome())  # nothing written: nothing to tell
    report.add(outcome("runs-data.js"))
    report.close()
    assert lines[2:] == ["rewrote 1 file(s) (1 rebuild, 10 ms)"] and timers.cancelled == 1


def test_report_tells_a_failure_once_and_when_it_is_over_even_when_quiet():
    report, lines, now, timers = make_report(quiet=True)
    report.first_build(outcome("index.html", scope=FULL))
    for _ in range(3):
        report.add(outcome(error="template error (run.html:3): unexpected end"))
    report.add(outcome(error="template error (run.html:4): other"))
    report.add(outcome("runs/a/index.html", scope=FULL))
    report.add(outcome("runs/a/index.html"))
    report.close()
    assert lines == [
        "reporter serve: rebuild failed: template error (run.html:3): unexpected end (still serving the last good site)",
        "reporter serve: rebuild failed: template error (run.html:4): other (still serving the last good site)",
        "rebuild succeeded again",
    ]


def test_only_watchdogs_rewatch_warning_is_left_out():
    message = "Callback with id '140261722198096' already exists for watch <bound method Watch.short_str of ...>."
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        ignore_rewatch_warning()
        warnings.warn_explicit(message, RuntimeWarning, "inotify.py", 365, module="watchdog.observers.inotify")
        warnings.warn_explicit(message, RuntimeWarning, "other.py", 1, module="watchdog.observers.inotify_c")
        warnings.warn_explicit(message, UserWarning, "inotify.py", 365, module="watchdog.observers.inotify")
        warnings.warn_explicit("Inotify something else", RuntimeWarning, "inotify.py", 9,
                               module="watchdog.observers.inotify")
    assert [(w.category, w.filename) for w in shown] == [
        (RuntimeWarning, "other.py"), (UserWarning, "inotify.py"), (RuntimeWarning, "inotify.py")]
    assert REWATCH_WARNING["category"] is RuntimeWarning
