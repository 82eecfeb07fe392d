"""The pure middle of `reporter serve --watch`: event filtering, debouncing, and changes -> pages to rebuild."""

from __future__ import annotations

import gzip
import threading
import time
from pathlib import Path

import pytest

from logger.reader import LogReader
from tests.logwriting import append, end, metric, tag, write_experiment, write_run

from reporter.config import BuildConfig
from reporter.live.rebuild import FULL, Rebuilder, Scope, link_facts, scope_of
from reporter.live.watch import Debouncer, Watcher, classify

ROOTS = {"logs": Path("/data/runs"), "templates": Path("/code/templates")}


# ------------------------------------------------------------------------------------------ classify


@pytest.mark.parametrize("event_type, path, expected", [
    ("modified", "/data/runs/exp/abc/run.jsonl", "logs"),
    ("closed", "/data/runs/exp/abc/run.jsonl", "logs"),
    ("created", "/data/runs/exp/new", "logs"),
    ("deleted", "/data/runs/exp/abc/artifacts/a.png", "logs"),
    ("modified", "/code/templates/run.html", "templates"),
    # our own reads of the logs, reported by watchdog 7 on inotify, must not trigger rebuilds
    ("opened", "/data/runs/exp/abc/run.jsonl", None),
    ("closed_no_write", "/data/runs/exp/abc/run.jsonl", None),
    # hidden and backup files: the logger's temporary artifacts, editors' swap files
    ("modified", "/data/runs/exp/abc/artifacts/.model.pkl.tmp", None),
    ("modified", "/code/templates/.run.html.swp", None),
    ("modified", "/code/templates/run.html~", None),
    ("modified", "/elsewhere/file.txt", None),
])
def test_classify_file_events(event_type, path, expected):
    assert classify(event_type, False, [path], ROOTS) == expected


def test_classify_ignores_a_folders_own_modified_event_and_the_output():
    assert classify("modified", True, ["/data/runs/exp"], ROOTS) is None
    roots = {"templates": Path("/code/templates")}
    out = Path("/code/templates/site")  # an odd but possible place for the output
    assert classify("modified", False, ["/code/templates/site/index.html"], roots, ignore=[out]) is None
    assert classify("modified", False, ["/code/templates/run.html"], roots, ignore=[out]) == "templates"


def test_classify_a_move_counts_when_either_end_counts_and_nested_roots_prefer_the_inner():
    # the logger writes artifacts to a hidden temporary name, then renames it into place
    assert classify("moved", False, ["/data/runs/e/r/artifacts/.x.tmp", "/data/runs/e/r/artifacts/x"], ROOTS) == "logs"
    nested = {"logs": Path("/w"), "templates": Path("/w/templates")}
    assert classify("modified", False, ["/w/templates/run.html"], nested) == "templates"
    assert classify("modified", False, [b"/w/e/r/run.jsonl"], nested) == "logs"


def test_classify_names_a_watched_hidden_file_on_its_own():
    files = {"publish-rules": Path("/data/runs/.flowsheetignore")}
    assert classify("modified", False, ["/data/runs/.flowsheetignore"], ROOTS, files=files) == "publish-rules"
    # an editor saves by renaming a temporary file over it
    assert classify("moved", False, ["/data/runs/.flowsheetignore.swp", "/data/runs/.flowsheetignore"], ROOTS,
                    files=files) == "publish-rules"
    assert classify("modified", False, ["/data/runs/exp/.flowsheetignore"], ROOTS, files=files) is None
    assert classify("modified", False, ["/data/runs/.flowsheetignore"], ROOTS) is None


# ------------------------------------------------------------------------------------------ debouncer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_debouncer_waits_for_quiet_then_fires_once_with_every_item():
    clock = FakeClock()
    d = Debouncer(quiet=0.1, max_delay=0.3, clock=clock)
    assert d.due_in() is None
    d.add("logs")
    assert d.due_in() == pytest.approx(0.1)
    clock.now += 0.05
    d.add("templates")
    d.add("logs")
    assert d.due_in() == pytest.approx(0.1)  # quiet counts from the last event
    clock.now += 0.1
    assert d.due_in() == 0
    assert d.take() == {"logs", "templates"}
    assert d.due_in() is None


