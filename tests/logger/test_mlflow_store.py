"""Reading MLflow file stores: the reader against values read independently from the fixture files.

The fixture (tests/fixtures/mlruns, made by a real MLflow: see tests/fixtures/make_mlruns.py) is
read here with plain Python (a flat `key: value` parse of meta.yaml, `split()` of metric lines), so
a mistake in logger/mlflow_store.py cannot be mirrored by the expectations.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import pytest
from mlflow_fixture import FIXTURE, STATUS, flat_meta, key_files, live_runs, metric_files, metric_points
from mlflow_fixture import experiments as fixture_experiments
from mlflow_fixture import runs as fixture_runs

from logger.mlflow_store import is_mlflow_store, read_mlflow_store, store_root


def run_named(data, name):
    [run] = [run for run in data.runs.values() if run.name == name]
    return run


@pytest.fixture(scope="module")
def data():
    return read_mlflow_store(FIXTURE)


def same_value(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


# ---------------------------------------------------------------- the fixture as it is


def test_fixture_covers_what_the_tests_rely_on():
    runs = live_runs()
    statuses = {STATUS[meta["status"]] for _, meta in runs.values()}
    assert {"FINISHED", "FAILED", "KILLED", "RUNNING"} <= statuses
    assert any(meta["lifecycle_stage"] == "deleted" for _, meta in fixture_runs().values())
    assert any((FIXTURE / ".trash").iterdir())
    assert (FIXTURE / "VERSION").read_text().startswith("mlflow ")
    assert sum(p.stat().st_size for p in FIXTURE.rglob("*") if p.is_file()) < 200_000


def test_reads_without_problems(data):
    assert data.problems == []


def test_experiments_match_meta_and_tags_and_skip_trash(data):
    expected = {folder: meta for folder, meta in fixture_experiments().items() if meta["lifecycle_stage"] == "active"}
    assert set(data.experiments) == set(expected)
    for experiment_id, meta in expected.items():
        experiment = data.experiments[experiment_id]
        assert experiment.name == meta["name"]
        assert experiment.created == int(meta["creation_time"])
        assert experiment.artifact_location == meta["artifact_location"]
        assert experiment.tags == key_files(FIXTURE / experiment_id / "tags")
    trashed = {flat_meta(p / "meta.yaml")["name"] for p in (FIXTURE / ".trash").iterdir()}
    assert trashed and not trashed & {e.name for e in data.experiments.values()}
    houses = next(e for e in data.experiments.values() if e.name == "houses")
    assert houses.description == (FIXTURE / houses.experiment_id / "tags" / "mlflow.note.content").read_text()


def test_runs_are_the_live_ones_with_their_meta(data):
    expected = live_runs()
    assert set(data.runs) == set(expected)
    for run_id, (folder, meta) in expected.items():
        run = data.runs[run_id]
        assert run.source == "mlflow"
        assert run.experiment_id == folder.parent.name
        assert run.path == str(folder)
        assert run.start_time == int(meta["start_time"])
        status = STATUS[meta["status"]]
        if status == "RUNNING":
            assert run.status in ("RUNNING", "UNFINISHED") and run.end_time is None
        else:
            assert (run.status, run.end_time) == (status, int(meta["end_time"]))
        tags = key_files(folder / "tags")
        assert run.name == tags.get("mlflow.runName", meta["run_name"])


def test_deleted_run_is_hidden(data):
    deleted = [run_id for run_id, (_, meta) in fixture_runs().items() if meta["lifecycle_stage"] == "deleted"]
    assert deleted and not set(deleted) & set(data.runs)


def test_params_and_tags_match_files_with_slashed_keys(data):
    for run_id, (folder, _) in live_runs().items():
        run = data.runs[run_id]
        assert run.params == key_files(folder / "params")
        assert run.tags == key_files(folder / "tags")
    lasso = run_named(data, "lasso")
    assert lasso.params["opt/lr"] == "0.01" and lasso.tags["data/version"] == "v2"


def test_metric_histories_match_files_point_by_point(data):
    checked = 0
    for run_id, (folder, _) in live_runs().items():
        run = data.runs[run_id]
        files = metric_files(folder)
        assert set(run.metrics) == set(files)
        for key, path in files.items():
            history = run.metrics[key]
            points = metric_points(path)
            assert len(history) == len(points)
            for i, (ts, value, step) in enumerate(points):
                assert history.timestamps[i] == ts and history.steps[i] == step
                assert same_value(history.values[i], value)
                checked += 1
    assert checked > 200
    lasso, ridge = run_named(data, "lasso"), run_named(data, "ridge")
    assert len(lasso.metrics["loss"]) == 50 and list(lasso.metrics["loss"].steps) == list(range(50))
    assert math.isnan(lasso.metrics["val/rmse"].values[10])
    assert ridge.metrics["val/rmse"].values[20] == math.inf


def test_parents_notes_and_system_from_mlflow_tags(data):
    parent = run_named(data, "grid-search")
    children = data.children_of(parent.run_id)
    assert sorted(child.name for child in children) == ["lasso", "ridge"]
    for child in children:
        assert child.parent_run_id == (Path(child.path) / "tags" / "mlflow.parentRunId").read_text()
    assert parent.description == (Path(parent.path) / "tags" / "mlflow.note.content").read_text()
    assert parent.description.startswith("Searches")
    for run in data.runs.values():
        tags = key_files(Path(run.path) / "tags")
        assert run.system.get("user") == tags.get("mlflow.user", flat_meta(Path(run.path) / "meta.yaml")["user_id"])
        assert run.system.get("git_commit") == tags.get("mlflow.source.git.commit")
        assert run.system.get("entry_point") == tags.get("mlflow.source.name")


def test_running_run_turns_unfinished_when_old(data):
    [(run_id, _)] = [(i, m) for i, (_, m) in live_runs().items() if m["status"] == "1"]
    last = data.runs[run_id].last_time
    assert read_mlflow_store(FIXTURE, now=last / 1000 + 60).runs[run_id].status == "RUNNING"
    assert read_mlflow_store(FIXTURE, now=last / 1000 + 3600).runs[run_id].status == "UNFINISHED"


def test_artifacts_fall_back_to_run_folder_when_uri_is_from_another_machine(data):
    run = run_named(data, "with-artifacts")
    uri = flat_meta(Path(run.path) / "meta.yaml")["artifact_uri"]
    assert uri.startswith("file://") and not Path(uri[len("file://"):]).exists()
    folder = Path(run.path) / "artifacts"
    expected = sorted((p.relative_to(folder).as_posix(), p.stat().st_size) for p in folder.rglob("*") if p.is_file())
    assert [(a.path, a.size) for a in run.artifacts] == expected
    assert {"plots/plot.png", "summary.txt", "report/tables/scores.csv"} <= {a.path for a in run.artifacts}


def test_artifacts_follow_an_existing_artifact_uri_the_caller_allows(tmp_path):
    store = copy_store(tmp_path)
    folder = run_folder(store, "with-artifacts")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "deep").mkdir(parents=True)
    (elsewhere / "deep" / "x.bin").write_bytes(b"12345")
    replace_line(folder / "meta.yaml", "artifact_uri:", f"artifact_uri: {elsewhere.as_uri()}")
    run = read_mlflow_store(store, allow_artifacts_outside=[elsewhere]).runs[folder.name]
    assert [(a.path, a.size) for a in run.artifacts] == [("deep/x.bin", 5)]


# ---------------------------------------------------------------- recognising a store


def test_is_mlflow_store(tmp_path):
    assert is_mlflow_store(FIXTURE)
    assert store_root(FIXTURE.parent) == FIXTURE  # a project folder holding mlruns/
    assert not is_mlflow_store(tmp_path)
    assert not is_mlflow_store(tmp_path / "missing")
    some_experiment = next(p for p in FIXTURE.iterdir() if p.name[0] != "." and p.is_dir())
    assert not is_mlflow_store(some_experiment)  # one experiment, not a store
    native = tmp_path / "runs" / "houses-3b4a0f52"
    native.mkdir(parents=True)
    (native / "experiment.jsonl").write_text('{"v":1,"kind":"experiment","t":1,"experiment_id":"x","name":"x"}\n')
    assert not is_mlflow_store(tmp_path / "runs")
    (tmp_path / "runs" / "0").mkdir()
    (tmp_path / "runs" / "0" / "meta.yaml").write_text("name: Default\n")
    assert not is_mlflow_store(tmp_path / "runs")  # flowsheet's own experiments win


def test_missing_store_raises_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        read_mlflow_store(tmp_path / "nope")


# ---------------------------------------------------------------- broken copies: problems, never exceptions


def copy_store(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "mlruns"))


def run_folder(store: Path, name: str) -> Path:
    for meta in store.glob("*/*/meta.yaml"):
        if flat_meta(meta).get("run_name") == name:
            return meta.parent
    raise AssertionError(name)


def replace_line(path: Path, prefix: str, new: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(new if line.startswith(prefix) else line for line in lines) + "\n", encoding="utf-8")


def test_bad_yaml_in_a_run_is_a_problem_and_the_rest_is_read(tmp_path):
    store = copy_store(tmp_path)
    folder = run_folder(store, "ridge")
    (folder / "meta.yaml").write_text("run_id: abc\nstatus: [3\n", encoding="utf-8")
    data = read_mlflow_store(store)
    assert folder.name not in data.runs
    assert len(data.runs) == len(live_runs()) - 1
    [problem] = data.problems
    assert problem.file == f"{folder.parent.name}/{folder.name}/meta.yaml"
    assert problem.line is not None and "malformed YAML" in problem.reason


def test_bad_metric_lines_are_problems_with_line_numbers(tmp_path):
    store = copy_store(tmp_path)
    folder = run_folder(store, "lasso")
    path = folder / "metrics" / "loss"
    lines = path.read_text().splitlines()
    lines[3] = "not-a-time 0.5 3"
    lines[7] = "1795750746040 abc 7"
    lines[9] = "1"
    path.write_text("\n".join(lines) + "\n")
    with open(folder / "metrics" / "old_style", "w") as file:
        file.write("1700000000000 0.25\n")  # MLflow before 1.0: no step
    data = read_mlflow_store(store)
    history = data.runs[folder.name].metrics["loss"]
    assert len(history) == 47
    assert 3 not in history.steps and 7 not in history.steps
    by_line = {(p.line, p.file) for p in data.problems}
    rel = path.relative_to(store).as_posix()
    assert by_line == {(4, rel), (8, rel), (10, rel)}
    reasons = " ".join(p.reason for p in data.problems)
    assert "timestamp" in reasons and "not a number" in reasons and "field" in reasons
    old = data.runs[folder.name].metrics["old_style"]
    assert (list(old.steps), list(old.values)) == ([0], [0.25])


def test_missing_meta_unknown_status_bad_utf8_and_deleted_experiment(tmp_path):
    store = copy_store(tmp_path)
    ridge, lasso, cnn = run_folder(store, "ridge"), run_folder(store, "lasso"), run_folder(store, "cnn")
    (ridge / "meta.yaml").unlink()
    replace_line(lasso / "meta.yaml", "status:", "status: 42")
    (cnn / "params" / "epochs").write_bytes(b"\xff\xfe")
    mnist = cnn.parent
    replace_line(store / "0" / "meta.yaml", "lifecycle_stage:", "lifecycle_stage: deleted")
    (store / "0" / "unknown").mkdir()  # inside a deleted experiment: not even looked at
    data = read_mlflow_store(store)
    assert ridge.name not in data.runs
    assert data.runs[lasso.name].status == "UNFINISHED"
    assert "epochs" not in data.runs[cnn.name].params and "batch_size" in data.runs[cnn.name].params
    assert "0" not in data.experiments and mnist.name in data.experiments
    reasons = {p.file: p.reason for p in data.problems}
    assert "no meta.yaml" in reasons[ridge.relative_to(store).as_posix()]
    assert "unknown run status 42" in reasons[(lasso / "meta.yaml").relative_to(store).as_posix()]
    assert "cannot read param 'epochs'" in reasons[(cnn / "params" / "epochs").relative_to(store).as_posix()]
    assert len(data.problems) == 3


def test_experiment_with_bad_meta_is_a_problem(tmp_path):
    store = copy_store(tmp_path)
    (store / "0" / "meta.yaml").write_text("- just\n- a list\n")
    experiment = store / "12345"
    experiment.mkdir()  # no meta.yaml at all
    data = read_mlflow_store(store)
    assert "0" not in data.experiments and "12345" not in data.experiments
    assert {p.file for p in data.problems} == {"0/meta.yaml", "12345"}
    assert len(data.runs) == len(live_runs())


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_unreadable_metric_file_is_a_problem(tmp_path):
    store = copy_store(tmp_path)
    path = run_folder(store, "cnn") / "metrics" / "accuracy"
    path.chmod(0)
    data = read_mlflow_store(store)
    assert any("cannot read metric" in p.reason for p in data.problems)


# ---------------------------------------------------------------- through flowsheet's reader (read_logs, LogReader)


def test_read_logs_and_log_reader_read_a_store(tmp_path):
    from logger.reader import LogReader, read_logs

    store = copy_store(tmp_path)
    now = 4_000_000_000
    assert set(read_logs(store).runs) == set(live_runs())
    reader = LogReader(store)
    first = reader.refresh(now=now)
    assert first.everything and first.runs == set(live_runs()) and reader.data.problems == []
    assert not reader.refresh(now=now)  # nothing changed
    lasso = run_folder(store, "lasso")
    with open(lasso / "metrics" / "loss", "a") as file:
        file.write("1795750746999 0.001 50\n")
    changes = reader.refresh(now=now)
    assert changes.runs == {lasso.name} and changes.experiments == {lasso.parent.name}
    assert reader.data.runs[lasso.name].metrics["loss"].latest == 0.001
    shutil.rmtree(run_folder(store, "ridge"))
    (store / "0" / "meta.yaml").write_text(": :\n  - [")
    changes = reader.refresh(now=now)
    assert len(changes.removed_runs) == 1 and changes.removed_experiments == {"0"}
    assert [p.file for p in changes.problems] == ["0/meta.yaml"]
