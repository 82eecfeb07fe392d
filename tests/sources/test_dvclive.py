"""dvclive folders read as runs: the real dvclive's output (tests/fixtures/make_dvclive.py), and what a
folder being written, cut short or damaged looks like."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import pytest
from opened_files import opened_files

from logger.foreign import MAX_LEAVES
from logger.logtree import list_folder
from logger.reader import LogReader, read_logs
from logger.sources.dvclive import DvcliveSource
from logger.sources.units import run_id_for

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "dvclive"


@pytest.fixture
def logs(tmp_path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "logs"))


def only_run(data):
    [run] = data.runs.values()
    return run


def test_the_real_dvclive_folder_is_one_run_named_after_its_project(logs):
    reader = LogReader(logs)
    reader.refresh()
    run = only_run(reader.data)
    folder = logs / "project" / "dvclive"
    assert (run.name, run.source, run.path) == ("project", "dvclive", str(folder))
    assert run.run_id == run_id_for("dvclive", "project/dvclive")
    assert reader.data.experiments[run.experiment_id].name == "project"
    assert reader.runs_by_source() == {"dvclive": 1}
    assert reader.data.problems == []


def test_metrics_come_from_the_histories_with_steps_and_times(logs):
    run = only_run(read_logs(logs))
    assert list(run.metrics["loss"].steps) == [0, 1, 2]
    assert list(run.metrics["loss"].values) == [1.0, 0.5, pytest.approx(1 / 3)]
    acc = run.metrics["train/acc"]  # nested name: plots/metrics/train/acc.tsv, logged with timestamp=True
    rows = (logs / "project/dvclive/plots/metrics/train/acc.tsv").read_text().splitlines()[1:]
    assert list(acc.timestamps) == [int(row.split("\t")[0]) for row in rows]
    assert (run.start_time, run.last_time) == (acc.timestamps[0], acc.timestamps[-1])
    assert list(run.metrics["loss"].timestamps) == [0, 0, 0]  # logged without a timestamp
    assert math.isnan(run.metrics["grad_norm"].values[1])  # dvclive writes NaN as "nan"


def test_a_metric_only_in_the_summary_is_one_point_at_its_step_and_text_is_a_tag(logs):
    run = only_run(read_logs(logs))
    final = run.metrics["final_score"]
    assert (list(final.steps), list(final.values)) == ([2], [0.875])
    assert run.tags == {"phase": "train"}
    assert "step" not in run.metrics


def test_params_are_flattened_with_dots_and_keep_html_and_control_characters(logs):
    run = only_run(read_logs(logs))
    assert run.params == {"lr": 0.01, "epochs": 3, "model.layers": 2, "model.activation": "relu",
                          "model.dropout.p": 0.1, "tags": '["small","test"]',
                          "note": "<script>alert(1)</script>\x07", "seed": 42}


def test_images_and_the_report_are_artifacts_and_the_files_read_into_the_run_are_not(logs):
    run = only_run(read_logs(logs))
    paths = {artifact.path for artifact in run.artifacts}
    assert {"plots/images/last.png", "plots/images/samples/0.png", "plots/images/samples/2.png",
            "report.md"} <= paths
    assert not paths & {"metrics.json", "params.yaml", "plots/metrics/loss.tsv"}
    assert run.artifacts_dir == str(logs / "project" / "dvclive")
    sample = next(artifact for artifact in run.artifacts if artifact.path == "plots/images/samples/0.png")
    assert sample.size == (logs / "project/dvclive/plots/images/samples/0.png").stat().st_size


def test_with_no_end_written_the_status_follows_the_last_write(logs):
    reader = LogReader(logs, running_window=60)
    reader.refresh(now=0)
    last = only_run(reader.data).last_time / 1000
    reader.refresh(now=last + 10)
    assert only_run(reader.data).status == "RUNNING"
    changes = reader.refresh(now=last + 3600)
    assert only_run(reader.data).status == "FINISHED"
    assert changes.runs == {only_run(reader.data).run_id}


# ---------------------------------------------------------------- what is claimed


def claims(folder: Path) -> bool:
    return DvcliveSource.claim(list_folder(folder)) is not None


def test_a_folder_with_params_yaml_alone_is_not_claimed(tmp_path):
    (tmp_path / "params.yaml").write_text("lr: 0.1\n")
    (tmp_path / "metrics.json").write_text('{"acc": 0.5}\n')
    assert not claims(tmp_path)
    assert read_logs(tmp_path).runs == {}


def test_a_dvc_project_is_not_taken_for_its_dvclive_folder(logs):
    project = logs / "project"
    assert {"dvc.yaml", "params.yaml"} <= set(os.listdir(project))
    assert not claims(project)
    assert claims(project / "dvclive")


def test_the_default_name_or_metric_histories_make_a_dvclive_folder(tmp_path):
    named = tmp_path / "a" / "dvclive"
    named.mkdir(parents=True)
    (named / "params.yaml").write_text("lr: 0.1\n")
    renamed = tmp_path / "b" / "results"
    (renamed / "plots" / "metrics").mkdir(parents=True)
    (renamed / "plots" / "metrics" / "loss.tsv").write_text("step\tloss\n0\t1.5\n")
    other = tmp_path / "c"
    (other / "plots" / "metrics").mkdir(parents=True)  # an empty plots/metrics says nothing
    assert claims(named) and claims(renamed) and not claims(other)
    runs = {run.name: run for run in read_logs(tmp_path).runs.values()}
    assert set(runs) == {"a", "results"}
    assert runs["a"].params == {"lr": 0.1}
    assert list(runs["results"].metrics["loss"].values) == [1.5]


def test_nothing_under_a_dvclive_folder_is_anyone_elses(logs):
    (logs / "project/dvclive/artifacts").mkdir()
    (logs / "project/dvclive/artifacts/train.jsonl").write_text('{"loss": 1}\n')
    run = only_run(read_logs(logs))
    assert "artifacts/train.jsonl" in {artifact.path for artifact in run.artifacts}


# ---------------------------------------------------------------- being written, torn, corrupt


def test_a_row_being_appended_is_read_once_its_line_is_complete(logs):
    loss = logs / "project/dvclive/plots/metrics/loss.tsv"
    reader = LogReader(logs)
    reader.refresh()
    with open(loss, "a") as file:
        file.write("3\t0.2")  # the newline is not written yet
    reader.refresh()
    assert list(only_run(reader.data).metrics["loss"].steps) == [0, 1, 2]
    assert reader.data.problems == []
    with open(loss, "a") as file:
        file.write("5\n")
    changes = reader.refresh()
    assert list(only_run(reader.data).metrics["loss"].values)[-1] == 0.25
    assert changes.runs == {only_run(reader.data).run_id}


def test_a_refresh_reads_again_only_the_folder_that_changed(logs):
    shutil.copytree(logs / "project", logs / "other")
    reader = LogReader(logs)
    reader.refresh()
    assert len(reader.data.runs) == 2
    with opened_files() as opened:
        assert not reader.refresh()
    assert [path for path in opened if path.startswith(str(logs))] == []
    with open(logs / "other/dvclive/plots/metrics/loss.tsv", "a") as file:
        file.write("3\t0.125\n")
    with opened_files() as opened:
        changes = reader.refresh()
    assert opened and all(path.startswith(str(logs / "other")) for path in opened if path.startswith(str(logs)))
    assert changes.runs == {run_id_for("dvclive", "other/dvclive")}


def test_bad_rows_are_named_with_their_line_and_the_rest_is_read(logs):
    loss = logs / "project/dvclive/plots/metrics/loss.tsv"
    with open(loss, "ab") as file:
        file.write(b"\x00\xff\xfegarbage\n3\t0.2\textra\nfour\t0.1\n5\t0.05\n6\tnot-a-number\n")
    data = read_logs(logs)
    assert [(p.file, p.line) for p in data.problems] == [("project/dvclive/plots/metrics/loss.tsv", 5),
                                                         ("project/dvclive/plots/metrics/loss.tsv", 6),
                                                         ("project/dvclive/plots/metrics/loss.tsv", 7)]
    loss_history = only_run(data).metrics["loss"]
    assert list(loss_history.steps) == [0, 1, 2, 5]  # a text value is dvclive's, not a problem: no point


def test_a_history_without_its_header_is_a_problem_and_its_latest_value_comes_from_the_summary(logs):
    (logs / "project/dvclive/plots/metrics/loss.tsv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    data = read_logs(logs)
    assert [(p.file, p.line) for p in data.problems] == [("project/dvclive/plots/metrics/loss.tsv", 1)]
    run = only_run(data)
    assert len(run.metrics["train/acc"]) == 3
    assert list(run.metrics["loss"].steps) == [2]  # what the summary holds: the latest value


def test_a_summary_or_params_file_that_is_damaged_is_a_problem_and_the_rest_reads(logs):
    (logs / "project/dvclive/metrics.json").write_text('{"loss": 0.3, "fin')  # being rewritten
    (logs / "project/dvclive/params.yaml").write_text("lr: 0.1\nmodel: [unclosed\n")
    data = read_logs(logs)
    assert {p.file for p in data.problems} == {"project/dvclive/metrics.json", "project/dvclive/params.yaml"}
    assert next(p for p in data.problems if p.file.endswith("params.yaml")).line == 3
    run = only_run(data)
    assert run.params == {} and "final_score" not in run.metrics and len(run.metrics["loss"]) == 3


def test_yaml_that_is_not_dvclives_is_refused_without_building_it(logs):
    params = logs / "project/dvclive/params.yaml"
    params.write_text("x: !!python/object/apply:os.system ['echo hi']\n")
    data = read_logs(logs)
    assert [p.file for p in data.problems] == ["project/dvclive/params.yaml"]
    # aliases that would expand to 2**40 values, and a mapping holding itself
    bomb = "l0: &l0 {v: 1}\n" + "".join(f"l{i}: &l{i} {{a: *l{i - 1}, b: *l{i - 1}}}\n" for i in range(1, 41))
    params.write_text(bomb + "self: &s {me: *s}\n")
    data = read_logs(logs)
    assert len(only_run(data).params) == MAX_LEAVES
    assert f"more than {MAX_LEAVES} values: the rest left out" in {p.reason for p in data.problems}


def test_links_out_of_the_log_directory_are_neither_read_nor_listed(logs, tmp_path):
    secret = tmp_path / "secret.tsv"
    secret.write_text("step\tsecret\n0\t42\n")
    folder = logs / "project/dvclive"
    (folder / "plots/metrics/secret.tsv").symlink_to(secret)
    (folder / "plots/images/outside.png").symlink_to(secret)
    data = read_logs(logs)
    run = only_run(data)
    assert "secret" not in run.metrics
    assert "plots/images/outside.png" not in {artifact.path for artifact in run.artifacts}
    assert {p.file for p in data.problems} == {"project/dvclive/plots/metrics/secret.tsv",
                                               "project/dvclive/plots/images/outside.png"}


def test_the_dvclive_folder_itself_may_be_the_log_directory(logs):
    data = read_logs(logs / "project" / "dvclive")
    run = only_run(data)
    assert (run.name, len(run.metrics["loss"])) == ("project", 3)
    assert data.experiments[run.experiment_id].path == str(logs / "project" / "dvclive")
