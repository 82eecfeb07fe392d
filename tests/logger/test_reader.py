"""The reader: good logs, every kind of bad line, incremental reads, plain JSONL, no writes."""

from __future__ import annotations

import math
import os
import random
import shutil

import pytest

from logger.model import Artifact
from logger.reader import LogReader, read_logs
from tests.logwriting import (
    T0,
    append,
    append_raw,
    artifact,
    end,
    event,
    metric,
    param,
    resume,
    tag,
    write_artifact,
    write_experiment,
    write_plain,
    write_run,
)

A, B, C = "a" * 32, "b" * 32, "c" * 32
NOW = (T0 + 60_000) / 1000  # one minute after the hand-made clock's start, in seconds


def snapshot(data):
    """LogData as plain values (arrays as bytes, so NaN compares equal to NaN)."""
    runs = {}
    for run_id, run in data.runs.items():
        fields = dict(vars(run))
        fields["metrics"] = {k: (h.steps.tobytes(), h.values.tobytes(), h.timestamps.tobytes())
                             for k, h in run.metrics.items()}
        runs[run_id] = fields
    return {"experiments": {k: vars(e) for k, e in data.experiments.items()}, "runs": runs,
            "problems": list(data.problems)}


def reasons(data):
    return [(p.file.rsplit("/", 1)[-1], p.line, p.reason) for p in data.problems]


@pytest.fixture
def log_dir(tmp_path):
    exp = write_experiment(tmp_path, "houses", tags={"team": "pricing"})
    (exp / "notes.md").write_text("# Notes\nabout houses")
    run = write_run(exp, A, [param("C", 0.1), param("solver", "lbfgs"), metric("loss", 0.5, 0), metric("loss", 0.4, 1),
                             metric("loss", "NaN", 2, t=T0 + 100), metric("acc", 0.8, 0), tag("stage", "dev"),
                             artifact("plots/p.png", 3), end("FINISHED")], name="lasso")
    write_artifact(run, "plots/p.png", b"abc")
    write_artifact(run, "model.pkl", b"12345")
    write_artifact(run, ".model.pkl.tmp", b"half")  # the logger's temp files are hidden
    write_run(exp, B, [param("C", 1.0), metric("loss", 0.3, 0), end("FAILED")], name="ridge", parent_run_id=A)
    write_run(exp, C, [metric("loss", 0.9, 0, t=T0 + 50_000)], name="still-going")
    return tmp_path


def test_good_logs(log_dir):
    data = read_logs(log_dir)
    assert data.problems == []
    (experiment,) = data.experiments.values()
    assert (experiment.name, experiment.tags, experiment.notes) == ("houses", {"team": "pricing"},
                                                                    "# Notes\nabout houses")
    run = data.runs[A]
    assert (run.name, run.status, run.experiment_id) == ("lasso", "FINISHED", experiment.experiment_id)
    assert run.params == {"C": 0.1, "solver": "lbfgs"}
    assert run.tags == {"stage": "dev"}
    assert run.system == {"user": "ana"}
    assert list(run.metrics["loss"].steps) == [0, 1, 2]
    assert math.isnan(run.latest_metrics()["loss"])  # greatest step wins, even NaN
    assert run.latest_metrics()["acc"] == 0.8
    assert run.artifacts == [Artifact("model.pkl", 5), Artifact("plots/p.png", 3)]
    assert run.start_time < run.end_time
    assert data.runs[B].status == "FAILED" and data.runs[B].parent_run_id == A
    assert data.children_of(A) == [data.runs[B]]


def test_running_versus_unfinished(log_dir):
    reader = LogReader(log_dir, running_window=600)
    reader.refresh(now=NOW)
    assert reader.data.runs[C].status == "RUNNING"  # last event 10 s before "now"
    changes = reader.refresh(now=NOW + 3600)
    assert reader.data.runs[C].status == "UNFINISHED"
    assert changes.runs == {C}  # a status that changed with time is a change
    assert reader.data.runs[A].status == "FINISHED"


def test_resume_reopens_a_run(log_dir):
    path = log_dir / "houses-00000006" / A / "run.jsonl"
    append(path, resume(t=T0 + 55_000))
    run = read_logs(log_dir).runs[A]
    assert run.status == "UNFINISHED" and run.end_time is None
    reader = LogReader(log_dir)
    reader.refresh(now=NOW)
    assert reader.data.runs[A].status == "RUNNING"


