"""One parser for a run file and an experiment file: resuming a run, finding an experiment and
reading the logs see the same run and the same experiment, however damaged the file."""

from __future__ import annotations

import orjson
import pytest

import logger as mlflow
from logger.experiments import find_by_name
from logger.format import EXPERIMENT_FILE, RUN_FILE
from logger.reader import read_logs
from logger.run import Run


def _lines(*records) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" if isinstance(r, dict) else r + b"\n" for r in records)


@pytest.fixture
def damaged_run(tmp_path):
    folder = tmp_path / "exp" / "run1"
    folder.mkdir(parents=True)
    (folder / RUN_FILE).write_bytes(_lines(
        {"v": 1, "kind": "start", "t": 1000, "run_id": "run1", "experiment_id": "exp", "name": "first"},
        {"v": 1, "kind": "param", "t": 1001, "key": "kept", "value": 1},
        {"v": 1, "kind": "param", "key": "lr", "value": 0.1},  # no time: the reader skips it
        {"v": 1, "kind": "tag", "t": 1002, "key": "k" * 300, "value": "x"},  # key too long: skipped
        {"v": 1, "kind": "tag", "t": 1003, "key": "bad\ncontrol", "value": "x"},  # control character: skipped
        b"{torn",
        {"v": 1, "kind": "start", "t": 1004, "run_id": "other", "name": "second"},  # a second start: skipped
        {"v": 1, "kind": "tag", "t": 1005, "key": "team", "value": "a"},
    ))
    return tmp_path, folder


def test_resume_sees_the_run_the_reader_shows(damaged_run):
    log_dir, folder = damaged_run
    shown = read_logs(log_dir).runs["run1"]
    run = Run.resume(folder)
    run.end()
    assert (run.info.run_id, run.info.run_name) == (shown.run_id, shown.name) == ("run1", "first")
    assert shown.params == {"kept": 1}
    assert run.data.params == {"kept": "1"}  # as text, as get_run gives it (and MLflow both times)
    assert run.data.tags == shown.tags == {"team": "a"}


def test_a_param_only_a_skipped_line_holds_can_be_logged_after_resume(damaged_run):
    log_dir, folder = damaged_run
    with Run.resume(folder) as run:
        run.log_param("lr", 0.2)  # the page shows no lr: logging one must not be refused as a change
    assert read_logs(log_dir).runs["run1"].params["lr"] == 0.2


def test_finding_an_experiment_skips_the_lines_the_reader_skips(tmp_path):
    folder = tmp_path / "houses-x"
    folder.mkdir()
    (folder / EXPERIMENT_FILE).write_bytes(_lines(
        {"v": 1, "kind": "experiment", "experiment_id": "houses-x", "name": "houses"},  # no time: skipped
        {"v": 1, "kind": "experiment", "t": 5, "experiment_id": "houses-x", "name": "houses"},
        {"v": 1, "kind": "experiment_tag", "t": 6, "key": "k" * 300, "value": "x"},
        {"v": 1, "kind": "experiment_tag", "t": 7, "key": "team", "value": "a"},
    ))
    shown = read_logs(tmp_path).experiments["houses-x"]
    found = find_by_name(tmp_path, "houses")
    assert (found.experiment_id, found.name, found.created, found.tags) == \
        (shown.experiment_id, shown.name, shown.created, shown.tags) == ("houses-x", "houses", 5, {"team": "a"})
    mlflow.set_log_dir(tmp_path)
    try:
        assert mlflow.get_experiment_by_name("houses").tags == {"team": "a"}
    finally:
        mlflow.set_log_dir(None)