def test_debouncer_caps_latency_under_a_steady_stream():
    clock = FakeClock()
    d = Debouncer(quiet=0.1, max_delay=0.3, clock=clock)
    fired_at = []
    start = clock.now
    # an event every millisecond for a second: the stream is never quiet for 100 ms
    for _ in range(1000):
        d.add("logs")
        clock.now += 0.001
        if d.due_in() == 0:
            fired_at.append(clock.now - start)
            d.take()
    assert 3 <= len(fired_at) <= 4  # a few batches a second, not 1,000
    assert all(b - a <= 0.3 + 1e-9 for a, b in zip([0.0] + fired_at, fired_at))


def test_debouncer_wait_blocks_until_due_and_close_releases_it():
    d = Debouncer(quiet=0.05, max_delay=0.2)
    got = []
    thread = threading.Thread(target=lambda: got.append(d.wait()))
    thread.start()
    time.sleep(0.05)
    assert got == []  # nothing pending: still waiting
    d.add("logs")
    thread.join(timeout=5)
    assert got == [{"logs"}]
    thread = threading.Thread(target=lambda: got.append(d.wait()))
    thread.start()
    d.close()
    thread.join(timeout=5)
    assert got[-1] is None and not thread.is_alive()


@pytest.mark.parametrize("poll", [False, True], ids=["inotify", "polling"])
def test_watcher_reports_a_real_append_once_settled_and_stops_cleanly(tmp_path, poll):
    logs = tmp_path / "runs"
    run = write_run(write_experiment(logs, "w"), "a" * 32, [metric("loss", 1.0, 0)])
    batches = []
    seen = threading.Event()

    def on_batch(kinds):
        batches.append(kinds)
        seen.set()

    watcher = Watcher({"logs": logs}, on_batch, quiet=0.02, max_delay=0.1, poll=poll)
    watcher.start()
    try:
        (run / "run.jsonl").read_bytes()  # a read must not count as a change
        append(run / "run.jsonl", metric("loss", 0.5, 1))
        assert seen.wait(10)
        assert batches[0] == {"logs"}
    finally:
        watcher.stop()
    assert not any(t.name == "flowsheet-rebuild" for t in threading.enumerate())


# ------------------------------------------------------------------------------------------ scope_of


@pytest.fixture
def logs(tmp_path):
    folder = tmp_path / "runs"
    houses = write_experiment(folder, "houses")
    write_run(houses, "a" * 32, [tag("sweep", "yes")], name="sweep")
    write_run(houses, "b" * 32, [metric("loss", 1.0, 0)], name="child-1", parent_run_id="a" * 32)
    write_run(houses, "c" * 32, [metric("loss", 1.0, 0)], name="child-2", parent_run_id="a" * 32)
    write_run(write_experiment(folder, "mnist"), "d" * 32, [metric("acc", 0.1, 0)], name="cnn")
    return folder


def _refresh(reader):
    before = link_facts(reader.data)
    return reader.refresh(), before


def test_first_read_and_template_changes_rebuild_everything(logs):
    reader = LogReader(logs)
    changes = reader.refresh()
    assert scope_of(changes, reader.data, {}) == FULL
    changes, before = _refresh(reader)
    assert not scope_of(changes, reader.data, before)  # nothing changed: nothing to render
    assert scope_of(changes, reader.data, before, templates_changed=True) == FULL


def test_an_appended_metric_renders_its_run_its_experiment_and_home_only(logs):
    reader = LogReader(logs)
    reader.refresh()
    append(logs / "houses-00000006" / ("b" * 32) / "run.jsonl", metric("loss", 0.5, 1))
    changes, before = _refresh(reader)
    scope = scope_of(changes, reader.data, before)
    assert scope == Scope(home=True, experiments=frozenset({"houses-00000006"}), runs=frozenset({"b" * 32}))


