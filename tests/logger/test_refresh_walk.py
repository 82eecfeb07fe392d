"""The refresh walk's shortcuts see every change: a run's artifacts/ that comes, grows deep down, goes or
turns into a link out, and folders of numbered runs that are not an MLflow store."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from logger.logtree import list_folder
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
