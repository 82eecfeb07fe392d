"""`reporter import-mlflow`: what flowsheet's reader reads back equals what the MLflow reader read; twice is once."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from logger import experiments
from logger.mlflow_store import read_mlflow_store
from logger.reader import read_logs

from reporter.cli import main
from reporter.importers.mlflow import import_mlflow, missing_lines, run_events

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "mlruns"
NOW = 4_000_000_000  # seconds: long after the fixture, so both readers call the RUNNING run UNFINISHED


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def values(history) -> list:
    return ["nan" if math.isnan(v) else v for v in history.values]


def assert_same_runs(source, imported):
    """Everything the MLflow reader read is what flowsheet's reader reads from the import."""
    names = {e.experiment_id: e.name for e in source.experiments.values()}
    imported_names = {e.experiment_id: e.name for e in imported.experiments.values()}
    assert sorted(names.values()) == sorted(imported_names.values())
    assert set(imported.runs) == set(source.runs)
    for run_id, run in source.runs.items():
        got = imported.runs[run_id]
        assert got.source == "flowsheet"
        assert imported_names[got.experiment_id] == names[run.experiment_id]
        assert got.experiment_id == experiments.experiment_id_for(names[run.experiment_id])
        for attribute in ("name", "status", "start_time", "end_time", "parent_run_id", "description",
                          "params", "tags", "system"):
            assert getattr(got, attribute) == getattr(run, attribute), (run.name, attribute)
        assert set(got.metrics) == set(run.metrics)
        for key, history in run.metrics.items():
            other = got.metrics[key]
            assert list(other.steps) == list(history.steps)
            assert list(other.timestamps) == list(history.timestamps)
            assert values(other) == values(history)
        assert [(a.path, a.size) for a in got.artifacts] == [(a.path, a.size) for a in run.artifacts]
    for experiment in source.experiments.values():
        match = next(e for e in imported.experiments.values() if e.name == experiment.name)
        assert match.tags == experiment.tags
        assert match.created == experiment.created


@pytest.fixture
def store(tmp_path):
    # A copy, so hard-linked artifacts share the log dir's filesystem and tests never touch the fixture.
    return Path(shutil.copytree(FIXTURE, tmp_path / "mlruns"))


def test_import_reads_back_the_same(store, tmp_path):
    out = tmp_path / "runs"
    result = import_mlflow(store, out)
    source = read_mlflow_store(store, now=NOW)
    assert result.problems == []
    assert result.runs_created == len(source.runs) and result.experiments == len(source.experiments)
    imported = read_logs(out, running_window=1)
    assert imported.problems == []
    assert_same_runs(source, imported)
    lasso = next(r for r in imported.runs.values() if r.name == "lasso")
    assert math.isnan(lasso.metrics["val/rmse"].values[10])
    line = next(text for text in (Path(lasso.path) / "run.jsonl").read_bytes().splitlines()
                if b'"step":10' in text and b"val/rmse" in text)
    assert orjson.loads(line)["value"] == "NaN"  # strict JSON, as FORMAT.md says


def test_artifacts_have_the_same_bytes_linked_or_copied(store, tmp_path):
    run = next(r for r in read_mlflow_store(store).runs.values() if r.artifacts)
    linked = import_mlflow(store, tmp_path / "linked")
    copied = import_mlflow(store, tmp_path / "copied", link=False)
    assert (linked.artifacts_linked, copied.artifacts_copied, copied.artifacts_linked) == (len(run.artifacts), len(run.artifacts), 0)
    for artifact in run.artifacts:
        source = Path(run.path) / "artifacts" / artifact.path
        for root, same_inode in ((tmp_path / "linked", True), (tmp_path / "copied", False)):
            [target] = root.glob(f"*/{run.run_id}/artifacts/{artifact.path}")
            assert target.read_bytes() == source.read_bytes()
            assert (target.stat().st_ino == source.stat().st_ino) is same_inode


def test_importing_twice_writes_nothing_new(store, tmp_path):
    out = tmp_path / "runs"
    import_mlflow(store, out)
    before = snapshot(out)
    again = import_mlflow(store, out, link=False)
    assert snapshot(out) == before
    assert again.lines_written == 0 and again.runs_created == 0 and again.experiments_created == 0
    assert again.runs_unchanged == len(read_mlflow_store(store).runs)
    assert again.artifacts_copied == 0 and again.artifacts_unchanged > 0
    lines = [line for path in out.rglob("*.jsonl") for line in path.read_bytes().splitlines()]
    assert len(lines) == len(set(lines))  # the fixture has no repeated point, so no line twice


def test_reimport_appends_only_what_mlflow_logged_since(store, tmp_path):
    out = tmp_path / "runs"
    import_mlflow(store, out)
    lasso = next(r for r in read_mlflow_store(store).runs.values() if r.name == "lasso")
    with open(Path(lasso.path) / "metrics" / "loss", "a") as file:
        file.write("1795750746999 0.001 50\n")
    (Path(lasso.path) / "tags" / "reviewed").write_text("yes")
    [run_file] = out.glob(f"*/{lasso.run_id}/run.jsonl")
    before = run_file.read_bytes()
    result = import_mlflow(store, out)
    after = run_file.read_bytes()
    assert after.startswith(before)  # append-only
    added = [orjson.loads(line) for line in after[len(before):].splitlines()]
    assert sorted((e["kind"], e["key"]) for e in added) == [("metric", "loss"), ("tag", "reviewed")]
    assert (result.runs_updated, result.lines_written) == (1, 2)
    again = read_logs(out)
    assert again.runs[lasso.run_id].metrics["loss"].latest == 0.001
    assert again.runs[lasso.run_id].status == "FINISHED"  # the new lines follow the end line; status holds


