"""A run written as several segment files (one per writer) reads as one run, merged by time."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest
from helpers import clean_env

import logger
from logger.format import RUN_FILE
from logger.reader import LogReader, read_logs
from logger.segment_merge import merge, parser_for
from logger.segments import file_for_writing, is_segment, writer_id


def _lines(path: Path, *records: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as file:
        for record in records:
            file.write(orjson.dumps({"v": 1, **record}) + b"\n")


def _start(t: int, run_id: str = "r1", experiment_id: str = "e1", name: str = "first") -> dict:
    return {"kind": "start", "t": t, "run_id": run_id, "experiment_id": experiment_id, "name": name, "system": {}}


def _metric(t: int, key: str, value: float, step: int) -> dict:
    return {"kind": "metric", "t": t, "key": key, "value": value, "step": step}


@pytest.fixture
def run_folder(tmp_path) -> Path:
    _lines(tmp_path / "logs" / "e1" / "experiment.jsonl",
           {"kind": "experiment", "t": 1, "experiment_id": "e1", "name": "exp"})
    return tmp_path / "logs" / "e1" / "r1"


def test_segment_names():
    assert is_segment("run@rank0-node1-123.jsonl") and is_segment("run@node1-123.000004.jsonl")
    assert not is_segment("run.jsonl") and not is_segment("run@.jsonl") and not is_segment("run@../x.jsonl")
    assert not is_segment("run@a/b.jsonl") and not is_segment("run@a\\b.jsonl")
    assert is_segment(f"run@{writer_id()}.jsonl")


def test_disagreeing_segments_merge_by_time_then_name(run_folder):
    # rank 0 started the run and ended it; rank 1 resumed later and is still going.
    _lines(run_folder / "run@rank0-a-1.jsonl", _start(100), {"kind": "param", "t": 101, "key": "lr", "value": 0.1},
           {"kind": "tag", "t": 300, "key": "phase", "value": "eval"}, _metric(110, "loss", 3.0, 0),
           _metric(130, "loss", 1.0, 2), {"kind": "end", "t": 400, "status": "FINISHED"})
    _lines(run_folder / "run@rank1-b-2.jsonl", _start(200, name="second"),
           {"kind": "tag", "t": 300, "key": "phase", "value": "train"},  # same time: the later name wins
           {"kind": "tag", "t": 250, "key": "mlflow.runName", "value": "renamed"},
           _metric(120, "loss", 2.0, 1), _metric(140, "loss", 0.5, 3), {"kind": "resume", "t": 500})
    data = read_logs(run_folder.parent.parent, running_window=10**12)
    run = data.runs["r1"]
    assert run.start_time == 100 and run.name == "renamed" and run.params == {"lr": 0.1}
    assert run.tags == {"phase": "train", "mlflow.runName": "renamed"}
    assert run.status == "RUNNING" and run.end_time is None  # the resume at 500 comes after the end at 400
    loss = run.metrics["loss"]
    assert list(loss.steps) == [0, 1, 2, 3] and list(loss.values) == [3.0, 2.0, 1.0, 0.5]
    assert run.last_time == 500 and data.problems == []


def test_the_merge_does_not_depend_on_the_order_files_come_in(run_folder):
    files = {
        RUN_FILE: [_start(100), {"kind": "tag", "t": 150, "key": "k", "value": "plain"}, _metric(100, "m", 1.0, 0)],
        "run@b.jsonl": [{"kind": "tag", "t": 150, "key": "k", "value": "b"}, _metric(100, "m", 2.0, 0),
                        {"kind": "end", "t": 900, "status": "FAILED"}],
        "run@a.jsonl": [{"kind": "end", "t": 900, "status": "KILLED"}, _metric(100, "m", 3.0, 0),
                        {"kind": "param", "t": 5, "key": "p", "value": 2}],
        "run@c.jsonl": [{"kind": "param", "t": 7, "key": "p", "value": 1}, {"kind": "deleted", "t": 50}],
    }
    for name, records in files.items():
        _lines(run_folder / name, *records)
    parsed = {name: parser_for(f"e1/r1/{name}", run_folder) for name in files}
    for name, parser in parsed.items():
        parser.feed((run_folder / name).read_bytes().split(b"\n"))
    results = []
    for order in itertools.permutations(parsed):
        merged = merge(run_folder, [parsed[name] for name in order])
        run = merged.run
        results.append((run.tags, run.params, merged.end_status, run.deleted, list(run.metrics["m"].values),
                        sorted(map(str, merged.problems))))
    assert all(result == results[0] for result in results)
    tags, params, status, deleted, values, problems = results[0]
    # Ties at the same time go to the later file name: run.jsonl < run@a < run@b < run@c.
    assert tags == {"k": "b"} and status == "FAILED" and deleted is True and values == [1.0, 3.0, 2.0]
    assert params == {"p": 2}  # the first logged (t=5) stays; the other value is reported
    assert problems == ["e1/r1/run@c.jsonl: param 'p' logged here as '1', elsewhere first as '2'; keeping the first"]


def test_a_second_start_line_naming_another_run_is_reported(run_folder):
    _lines(run_folder / "run@a.jsonl", _start(100))
    _lines(run_folder / "run@b.jsonl", _start(50, run_id="other"), _metric(60, "m", 1.0, 0))
    data = read_logs(run_folder.parent.parent)
    assert list(data.runs) == ["other"] and data.runs["other"].metrics["m"].values.tolist() == [1.0]
    assert [p.file for p in data.problems] == ["e1/r1/run@a.jsonl"]
    assert "started it first" in data.problems[0].reason


def test_a_bad_segment_is_a_problem_and_the_rest_reads(run_folder):
    _lines(run_folder / "run@good.jsonl", _start(100), _metric(110, "m", 1.0, 0))
    (run_folder / "run@bad.jsonl").write_bytes(b"\xff\xfe not json\n{\"kind\": \"metric\"}\n")
    data = read_logs(run_folder.parent.parent)
    assert data.runs["r1"].metrics["m"].values.tolist() == [1.0]
    assert sorted((p.file, p.line) for p in data.problems) == [("e1/r1/run@bad.jsonl", 1), ("e1/r1/run@bad.jsonl", 2)]


def test_a_segment_that_is_a_link_is_not_followed_and_is_said(run_folder, tmp_path):
    _lines(run_folder / "run@good.jsonl", _start(100))
    _lines(tmp_path / "outside.jsonl", _metric(110, "secret", 1.0, 0))
    (run_folder / "run@evil.jsonl").symlink_to(tmp_path / "outside.jsonl")
    data = read_logs(run_folder.parent.parent)
    assert data.runs["r1"].metrics == {}
    assert [(p.file, p.reason) for p in data.problems] == [
        ("e1/r1/run@evil.jsonl", "skipped: not a regular file (a link or special file)")]


def test_a_run_of_segments_only_without_a_start_line_is_reported_once(run_folder):
    _lines(run_folder / "run@a.jsonl", _metric(110, "m", 1.0, 0))
    _lines(run_folder / "run@b.jsonl", _metric(120, "m", 2.0, 1))
    data = read_logs(run_folder.parent.parent)
    assert data.runs["r1"].start_time == 110 and data.runs["r1"].metrics["m"].values.tolist() == [1.0, 2.0]
    assert [p.reason for p in data.problems] == ["no file of the run has a start line: its id and experiment come "
                                                 "from the folder names"]


def test_refresh_reads_appended_bytes_and_a_new_segment(run_folder):
    _lines(run_folder / "run@a.jsonl", _start(100), _metric(110, "m", 1.0, 0))
    reader = LogReader(run_folder.parent.parent, running_window=10**12)
    reader.refresh(now=1.0)
    first = reader.data.runs["r1"]
    assert reader.refresh(now=1.0).runs == set() and reader.data.runs["r1"] is first  # nothing new: same run
    _lines(run_folder / "run@a.jsonl", _metric(130, "m", 3.0, 2))
    changes = reader.refresh(now=1.0)
    assert changes.runs == {"r1"} and reader.data.runs["r1"].metrics["m"].values.tolist() == [1.0, 3.0]
    tracked = reader._sources[next(iter(reader._sources))]._files["e1/r1/run@a.jsonl"]
    assert tracked.offset == (run_folder / "run@a.jsonl").stat().st_size  # followed by offset, not re-read
    _lines(run_folder / "run@b.jsonl", _metric(120, "m", 2.0, 1), {"kind": "end", "t": 140, "status": "FINISHED"})
    changes = reader.refresh(now=1.0)
    run = reader.data.runs["r1"]
    assert changes.runs == {"r1"} and run.metrics["m"].values.tolist() == [1.0, 2.0, 3.0]
    assert run.status == "FINISHED"


def test_the_mode_follows_the_environment_and_set_log_dir(log_dir, monkeypatch):
    assert file_for_writing() == RUN_FILE  # one run.jsonl by default on a single machine
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert file_for_writing().startswith("run@rank1-")
    monkeypatch.setenv("FLOWSHEET_SEGMENTS", "0")
    assert file_for_writing() == RUN_FILE
    monkeypatch.delenv("FLOWSHEET_SEGMENTS")
    monkeypatch.delenv("WORLD_SIZE")
    logger.set_log_dir(log_dir, segments=True)
    with logger.start_run() as run:
        logger.log_param("a", 1)
    assert [p.name for p in run.folder.glob("*.jsonl")] == [f"run@{writer_id()}.jsonl"]
    assert read_logs(log_dir).runs[run.info.run_id].params == {"a": 1}


def test_two_processes_log_one_run_as_segments_and_resume_replays_all(log_dir):
    logger.set_log_dir(log_dir, segments=True)
    with logger.start_run() as run:
        logger.log_param("lr", 0.1)
        logger.set_tag("owner", "parent")
    code = """
        import sys, logger
        worker = int(sys.argv[1])
        with logger.start_run(run_id=sys.argv[2]):
            try:
                logger.log_param("lr", 0.2)  # the parent's segment holds lr=0.1: resuming replayed it
            except Exception:
                logger.set_tag(f"refused{worker}", "yes")
            for step in range(200):
                logger.log_metric(f"w{worker}", step, step=step)
                logger.log_metric("shared", worker, step=step)
    """
    processes = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(i), run.info.run_id],
                                  env=clean_env(FLOWSHEET_DIR=str(log_dir), FLOWSHEET_SEGMENTS="1"))
                 for i in range(2)]
    assert [p.wait(timeout=120) for p in processes] == [0, 0]
    names = sorted(p.name for p in run.folder.glob("*.jsonl"))
    assert len(names) == 3 and all(is_segment(name) for name in names)
    merged = read_logs(log_dir).runs[run.info.run_id]
    assert merged.params == {"lr": 0.1} and merged.status == "FINISHED"
    assert merged.tags["owner"] == "parent" and merged.tags["refused0"] == merged.tags["refused1"] == "yes"
    for worker in range(2):
        assert merged.metrics[f"w{worker}"].steps.tolist() == list(range(200))
    assert len(merged.metrics["shared"]) == 400
    assert list(merged.metrics["shared"].timestamps) == sorted(merged.metrics["shared"].timestamps)


def _in_child(work) -> str:
    """Fork; the child runs `work()` and sends back what it returns (a short text) through a pipe."""
    import os

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write_end, work().encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        said = answer.read().decode()
    os.waitpid(pid, 0)
    return said


def test_every_process_has_its_own_writer_name_even_with_the_same_host_and_pid():
    """Containers often all run as pid 1 under one host name: a random token per process tells them apart."""
    mine = writer_id()
    assert mine == writer_id() and re.fullmatch(r".+-\d+-[0-9a-f]{6}", mine)
    child = _in_child(writer_id)
    assert child != mine and child.rsplit("-", 2)[0] == mine.rsplit("-", 2)[0]  # the same host, another writer


def test_a_fork_makes_parent_and_child_lock_the_segment_they_both_append_to(tmp_path):
    logger.set_log_dir(tmp_path / "runs", segments=True)
    with logger.start_run() as run:
        assert run._writer.shared is False  # one writer: no lock needed
        child = _in_child(lambda: str(run._writer.shared))
        assert child == "True" and run._writer.shared is True


@pytest.mark.parametrize("names", list(itertools.permutations(["experiment.jsonl", "experiment@vm-99999-aa.jsonl",
                                                               "experiment@vm-100003-bb.jsonl"])))
def test_an_experiment_tag_from_several_writers_takes_the_latest_value_by_time(tmp_path, names):
    """Pieces are named after the process that uploaded them, so names say nothing of time: time decides."""
    logs = tmp_path / "logs"
    first, second, third = names
    _lines(logs / "e1" / first, {"kind": "experiment", "t": 1, "experiment_id": "e1", "name": "exp"},
           {"kind": "experiment_tag", "t": 1001, "key": "stage", "value": "old"})
    _lines(logs / "e1" / second, {"kind": "experiment_tag", "t": 5000, "key": "stage", "value": "new"},
           {"kind": "experiment_tag", "t": 5000, "key": "team", "value": "b"})
    _lines(logs / "e1" / third, {"kind": "experiment_tag", "t": 3000, "key": "stage", "value": "middle"},
           {"kind": "experiment_tag", "t": 5000, "key": "team", "value": "c"})
    data = read_logs(logs)
    tied = "c" if sorted([second, third])[-1] == third else "b"  # same time: the file whose name sorts last
    assert data.experiments["e1"].tags == {"stage": "new", "team": tied} and data.problems == []
