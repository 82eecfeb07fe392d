"""The refresh walk's shortcuts see every change: a run's artifacts/ that comes, grows deep down, goes or
turns into a link out; folders of numbered runs that are not an MLflow store; listings of the last walk
reused only for folders that have not changed."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from logger import logtree
from logger.logtree import Listings, list_folder
from logger.model import Artifact
from logger.reader import LogReader
from logger.sources.mlruns import MlflowStoreSource
from tests.logwriting import metric, write_artifact, write_experiment, write_run

A, B = "a" * 32, "b" * 32


def test_artifacts_are_followed_as_they_come_grow_and_go(tmp_path):
    logs = tmp_path / "logs"
    experiment = write_experiment(logs, "e")
    run = write_run(experiment, A, [metric("loss", 1.0)])
    write_run(experiment, B, [metric("loss", 2.0)])
    reader = LogReader(logs)
    reader.refresh()
    assert reader.data.runs[A].artifacts == []

    write_artifact(run, "deep/er/model.bin", b"12345")  # the run had no artifacts/ at the last walk
    assert reader.refresh().runs == {A}
    assert reader.data.runs[A].artifacts == [Artifact("deep/er/model.bin", 5)]

    top = os.stat(run / "artifacts").st_mtime_ns
    write_artifact(run, "deep/er/more.txt", b"12")  # artifacts/ itself is not touched
    assert os.stat(run / "artifacts").st_mtime_ns == top
    assert reader.refresh().runs == {A}
    assert reader.data.runs[A].artifacts == [Artifact("deep/er/model.bin", 5), Artifact("deep/er/more.txt", 2)]

    (run / "artifacts" / "deep" / "er" / "more.txt").write_bytes(b"1234567")  # rewritten in place: a new size
    assert reader.refresh().runs == {A}
    assert reader.data.runs[A].artifacts[1] == Artifact("deep/er/more.txt", 7)

    shutil.rmtree(run / "artifacts")
    assert reader.refresh().runs == {A}
    assert reader.data.runs[A].artifacts == []
    assert not reader.refresh()


def test_an_artifacts_link_made_after_the_first_walk_is_refused(tmp_path):
    outside = tmp_path / "outside"
    (outside / "secret.txt").parent.mkdir()
    (outside / "secret.txt").write_text("secret")
    logs = tmp_path / "logs"
    experiment = write_experiment(logs, "e")
    run = write_run(experiment, A, [metric("loss", 1.0)])
    reader = LogReader(logs)
    reader.refresh()
    (run / "artifacts").symlink_to(outside)  # a link is no folder of the walk, yet it is the run's artifacts/
    changes = reader.refresh()
    assert reader.data.runs[A].artifacts == []
    assert [problem.file for problem in changes.problems] == [f"{experiment.name}/{A}/artifacts"]
    assert "out of the log directory" in changes.problems[0].reason


def test_a_folder_of_numbered_runs_is_not_taken_for_an_mlflow_store(tmp_path):
    experiment = write_experiment(tmp_path / "logs", "e")
    for number in range(3):
        write_run(experiment, f"{number:032d}", [metric("loss", float(number))])
    listing = list_folder(experiment)
    assert listing is not None and listing.path == Path(experiment) and listing.where == str(experiment)
    assert MlflowStoreSource.claim(listing) is None
    reader = LogReader(tmp_path / "logs")
    reader.refresh()
    assert sorted(reader.data.runs) == [f"{number:032d}" for number in range(3)]


def test_a_folder_changed_just_now_is_listed_again_and_a_settled_one_is_reused(tmp_path, monkeypatch):
    folder = tmp_path / "logs"
    folder.mkdir()
    listings = Listings()
    first = listings.list(str(folder))
    listings.walked()
    assert listings.list(str(folder)) is not first  # its mtime is recent: the same tick may hide a change
    listings.walked()
    later = time.time_ns() + 10 * Listings.SETTLED_NS
    monkeypatch.setattr(logtree.time, "time_ns", lambda: later)
    settled = listings.list(str(folder))
    listings.walked()
    assert listings.list(str(folder)) is settled
    listings.walked()
    time.sleep(0.05)  # past the file system's clock tick
    (folder / "new.jsonl").write_text("{}\n")
    assert listings.list(str(folder)).regular == {"new.jsonl"}


def test_reused_listings_still_see_runs_and_links_come_and_go(tmp_path, monkeypatch):
    # Every folder looks settled: only the folders' own stamps tell the reader to list them again.
    later = time.time_ns() + 10 * Listings.SETTLED_NS
    monkeypatch.setattr(logtree.time, "time_ns", lambda: later)
    logs = tmp_path / "logs"
    experiment = write_experiment(logs, "e")
    run = write_run(experiment, A, [metric("loss", 1.0)])
    reader = LogReader(logs)
    reader.refresh()
    time.sleep(0.05)
    write_run(experiment, B, [metric("loss", 2.0)])
    assert reader.refresh().runs == {B}
    time.sleep(0.05)
    write_artifact(run, "model.bin", b"123")
    assert reader.refresh().runs == {A}
    assert reader.data.runs[A].artifacts == [Artifact("model.bin", 3)]
    time.sleep(0.05)
    shutil.rmtree(experiment / B)
    assert reader.refresh().removed_runs == {B}
    assert not reader.refresh()
