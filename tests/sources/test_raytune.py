"""Ray Tune trial folders read as runs: the hand-written experiment of tests/fixtures/make_raytune.py (Ray's
documented layout), and result.json files being appended to, cut short or damaged."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from opened_files import opened_files

import logger.sources.raytune as raytune
from logger.logtree import find_units
from logger.reader import LogReader, read_logs
from logger.sources import Claim, Listing, Source, register, registered, unregister
from logger.sources.units import run_id_for

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "raytune"
FINISHED_TRIAL = "tune_demo/train_fn_4d7a3_00000_0_lr=0.0100_2024-05-01_10-00-00"
FAILED_TRIAL = "tune_demo/train_fn_4d7a3_00001_1_lr=0.1000_2024-05-01_10-00-00"
LATER = 2_000_000_000.0  # seconds: long after every time in the fixture


@pytest.fixture
def logs(tmp_path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "logs"))


def runs_by_name(data) -> dict:
    return {run.name: run for run in data.runs.values()}


def read(logs: Path, now: float = LATER):
    reader = LogReader(logs)
    reader.refresh(now=now)
    return reader.data


def result_lines(trial: Path) -> list[bytes]:
    return (trial / "result.json").read_bytes().splitlines(keepends=True)


def test_each_trial_folder_is_one_run_named_by_trainable_and_trial_id(logs):
    reader = LogReader(logs)
    reader.refresh(now=LATER)
    runs = runs_by_name(reader.data)
    assert set(runs) == {"train_fn_4d7a3_00000", "train_fn_4d7a3_00001"}
    finished = runs["train_fn_4d7a3_00000"]
    assert finished.run_id == run_id_for("raytune", FINISHED_TRIAL)
    assert (finished.source, finished.path) == ("raytune", str(logs / FINISHED_TRIAL))
    assert reader.data.experiments[finished.experiment_id].name == "tune_demo"
    assert runs["train_fn_4d7a3_00001"].experiment_id == finished.experiment_id
    assert reader.runs_by_source() == {"Ray Tune": 2}
    assert reader.data.problems == []


def test_numbers_are_metrics_at_the_training_iteration_and_the_bookkeeping_is_tags(logs):
    run = runs_by_name(read(logs))["train_fn_4d7a3_00000"]
    assert set(run.metrics) == {"loss", "val/loss", "val/acc", "time_this_iter_s", "time_total_s",
                                "time_since_restore", "iterations_since_restore"}
    assert list(run.metrics["val/acc"].steps) == [1, 2, 3]
    assert list(run.metrics["val/acc"].values) == [0.6, 0.7, 0.8]
    lines = [json.loads(line) for line in result_lines(logs / FINISHED_TRIAL)]
    assert list(run.metrics["loss"].timestamps) == [line["timestamp"] * 1000 for line in lines]
    assert run.tags == {"trial_id": "4d7a3_00000", "hostname": "worker-1", "node_ip": "10.0.0.5", "pid": 4101}
    assert run.last_time == lines[-1]["timestamp"] * 1000
    assert run.start_time == lines[0]["timestamp"] * 1000 - 250  # its first result came 0.25 s in


def test_params_come_from_params_json_flattened_as_ray_names_them(logs):
    run = runs_by_name(read(logs))["train_fn_4d7a3_00000"]
    assert run.params == {"lr": 0.01, "model/act": "relu", "model/layers": 2, "sizes": "[16,32]",
                          "note": "<b>x</b>\x07"}


def test_nan_and_infinity_as_pythons_json_writes_them_are_values(logs):
    run = runs_by_name(read(logs))["train_fn_4d7a3_00001"]
    assert math.isnan(run.metrics["loss"].values[0]) and run.metrics["val/loss"].values[0] == math.inf


def test_done_means_finished_and_error_txt_after_the_last_result_means_failed(logs):
    runs = runs_by_name(read(logs))
    assert runs["train_fn_4d7a3_00000"].status == "FINISHED"
    assert runs["train_fn_4d7a3_00000"].end_time == runs["train_fn_4d7a3_00000"].last_time
    assert runs["train_fn_4d7a3_00001"].status == "FAILED"


def test_a_failure_ray_retried_is_not_the_end(logs):
    trial = logs / FAILED_TRIAL
    later = json.loads(result_lines(trial)[-1])
    later.update(training_iteration=3, date="2024-05-01_10-00-09", timestamp=later["timestamp"] + 8)
    with open(trial / "result.json", "a") as file:
        file.write(json.dumps(later) + "\n")
    last = later["timestamp"]
    reader = LogReader(logs, running_window=60)
    reader.refresh(now=last + 10)
    assert runs_by_name(reader.data)["train_fn_4d7a3_00001"].status == "RUNNING"
    reader.refresh(now=last + 3600)
    assert runs_by_name(reader.data)["train_fn_4d7a3_00001"].status == "FINISHED"


def test_the_experiment_files_and_pickles_are_never_opened(logs):
    with opened_files() as opened:
        read(logs)
    assert not [path for path in opened if path.endswith((".pkl", ".csv")) or "experiment_state" in path
                or "basic-variant-state" in path or "tfevents" in path]


class EventFilesSource(Source):
    """Stands in for a TensorBoard source: every events.out.tfevents.* file is a run of its own."""

    name = "events-stand-in"
    order = 50

    @classmethod
    def claim(cls, listing: Listing) -> Claim | None:
        found = [listing.path / name for name in listing.regular if name.startswith("events.out.tfevents.")]
        return Claim(found) if found else None


def test_the_event_files_beside_a_trials_results_are_not_runs_of_their_own(logs):
    (logs / FINISHED_TRIAL / "events.out.tfevents.x").write_bytes(b"")
    (logs / "loose").mkdir()
    (logs / "loose" / "events.out.tfevents.y").write_bytes(b"")
    register(EventFilesSource)
    try:
        units = find_units(logs, registered())
    finally:
        unregister(EventFilesSource)
    assert units[EventFilesSource] == [logs / "loose" / "events.out.tfevents.y"]
    assert sorted(units[raytune.RayTuneSource]) == [logs / FINISHED_TRIAL, logs / FAILED_TRIAL]
    assert "events.out.tfevents.x" in {a.path for a in runs_by_name(read(logs))["train_fn_4d7a3_00000"].artifacts}


def test_a_folder_without_params_json_is_not_a_trial(tmp_path):
    (tmp_path / "result.json").write_text('{"loss": 1, "training_iteration": 1}\n')
    assert read_logs(tmp_path).runs == {}


# ---------------------------------------------------------------- being written, torn, corrupt


def test_a_torn_last_line_waits_and_appended_lines_are_read_without_reading_the_rest_again(logs, monkeypatch):
    trial = logs / FINISHED_TRIAL
    lines = result_lines(trial)
    (trial / "result.json").write_bytes(lines[0] + lines[1][:40])
    reader = LogReader(logs)
    reader.refresh(now=LATER)
    run_id = run_id_for("raytune", FINISHED_TRIAL)
    loss = reader.data.runs[run_id].metrics["loss"]
    assert list(loss.steps) == [1] and reader.data.problems == []
    assert reader.data.runs[run_id].status == "FINISHED"  # nothing said done: left to time, long past

    parsed = []
    monkeypatch.setattr(raytune, "lenient_loads", lambda line: parsed.append(line) or json.loads(line))
    with open(trial / "result.json", "ab") as file:
        file.write(lines[1][40:] + lines[2])
    with opened_files() as opened:
        changes = reader.refresh(now=LATER)
    assert parsed == [lines[1].rstrip(b"\n"), lines[2].rstrip(b"\n")]  # the first line is not parsed again
    assert not [path for path in opened if path.startswith(str(logs / FAILED_TRIAL))]
    assert changes.runs == {run_id}
    assert reader.data.runs[run_id].metrics["loss"] is loss and list(loss.steps) == [1, 2, 3]
    assert reader.data.runs[run_id].status == "FINISHED"


def test_an_unchanged_experiment_is_not_read_again(logs):
    reader = LogReader(logs)
    reader.refresh(now=LATER)
    with opened_files() as opened:
        assert not reader.refresh(now=LATER)
    assert [path for path in opened if path.startswith(str(logs))] == []


def test_a_result_file_written_anew_is_read_again_whole(logs):
    trial = logs / FINISHED_TRIAL
    reader = LogReader(logs)
    reader.refresh(now=LATER)
    first = result_lines(trial)[0]
    replaced = trial / "result.json.new"
    replaced.write_bytes(first.replace(b'"loss": 1.0', b'"loss": 7.0'))
    replaced.replace(trial / "result.json")
    reader.refresh(now=LATER)
    loss = reader.data.runs[run_id_for("raytune", FINISHED_TRIAL)].metrics["loss"]
    assert (list(loss.steps), list(loss.values)) == ([1], [7.0])


def test_a_bad_line_is_named_by_its_number_and_the_lines_after_it_are_read(logs):
    trial = logs / FINISHED_TRIAL
    lines = result_lines(trial)
    (trial / "result.json").write_bytes(lines[0] + b"\xff\xfe{garbage\n" + b"[1, 2]\n" + lines[1] + lines[2])
    data = read(logs)
    assert [(p.file, p.line) for p in data.problems] == [(f"{FINISHED_TRIAL}/result.json", 2),
                                                         (f"{FINISHED_TRIAL}/result.json", 3)]
    assert list(runs_by_name(data)["train_fn_4d7a3_00000"].metrics["loss"].steps) == [1, 2, 3]


def test_unreadable_params_json_is_a_problem_and_the_results_config_stands_in(logs):
    (logs / FINISHED_TRIAL / "params.json").write_text('{"lr": ')
    data = read(logs)
    assert [p.file for p in data.problems] == [f"{FINISHED_TRIAL}/params.json"]
    assert runs_by_name(data)["train_fn_4d7a3_00000"].params["model/layers"] == 2


def test_html_and_control_characters_in_keys_and_values_are_kept_as_data(logs):
    trial = logs / FINISHED_TRIAL
    line = json.loads(result_lines(trial)[-1])
    line.update({"<img src=x onerror=alert(1)>": 0.5, "hostname": "h\x1b[31m<script>", "training_iteration": 4})
    with open(trial / "result.json", "a") as file:
        file.write(json.dumps(line) + "\n")
    run = runs_by_name(read(logs))["train_fn_4d7a3_00000"]
    assert list(run.metrics["<img src=x onerror=alert(1)>"].values) == [0.5]
    assert run.tags["hostname"] == "h\x1b[31m<script>"


def test_only_numbers_in_a_result_are_metrics_and_the_rest_is_passed_over_quietly(logs):
    trial = logs / FINISHED_TRIAL
    line = json.loads(result_lines(trial)[-1])
    line.update({"training_iteration": 4, "notes": "n" * 10_000, "confusion": [[1, 2]] * 5_000, "flag": True,
                 "val": {"acc": 0.9, "report": "r" * 10_000}, "hostname": "h" * 10_000})
    with open(trial / "result.json", "a") as file:
        file.write(json.dumps(line) + "\n")
    data = read(logs)
    run = runs_by_name(data)["train_fn_4d7a3_00000"]
    assert list(run.metrics["val/acc"].values) == [0.6, 0.7, 0.8, 0.9]
    assert not {"notes", "confusion", "flag", "val/report"} & set(run.metrics)
    assert run.tags["hostname"] == "worker-1"  # a tag too long to keep leaves the last one standing
    assert [(p.line, p.reason) for p in data.problems] == [(4, "'hostname' is longer than 6000 characters: left out")]


def test_a_trial_folder_itself_may_be_the_log_directory(logs):
    data = read_logs(logs / FINISHED_TRIAL)
    [run] = data.runs.values()
    assert (run.name, run.status, data.problems) == ("train_fn_4d7a3_00000", "FINISHED", [])


def test_lines_are_whole_across_chunks_and_an_overlong_one_is_skipped_not_held(monkeypatch):
    import io

    import logger.foreign as foreign

    monkeypatch.setattr(foreign, "CHUNK", 4)
    data = b"ab\n" + b"x" * 20 + b"\nlong-ish\n\ncd\ntorn"
    lines = foreign.Lines(io.BytesIO(data), max_line=8)
    assert list(lines) == [(1, b"ab"), (2, None), (3, b"long-ish"), (4, b""), (5, b"cd")]
    assert lines.offset == len(data) - len(b"torn")