def test_a_status_change_also_renders_the_parent_which_lists_it(logs):
    reader = LogReader(logs)
    reader.refresh()
    append(logs / "houses-00000006" / ("b" * 32) / "run.jsonl", end("FAILED"))
    changes, before = _refresh(reader)
    scope = scope_of(changes, reader.data, before)
    assert scope.runs == {"b" * 32, "a" * 32}
    assert not scope.full


def test_a_renamed_parent_renders_its_children_which_name_it(logs):
    reader = LogReader(logs)
    reader.refresh()
    append(logs / "houses-00000006" / ("a" * 32) / "run.jsonl", tag("mlflow.runName", "sweep-2"))
    changes, before = _refresh(reader)
    assert scope_of(changes, reader.data, before).runs == {"a" * 32, "b" * 32, "c" * 32}


def test_a_new_run_renders_its_page_its_experiment_and_its_parent(logs):
    reader = LogReader(logs)
    reader.refresh()
    write_run(logs / "houses-00000006", "e" * 32, [metric("loss", 2.0, 0)], name="child-3", parent_run_id="a" * 32)
    changes, before = _refresh(reader)
    scope = scope_of(changes, reader.data, before)
    assert scope.runs == {"e" * 32, "a" * 32}
    assert scope.experiments == {"houses-00000006"} and scope.home


def test_a_new_experiment_is_in_scope_and_a_removed_run_rebuilds_everything(logs):
    import shutil

    reader = LogReader(logs)
    reader.refresh()
    write_run(write_experiment(logs, "fresh"), "f" * 32, [metric("x", 1.0, 0)])
    changes, before = _refresh(reader)
    scope = scope_of(changes, reader.data, before)
    assert "fresh-00000005" in scope.experiments and "f" * 32 in scope.runs
    shutil.rmtree(logs / "mnist-00000005" / ("d" * 32))
    changes, before = _refresh(reader)
    assert scope_of(changes, reader.data, before) == FULL


# ------------------------------------------------------------------------------------------ Rebuilder