def test_run_name_tag_and_description(log_dir):
    path = log_dir / "houses-00000006" / A / "run.jsonl"
    append(path, tag("mlflow.runName", "renamed"), tag("mlflow.note.content", "*why*"))
    run = read_logs(log_dir).runs[A]
    assert (run.name, run.description) == ("renamed", "*why*")


BAD_LINES = [
    (b"this is not json", "malformed JSON"),
    (b"[1, 2, 3]", "not a JSON object (a list)"),
    # Two objects on one line would parse as two items of a grouped JSON array: still one bad line.
    (b'{"v":1,"kind":"tag","t":5,"key":"a","value":1},{"v":1,"kind":"tag","t":5,"key":"b","value":2}',
     "malformed JSON"),
    (b'{"v":1,"t":5,"key":"x"}', "no 'kind' field"),
    (b'{"v":1,"kind":"telemetry","t":5}', "unknown kind 'telemetry'"),
    (b'{"v":1,"kind":7,"t":5}', "'kind' is not a string"),
    (b'{"v":1,"kind":"metric","t":5,"key":"loss","value":"abc","step":3}', "'value' must be a number"),
    (b'{"v":1,"kind":"metric","t":5,"key":"loss","value":[1],"step":3}', "'value' must be a number"),
    (b'{"v":1,"kind":"metric","t":5,"key":"loss","value":1.0,"step":1.5}', "'step' must be an integer"),
    (b'{"v":1,"kind":"metric","t":5,"key":"loss","value":1.0,"step":"3"}', "'step' must be an integer"),
    (b'{"v":1,"kind":"metric","t":"5","key":"loss","value":1.0,"step":3}', "'t' must be an integer"),
    (b'{"v":1,"kind":"metric","t":5,"key":"loss","value":1.0}', "missing field 'step'"),
    (b'{"v":1,"kind":"metric","t":5,"value":1.0,"step":1}', "missing field 'key'"),
    (b'{"v":1,"kind":"metric","t":5,"key":"","value":1.0,"step":1}', "empty key"),
    (b'{"v":1,"kind":"metric","t":5,"key":"a\\u0001b","value":1.0,"step":1}', "control character"),
    (b'{"v":1,"kind":"metric","t":5,"key":"loss","value":1.0,"step":9223372036854775808}', "range"),
    (b'{"v":1,"kind":"param","t":5,"key":"C","value":2}', "logged again with another value"),
    (b'{"v":1,"kind":"param","t":5,"key":"big","value":"' + b"x" * 6001 + b'"}', "longer than 6000"),
    (b'{"v":1,"kind":"tag","t":5,"key":7,"value":"x"}', "'key' must be a string"),
    (b'{"v":1,"kind":"end","t":5,"status":"DONE"}', "status must be one of"),
    (b'{"v":1,"kind":"artifact","t":5,"path":"x","size":"big"}', "'size' must be an integer"),
    (b'{"v":1,"kind":"start","t":5,"run_id":"x","experiment_id":"e","name":"n"}', "duplicate start line"),
    (b'{"v":1,"kind":"metric","t":5,"key":"loss","value":1.0,"step":3,"x":"\xff\xfe"}', "invalid UTF-8"),
]


@pytest.mark.parametrize("line, reason", BAD_LINES, ids=[r for _, r in BAD_LINES])
def test_a_bad_line_is_skipped_and_reported(tmp_path, line, reason):
    exp = write_experiment(tmp_path, "e")
    run = write_run(exp, A, [param("C", 1), metric("loss", 1.0, 0), line, metric("loss", 2.0, 1), end()])
    data = read_logs(tmp_path)
    (problem,) = data.problems
    assert problem.file == f"{exp.name}/{A}/run.jsonl" and problem.line == 4
    assert reason in problem.reason
    read = data.runs[A]
    assert list(read.metrics["loss"].values) == [1.0, 2.0]  # the rest of the file is still read
    assert read.params == {"C": 1} and read.status == "FINISHED"
    assert len({len(h.steps) for h in read.metrics.values()} | {len(h.values) for h in read.metrics.values()}) == 1
    assert run.exists()


def test_special_values_and_blank_lines(tmp_path):
    exp = write_experiment(tmp_path, "e")
    write_run(exp, A, [metric("x", "Infinity", 0), b"", b"   ", metric("x", "-Infinity", 1), metric("x", 3, 2)])
    data = read_logs(tmp_path)
    assert data.problems == []
    assert list(data.runs[A].metrics["x"].values) == [math.inf, -math.inf, 3.0]