def test_merges_with_a_native_experiment_of_the_same_name(store, tmp_path):
    out = tmp_path / "runs"
    native = experiments.create(out, "houses", tags={"team": "pricing"})
    import_mlflow(store, out)
    lines = (Path(native.path) / "experiment.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line)["kind"] for line in lines].count("experiment") == 1
    data = read_logs(out)
    houses_runs = [r for r in data.runs.values() if r.experiment_id == native.experiment_id]
    assert {r.name for r in houses_runs} >= {"grid-search", "lasso", "ridge"}
    assert data.experiments[native.experiment_id].tags["mlflow.note.content"].startswith("House prices")


def test_merges_into_a_hand_made_folder_holding_that_name(store, tmp_path):
    out = tmp_path / "runs"
    (out / "my-mnist").mkdir(parents=True)
    (out / "my-mnist" / "experiment.jsonl").write_text(
        '{"v":1,"kind":"experiment","t":1,"experiment_id":"my-mnist","name":"mnist","artifact_location":null}\n')
    import_mlflow(store, out)
    assert not (out / experiments.experiment_id_for("mnist")).exists()
    data = read_logs(out)
    assert {r.name for r in data.runs.values() if r.experiment_id == "my-mnist"} == {"cnn", "still-running"}


def test_values_flowsheet_cannot_hold_are_reported_not_imported(store, tmp_path):
    lasso = next(r for r in read_mlflow_store(store).runs.values() if r.name == "lasso")
    (Path(lasso.path) / "tags" / "huge").write_text("x" * 7000)
    result = import_mlflow(store, tmp_path / "runs")
    [problem] = result.problems
    assert "huge" in problem.reason and "6000" in problem.reason
    assert problem.file == Path(lasso.path).relative_to(store).as_posix()
    data = read_logs(tmp_path / "runs")
    assert data.problems == [] and "huge" not in data.runs[lasso.run_id].tags and "model" in data.runs[lasso.run_id].params


def test_torn_last_line_is_closed_before_appending(store, tmp_path):
    out = tmp_path / "runs"
    import_mlflow(store, out)
    lasso = next(r for r in read_mlflow_store(store).runs.values() if r.name == "lasso")
    [run_file] = out.glob(f"*/{lasso.run_id}/run.jsonl")
    with open(run_file, "ab") as file:
        file.write(b'{"v":1,"kind":"tag"')  # a writer died mid-line
    (Path(lasso.path) / "tags" / "late").write_text("1")
    import_mlflow(store, out)
    data = read_logs(out)
    assert data.runs[lasso.run_id].tags["late"] == "1"
    assert len(data.problems) == 1 and "JSON" in data.problems[0].reason


def test_pure_helpers():
    assert missing_lines(b"a\nb\na\n", [b"a\n", b"a\n", b"a\n", b"c\n"]) == [b"a\n", b"c\n"]
    run = read_mlflow_store(FIXTURE).runs
    failed = next(r for r in run.values() if r.status == "FAILED")
    start, body = run_events(failed, "houses-x")
    assert start["kind"] == "start" and start["t"] == failed.start_time and body[-1] == {
        "v": 1, "kind": "end", "t": failed.end_time, "status": "FAILED"}
    assert [e["t"] for e in body[:-1]] == sorted(e["t"] for e in body[:-1])
    assert {"Infinity"} <= {e["value"] for e in body if e["kind"] == "metric" and isinstance(e["value"], str)}


# ---------------------------------------------------------------- the command


def test_cli_imports_and_summarises(store, tmp_path):
    out = tmp_path / "runs"
    runner = CliRunner()
    first = runner.invoke(main, ["import-mlflow", str(store), "-o", str(out)])
    assert first.exit_code == 0, first.output
    runs = len(read_mlflow_store(store).runs)
    assert f"{runs} run(s): {runs} new" in first.output and first.output.count("\n") == 1
    second = runner.invoke(main, ["import-mlflow", str(store), "-o", str(out), "--copy"])
    assert second.exit_code == 0 and "0 line(s) written" in second.output and f"{runs} unchanged" in second.output


def test_cli_uses_flowsheet_dir_by_default(store, tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWSHEET_DIR", str(tmp_path / "env-runs"))
    result = CliRunner().invoke(main, ["import-mlflow", str(store)])
    assert result.exit_code == 0, result.output
    assert any((tmp_path / "env-runs").glob("*/*/run.jsonl"))


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "missing", "no such directory"),
    (lambda tmp: tmp, "not an MLflow file store"),
])
def test_cli_errors_are_one_line(tmp_path, make, message):
    result = CliRunner().invoke(main, ["import-mlflow", str(make(tmp_path)), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1 and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_log_dir_inside_the_store(store):
    result = CliRunner().invoke(main, ["import-mlflow", str(store), "-o", str(store / "runs")])
    assert result.exit_code == 2 and "must not be inside" in result.output
    assert not (store / "runs").exists()


def test_cli_warns_about_bad_files_and_still_imports(store, tmp_path):
    ridge = next(r for r in read_mlflow_store(store).runs.values() if r.name == "ridge")
    (Path(ridge.path) / "meta.yaml").write_text("status: [\n")
    result = CliRunner().invoke(main, ["import-mlflow", str(store), "-o", str(tmp_path / "runs")])
    assert result.exit_code == 0
    assert "warning:" in result.output and "meta.yaml" in result.output and "malformed YAML" in result.output
    assert ridge.run_id not in read_logs(tmp_path / "runs").runs
    assert os.path.isdir(tmp_path / "runs")