def test_rebuilder_writes_only_the_affected_files_and_keeps_the_site_on_a_template_error(logs, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    config = BuildConfig.from_options(logs, tmp_path / "site", templates_dir=templates)
    rebuilder = Rebuilder(config)
    first = rebuilder.rebuild(full=True)
    assert first.error is None and first.scope.full and "index.html" in first.changed
    run_page = tmp_path / "site" / "runs" / ("b" * 32) / "index.html"
    good = run_page.read_text()

    append(logs / "houses-00000006" / ("b" * 32) / "run.jsonl", metric("loss", 0.123456, 1))
    outcome = rebuilder.rebuild()
    assert outcome.error is None
    assert f"runs/{'b' * 32}/index.html" in outcome.changed
    assert not any(("d" * 32) in path for path in outcome.changed)  # the other experiment's run is untouched
    assert "0.123456" in run_page.read_text()

    good = run_page.read_text()
    (templates / "run.html").write_text('{% extends "default:run.html" %}{% block content %}{{ broken(',
                                        encoding="utf-8")
    append(logs / "houses-00000006" / ("b" * 32) / "run.jsonl", metric("loss", 0.0625, 2))
    failed = rebuilder.rebuild(templates_changed=True)
    assert failed.error and "run.html" in failed.error
    assert run_page.read_text() == good  # the last good page stays
    assert not list((tmp_path / "site").rglob(".tmp-*"))

    (templates / "run.html").unlink()
    recovered = rebuilder.rebuild()  # after a failure the next rebuild renders everything
    assert recovered.error is None and recovered.scope.full
    assert "0.0625" in run_page.read_text()


def test_rebuilder_publishes_what_build_publishes_on_every_rebuild(logs, tmp_path):
    (logs / ".flowsheetignore").write_text("*.ckpt\n", encoding="utf-8")
    rebuilder = Rebuilder(BuildConfig.from_options(logs, tmp_path / "site"))
    first = rebuilder.rebuild(full=True)
    assert first.error is None
    run_file = logs / "houses-00000006" / ("b" * 32) / "run.jsonl"
    append(run_file, tag("db_password", "swordfish"), metric("loss", 0.375, 1))
    outcome = rebuilder.rebuild()
    assert outcome.error is None and not outcome.scope.full
    run_page = (tmp_path / "site" / "runs" / ("b" * 32) / "index.html").read_text()
    assert "0.375" in run_page and "swordfish" not in run_page and "[redacted]" in run_page
    assert "db_password" in outcome.redaction


def test_debouncer_schedule_fires_a_batch_later_without_any_event():
    clock = FakeClock()
    d = Debouncer(quiet=0.1, max_delay=0.3, clock=clock)
    d.schedule("flush", 0.8)
    assert d.due_in() == pytest.approx(0.8)
    d.add("logs")  # a real event comes first: the batch fires at its usual time and takes both
    assert d.due_in() == pytest.approx(0.1)
    clock.now += 0.1
    assert d.due_in() == 0 and d.take() == {"flush", "logs"}


def test_while_only_points_arrive_summary_pages_and_the_csv_wait_for_the_interval(logs, tmp_path):
    config = BuildConfig.from_options(logs, tmp_path / "site")
    rebuilder = Rebuilder(config, summary_interval=1.0, summary_cost_factor=0.0)
    assert rebuilder.rebuild(full=True, now=0.0).error is None
    run_file = logs / "houses-00000006" / ("b" * 32) / "run.jsonl"
    folder = f"runs/{'b' * 32}"

    append(run_file, metric("loss", 0.5, 1))
    first = rebuilder.rebuild(now=10.0)  # the first change renders everything it affects
    assert {f"{folder}/index.html", f"{folder}/metrics.csv.gz", "runs-data.js"} <= set(first.changed)
    assert first.retry_in is None

    append(run_file, metric("loss", 0.25, 2))
    quick = rebuilder.rebuild(now=10.3)  # 0.3 s later: only the run page itself (and its few compare points)
    assert sorted(quick.changed) == [f"{folder}/compare-data.js", f"{folder}/index.html"] and quick.scope.light
    assert quick.retry_in == pytest.approx(0.7)
    assert "0.25" in (tmp_path / "site" / folder / "index.html").read_text()

    flushed = rebuilder.rebuild(now=11.0)  # no new line, but what was put off is due now
    assert {f"{folder}/metrics.csv.gz", "runs-data.js"} <= set(flushed.changed)
    assert flushed.retry_in is None
    assert "0.25" in gzip.decompress((tmp_path / "site" / folder / "metrics.csv.gz").read_bytes()).decode()
    assert not rebuilder.rebuild(now=20.0).scope  # nothing left to do

    write_run(logs / "houses-00000006", "e" * 32, [metric("loss", 2.0, 0)], name="new-run")
    append(run_file, metric("loss", 0.125, 3))
    rebuilder.rebuild(now=20.1)
    append(run_file, metric("loss", 0.0625, 4))
    write_run(logs / "houses-00000006", "9" * 32, [metric("loss", 2.0, 0)], name="another-new-run")
    new_run = rebuilder.rebuild(now=20.2)  # a new run is news for the summary pages: never put off
    assert not new_run.scope.light and "experiments/houses-00000006/runs-data.js" in new_run.changed


def test_slow_summary_pages_are_put_off_for_longer(logs, tmp_path):
    rebuilder = Rebuilder(BuildConfig.from_options(logs, tmp_path / "site"), summary_interval=1.0,
                          summary_cost_factor=4.0)
    rebuilder.rebuild(full=True, now=0.0)
    run_file = logs / "houses-00000006" / ("b" * 32) / "run.jsonl"
    append(run_file, metric("loss", 0.5, 1))
    rebuilder.rebuild(now=10.0)
    rebuilder._summary_cost = 2.0  # as if the summary pages had taken 2 s to render
    append(run_file, metric("loss", 0.25, 2))
    assert rebuilder.rebuild(now=11.5).retry_in == pytest.approx(6.5)  # 8 s after the last summary