def test_run_without_start_line_takes_names_from_folders(tmp_path):
    exp = write_experiment(tmp_path, "e")
    write_run(exp, "handmade", [metric("loss", 1.0, 0, t=T0 + 7)], with_start=False)
    data = read_logs(tmp_path)
    run = data.runs["handmade"]
    assert (run.name, run.experiment_id, run.start_time) == ("handmade", exp.name, T0 + 7)
    assert [p.line for p in data.problems] == [1] and "no start line" in data.problems[0].reason


def test_start_after_events_is_skipped(tmp_path):
    exp = write_experiment(tmp_path, "e")
    write_run(exp, A, [metric("loss", 1.0, 0), event("start", run_id="zz", experiment_id="e", name="late")],
              with_start=False)
    data = read_logs(tmp_path)
    assert data.runs[A].name == A
    assert "start line after other events" in reasons(data)[-1][2]


def test_torn_tail_is_read_once_complete(tmp_path):
    exp = write_experiment(tmp_path, "e")
    run = write_run(exp, A, [metric("loss", 1.0, 0)])
    path = run / "run.jsonl"
    reader = LogReader(tmp_path)
    append_raw(path, b'{"v":1,"kind":"metric","t":9,"key":"loss","value":2.0,')
    reader.refresh()
    assert list(reader.data.runs[A].metrics["loss"].values) == [1.0]
    assert reader.data.problems == []
    append_raw(path, b'"step":1}\n')
    changes = reader.refresh()
    assert changes.runs == {A} and changes.problems == []
    assert list(reader.data.runs[A].metrics["loss"].values) == [1.0, 2.0]


def test_torn_line_turned_malformed_by_a_reopening_writer(tmp_path):
    exp = write_experiment(tmp_path, "e")
    path = write_run(exp, A, [metric("loss", 1.0, 0)]) / "run.jsonl"
    append_raw(path, b'{"v":1,"kind":"met')
    append(path, b"", metric("loss", 2.0, 1))  # the writer's "\n", then a good line
    data = read_logs(tmp_path)
    assert [p.line for p in data.problems] == [3]
    assert list(data.runs[A].metrics["loss"].values) == [1.0, 2.0]


def test_problems_are_reported_once(tmp_path):
    exp = write_experiment(tmp_path, "e")
    path = write_run(exp, A, [b"garbage"]) / "run.jsonl"
    reader = LogReader(tmp_path)
    assert len(reader.refresh().problems) == 1
    append(path, metric("loss", 1.0, 0))
    changes = reader.refresh()
    assert changes.problems == [] and len(reader.data.problems) == 1
    append(path, b"more garbage")
    changes = reader.refresh()
    assert [p.line for p in changes.problems] == [4] and len(reader.data.problems) == 2


def _random_event(rng: random.Random, step: int) -> dict | bytes:
    roll = rng.random()
    if roll < 0.6:
        return metric(rng.choice(["loss", "acc", "lr"]), rng.choice([rng.random(), "NaN", 3]), step)
    if roll < 0.7:
        return param(f"p{rng.randrange(20)}", rng.randrange(3))
    if roll < 0.8:
        return tag(rng.choice(["stage", "mlflow.runName"]), f"v{rng.randrange(5)}")
    if roll < 0.85:
        return rng.choice([b"garbage", b'{"v":1,"kind":"nope","t":1}', b"[]"])
    if roll < 0.9:
        return end(rng.choice(["FINISHED", "FAILED"]))
    return resume()


def test_incremental_refresh_equals_a_full_read(tmp_path):
    rng = random.Random(7)
    exp = write_experiment(tmp_path, "e")
    paths = [write_run(exp, run_id, [metric("loss", 1.0, 0)]) / "run.jsonl" for run_id in (A, B)]
    write_plain(tmp_path / "train.jsonl", [{"step": 0, "loss": 1.0, "time": 1_700_000_000}])
    reader = LogReader(tmp_path)
    reader.refresh(now=NOW)
    for round_ in range(25):
        for _ in range(rng.randrange(0, 30)):
            append(rng.choice(paths), _random_event(rng, round_))
        if rng.random() < 0.3:  # sometimes a torn tail, completed in a later round
            torn = rng.choice(paths)
            append_raw(torn, b'{"v":1,"kind":"metric","t":3,"key":"loss",')
            reader.refresh(now=NOW)
            append_raw(torn, b'"value":0.5,"step":1}\n')
        append(tmp_path / "train.jsonl", {"step": round_ + 1, "loss": rng.random(), "acc": round_})
        if round_ == 10:
            write_run(exp, C, [metric("acc", 0.5, 0)])
            (exp / "notes.md").write_text(f"round {round_}")
        reader.refresh(now=NOW)
        assert snapshot(reader.data) == snapshot(_full_read(tmp_path)), f"round {round_}"


def _full_read(folder):
    reader = LogReader(folder)
    reader.refresh(now=NOW)
    return reader.data


def test_shrunk_or_replaced_files_are_read_again_whole(tmp_path):
    exp = write_experiment(tmp_path, "e")
    path = write_run(exp, A, [metric("loss", 1.0, 0), metric("loss", 2.0, 1), b"junk"]) / "run.jsonl"
    reader = LogReader(tmp_path)
    reader.refresh()
    assert len(reader.data.problems) == 1
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:2]))  # truncated: the start line and one metric
    changes = reader.refresh()
    assert A in changes.runs and reader.data.problems == []
    assert list(reader.data.runs[A].metrics["loss"].values) == [1.0]
    # Replaced by another file (new inode) of the same size, with other content.
    replacement = path.with_name("other")
    replacement.write_bytes(lines[0] + lines[1].replace(b"1.0", b"7.0"))
    os.replace(replacement, path)
    reader.refresh()
    assert list(reader.data.runs[A].metrics["loss"].values) == [7.0]
    # Rewritten in place, larger: the bytes before the old offset changed.
    with open(path, "r+b") as file:
        file.write(lines[0] + lines[1].replace(b"1.0", b"8.0") + lines[2])
    reader.refresh()
    assert list(reader.data.runs[A].metrics["loss"].values) == [8.0, 2.0]
    assert snapshot(reader.data) == snapshot(read_logs(tmp_path))


def test_removed_and_added_runs_and_experiments(log_dir):
    reader = LogReader(log_dir)
    first = reader.refresh()
    assert first.everything and first.runs == {A, B, C}
    shutil.rmtree(log_dir / "houses-00000006" / C)
    other = write_experiment(log_dir, "other")
    write_run(other, "d" * 32, [metric("m", 1.0, 0)])
    changes = reader.refresh()
    assert not changes.everything
    assert changes.removed_runs == {C} and changes.runs == {"d" * 32}
    assert changes.experiments == {"houses-00000006", other.name}
    shutil.rmtree(other)
    changes = reader.refresh()
    assert changes.removed_experiments == {other.name} and changes.removed_runs == {"d" * 32}
    assert not reader.refresh()  # nothing changed


def test_artifacts_and_notes_changes_are_picked_up(log_dir):
    reader = LogReader(log_dir)
    reader.refresh()
    run = log_dir / "houses-00000006" / B
    write_artifact(run, "new.txt", b"hi")
    assert reader.refresh().runs == {B}
    assert reader.data.runs[B].artifacts == [Artifact("new.txt", 2)]
    (log_dir / "houses-00000006" / "notes.md").write_text("changed")
    assert reader.refresh().experiments == {"houses-00000006"}
    assert reader.data.experiments["houses-00000006"].notes == "changed"


def test_symlinked_artifacts_only_inside_the_log_dir(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    logs = tmp_path / "logs"
    run = write_run(write_experiment(logs, "e"), A, [])
    write_artifact(run, "real.txt", b"1")
    (run / "artifacts" / "inside.txt").symlink_to(run / "artifacts" / "real.txt")
    (run / "artifacts" / "outside.txt").symlink_to(outside)
    (run / "artifacts" / "loop").symlink_to(run / "artifacts")
    paths = [a.path for a in read_logs(logs).runs[A].artifacts]
    assert "outside.txt" not in paths and {"inside.txt", "real.txt"} <= set(paths)
    assert len(paths) < 10  # the loop is followed at most once


def test_plain_jsonl_logs(tmp_path):
    write_plain(tmp_path / "train.jsonl", [{"step": 0, "loss": 1.0, "acc": 0.5, "note": "hi", "time": 1_700_000_000},
                                           {"step": 1, "loss": 0.5, "acc": 0.7, "time": 1_700_000_001}])
    write_plain(tmp_path / "sub" / "eval.jsonl", [{"score": 3}, {"score": 4}])
    (tmp_path / "sub" / "bad.jsonl").write_bytes(b'{"step": 0, "loss": NaN}\n{"epoch": "x", "loss": 1}\n')
    (tmp_path / "nested.jsonl").write_bytes(b'{"a": {"b": 1}}\n')  # not flat: not a run
    data = read_logs(tmp_path)
    runs = {run.name: run for run in data.runs.values()}
    assert set(runs) == {"train", "eval", "bad"}
    train = runs["train"]
    assert train.source == "plain" and train.run_id.startswith("plain-")
    assert set(train.metrics) == {"loss", "acc"}  # step, time and text are not metrics
    assert list(train.metrics["loss"].steps) == [0, 1]
    assert list(train.metrics["loss"].timestamps) == [1_700_000_000_000, 1_700_000_001_000]
    assert list(runs["eval"].metrics["score"].steps) == [0, 1]  # no step field: the line number
    assert math.isnan(runs["bad"].metrics["loss"].values[0])  # Python's NaN is accepted in plain logs
    assert [(p.line, "'epoch' must be an integer" in p.reason) for p in data.problems] == [(2, True)]
    assert data.experiments[train.experiment_id].name == "plain"
    assert data.experiments[runs["eval"].experiment_id].name == "sub"
    assert train.experiment_id != runs["eval"].experiment_id
    assert read_logs(tmp_path).runs.keys() == data.runs.keys()  # ids are stable


def test_plain_log_in_an_experiment_folder_joins_it(log_dir):
    write_plain(log_dir / "houses-00000006" / "extra.jsonl", [{"loss": 1.0}])
    data = read_logs(log_dir)
    (extra,) = [r for r in data.runs.values() if r.name == "extra"]
    assert extra.experiment_id == "houses-00000006"


def test_missing_directory_raises_and_a_file_is_read_alone(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        LogReader(tmp_path / "nope")
    # a log path may be one file (an mlflow.db, an event file): read alone, nothing beside it
    (tmp_path / "file").write_text("x")
    write_plain(tmp_path / "beside.jsonl", [{"step": 1, "loss": 0.5}])
    assert read_logs(tmp_path / "file").runs == {}
    only = read_logs(tmp_path / "beside.jsonl")
    assert [run.name for run in only.runs.values()] == ["beside"]


def _tree(folder):
    return sorted((str(p.relative_to(folder)), p.lstat().st_size, p.lstat().st_mtime_ns) for p in folder.rglob("*"))


def test_reading_writes_nothing(log_dir):
    append_raw(log_dir / "houses-00000006" / A / "run.jsonl", b'{"torn": ')
    write_plain(log_dir / "p.jsonl", [{"loss": 1}])
    before = _tree(log_dir)
    os.chmod(log_dir, 0o555)  # as root this is not enforced, hence the snapshot comparison
    try:
        reader = LogReader(log_dir)
        reader.refresh()
        reader.refresh()
        read_logs(log_dir)
    finally:
        os.chmod(log_dir, 0o755)
    assert _tree(log_dir) == before


def test_unreadable_file_is_a_problem_not_an_error(tmp_path):
    exp = write_experiment(tmp_path, "e")
    path = write_run(exp, A, [metric("loss", 1.0, 0)]) / "run.jsonl"
    os.chmod(path, 0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: file permissions are not enforced")
        data = read_logs(tmp_path)
        assert any("cannot read" in p.reason for p in data.problems)
    finally:
        os.chmod(path, 0o644)


def test_large_file_is_read_in_chunks(tmp_path, monkeypatch):
    import logger.sources.tracked as reader_module

    monkeypatch.setattr(reader_module, "CHUNK", 100)  # lines straddle chunk boundaries
    exp = write_experiment(tmp_path, "e")
    write_run(exp, A, [metric("loss", float(i), i) for i in range(500)] + [b"bad"] + [metric("x", 1.0, 0)]
              + [param("long", "y" * 1000)])  # one line over ten chunks
    data = read_logs(tmp_path)
    assert list(data.runs[A].metrics["loss"].steps) == list(range(500))
    assert [p.line for p in data.problems] == [502]
    assert len(data.runs[A].metrics["x"]) == 1 and data.runs[A].params["long"] == "y" * 1000


def test_plain_log_status_follows_its_own_times_not_the_file_date(tmp_path):
    # A freshly cloned or copied file has a new modification time; its records say it ended long ago.
    (tmp_path / "old.jsonl").write_text('{"step": 0, "loss": 1.0, "timestamp": 1700000000}\n'
                                       '{"step": 1, "loss": 0.5, "timestamp": 1700000060}\n')
    (tmp_path / "untimed.jsonl").write_text('{"step": 0, "loss": 1.0}\n')
    runs = {run.name: run for run in read_logs(tmp_path).runs.values()}
    assert runs["old"].status == "FINISHED" and runs["old"].end_time == 1_700_000_060_000
    assert runs["untimed"].status == "RUNNING"  # no times of its own: the file was just written
