"""Hugging Face Trainer output folders (logger/sources/huggingface.py), read from the hand-written fixture
tests/fixtures/huggingface (made by tests/fixtures/make_huggingface.py) and from files these tests write."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import pytest

import logger.sources.huggingface as huggingface
from logger.reader import LogReader, read_logs
from logger.sources.huggingface import HuggingFaceSource
from logger.sources.units import run_id_for

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "huggingface"
T0 = 1_700_000_000_000  # ms: the fixture's files are given times from here on, one second apart


def _copy(tmp_path: Path, *names: str) -> Path:
    root = tmp_path / "logs"
    for name in names or [entry.name for entry in FIXTURE.iterdir()]:
        shutil.copytree(FIXTURE / name, root / name)
    for index, path in enumerate(sorted(root.rglob("*"), key=lambda p: (len(p.parts), p.as_posix()))):
        if path.is_file():
            os.utime(path, ns=((T0 + index * 1000) * 1_000_000,) * 2)
    return root


def _mtime_ms(path: Path) -> int:
    return path.stat().st_mtime_ns // 1_000_000


def _run(reader: LogReader, rel: str):
    return reader.data.runs[run_id_for("huggingface", rel)]


def _points(state_file: Path) -> dict[str, list[tuple[int, float]]]:
    """What the log history holds, read the plain way: every key but step, at the entry's step."""
    points: dict[str, list[tuple[int, float]]] = {}
    for entry in json.loads(state_file.read_text())["log_history"]:
        for key, value in entry.items():
            if key != "step":
                points.setdefault(key, []).append((entry["step"], value))
    return points


def _metric_points(run) -> dict[str, list[tuple[int, float]]]:
    return {key: list(zip(history.steps, history.values)) for key, history in run.metrics.items()}


def _same(left: dict, right: dict) -> bool:
    """Equal, NaN equal to NaN (the fixture logs a NaN grad_norm)."""
    def key(points):
        return [(step, "nan" if math.isnan(value) else value) for step, value in points]
    return {k: key(v) for k, v in left.items()} == {k: key(v) for k, v in right.items()}


# ---------------------------------------------------------------- the fixture


def test_every_output_folder_is_one_run_and_nothing_inside_is_read_as_another(tmp_path):
    root = _copy(tmp_path)
    (root / "bert-finetune" / "runs" / "extra.jsonl").write_text('{"loss": 1.0}\n')  # a plain log, if walked
    reader = LogReader(root)
    reader.refresh(now=T0 / 1000)
    assert sorted(run.name for run in reader.data.runs.values()) == ["bert-finetune", "gpt2-running", "run-0", "run-1"]
    assert reader.runs_by_source() == {"Hugging Face Trainer": 4}
    assert reader.data.problems == []
    experiments = {run.name: reader.data.experiments[run.experiment_id].name for run in reader.data.runs.values()}
    assert experiments == {"bert-finetune": "logs", "gpt2-running": "logs", "run-0": "search",
                           "run-1": "search"}


def test_a_finished_run_reads_the_output_folders_own_state(tmp_path):
    root = _copy(tmp_path, "bert-finetune")
    folder = root / "bert-finetune"
    reader = LogReader(root)
    reader.refresh(now=T0 / 1000 + 10**6)
    run = _run(reader, "bert-finetune")
    state = json.loads((folder / "trainer_state.json").read_text())
    assert run.source == "huggingface" and run.path == str(folder)
    assert _same(_metric_points(run), _points(folder / "trainer_state.json"))
    assert math.isnan(run.metrics["grad_norm"].values[2])  # the Trainer writes NaN, and it stays one
    assert list(run.metrics["eval_loss"].steps) == [4, 8] and list(run.metrics["train_runtime"].steps) == [8]
    assert {key: run.params[key] for key in ("global_step", "max_steps", "num_train_epochs", "train_batch_size",
                                             "logging_steps", "eval_steps", "save_steps", "total_flos")} == \
        {key: state[key] for key in ("global_step", "max_steps", "num_train_epochs", "train_batch_size",
                                     "logging_steps", "eval_steps", "save_steps", "total_flos")}
    assert run.tags == {"best_metric": state["best_metric"], "best_model_checkpoint": "bert-finetune/checkpoint-8",
                        "best_global_step": 8, "trainer_state": "trainer_state.json"}
    assert run.params["model.architectures"] == '["BertForSequenceClassification"]'
    assert run.params["model.model_type"] == "bert" and run.params["model.hidden_size"] == 32
    assert "model.id2label" not in run.params and "model.classifier_dropout" not in run.params  # nested, null
    assert run.status == "FINISHED"
    written = _mtime_ms(folder / "trainer_state.json")
    assert run.end_time == run.last_time == written
    assert set(run.metrics["loss"].timestamps) == {written}
    assert run.start_time == min(_mtime_ms(path) for path in folder.glob("**/trainer_state.json"))


def test_a_run_still_training_is_read_from_its_highest_checkpoint(tmp_path):
    root = _copy(tmp_path, "gpt2-running")
    newest = root / "gpt2-running" / "checkpoint-4" / "trainer_state.json"
    reader = LogReader(root)
    reader.refresh(now=_mtime_ms(newest) / 1000 + 5)
    run = _run(reader, "gpt2-running")
    assert run.tags["trainer_state"] == "checkpoint-4/trainer_state.json"
    assert list(run.metrics["loss"].steps) == [1, 2, 3, 4]
    assert run.params["global_step"] == 4 and run.params["max_steps"] == 10
    assert run.params["model.model_type"] == "gpt2"  # the config beside the state read
    assert run.status == "RUNNING" and run.end_time is None
    reader.refresh(now=_mtime_ms(newest) / 1000 + 3600)
    assert _run(reader, "gpt2-running").status == "FINISHED"  # silent for an hour: no longer running


def test_search_trials_keep_their_trial_params_and_name(tmp_path):
    root = _copy(tmp_path, "search")
    reader = LogReader(root)
    reader.refresh(now=T0 / 1000)
    first, second = _run(reader, "search/run-0"), _run(reader, "search/run-1")
    assert first.params["trial.learning_rate"] == 1e-05 and second.params["trial.learning_rate"] == 3e-05
    assert first.params["trial.warmup"] == "linear" and first.params["is_hyper_param_search"] is True
    assert first.tags["trial_name"] == "run-0" and "best_global_step" not in first.tags  # 4.36 had none
    assert first.experiment_id == second.experiment_id
    assert first.status == "FINISHED"


def test_the_log_directory_may_be_one_output_folder(tmp_path):
    root = _copy(tmp_path, "bert-finetune") / "bert-finetune"
    data = read_logs(root)
    [run] = data.runs.values()
    assert run.name == "bert-finetune" and data.experiments[run.experiment_id].path == str(root)


# ---------------------------------------------------------------- what is never read


def test_weights_and_the_pickled_training_args_are_never_opened_nor_stamped(tmp_path, monkeypatch):
    root = _copy(tmp_path, "bert-finetune")
    folder = root / "bert-finetune"
    for path in (folder / "training_args.bin", folder / "model.safetensors", folder / "checkpoint-8" / "optimizer.pt"):
        path.write_bytes(b"\x80\x04not to be opened")
    opened = _recording_opens(monkeypatch)
    reader = LogReader(root)
    reader.refresh()
    assert opened and not [path for path in opened if not path.endswith(".json")]
    stamped = {entry[0] for entry in HuggingFaceSource(root, 600).stamp(folder)}
    assert not [path for path in stamped if not path.endswith(".json")]
    opened.clear()
    (folder / "model.safetensors").write_bytes(b"new weights, same files read")
    assert reader.refresh().runs == set() and opened == []


def _recording_opens(monkeypatch) -> list[str]:
    opened: list[str] = []
    real = huggingface.open_inside

    def recording(path, *args, **kwargs):
        opened.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(huggingface, "open_inside", recording)
    return opened


# ---------------------------------------------------------------- being written


def test_new_checkpoints_and_a_rewritten_state_are_read_and_nothing_else_is(tmp_path, monkeypatch):
    root = _copy(tmp_path)
    running = root / "gpt2-running"
    later = tmp_path / "later"
    shutil.move(running / "checkpoint-4", later)
    opened = _recording_opens(monkeypatch)
    reader = LogReader(root)
    reader.refresh()
    assert list(_run(reader, "gpt2-running").metrics["loss"].steps) == [1, 2]
    finished = _run(reader, "bert-finetune")

    opened.clear()
    assert reader.refresh().runs == set() and opened == []  # nothing changed: nothing opened

    shutil.move(later, running / "checkpoint-4")  # the Trainer saved another checkpoint
    changes = reader.refresh()
    assert changes.runs == {run_id_for("huggingface", "gpt2-running")}
    assert list(_run(reader, "gpt2-running").metrics["loss"].steps) == [1, 2, 3, 4]
    assert opened == [str(running / "checkpoint-4" / "trainer_state.json"),
                      str(running / "checkpoint-4" / "config.json")]
    assert _run(reader, "bert-finetune") is finished  # untouched: the same object, not read again

    state = json.loads((running / "checkpoint-4" / "trainer_state.json").read_text())
    state["log_history"].append({"epoch": 2.5, "loss": 0.25, "step": 5})
    state["global_step"] = 5
    (running / "trainer_state.json").write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")  # save_state()
    reader.refresh()
    run = _run(reader, "gpt2-running")
    assert list(run.metrics["loss"].steps) == [1, 2, 3, 4, 5] and run.tags["trainer_state"] == "trainer_state.json"


def test_a_state_cut_off_while_being_written_falls_back_to_the_checkpoint_before(tmp_path):
    root = _copy(tmp_path, "gpt2-running", "bert-finetune")
    newest = root / "gpt2-running" / "checkpoint-4" / "trainer_state.json"
    newest.write_bytes(newest.read_bytes()[:300])
    top = root / "bert-finetune" / "trainer_state.json"
    top.write_bytes(top.read_bytes()[:-40])
    reader = LogReader(root)
    reader.refresh()
    running, finished = _run(reader, "gpt2-running"), _run(reader, "bert-finetune")
    assert running.tags["trainer_state"] == "checkpoint-2/trainer_state.json"
    assert list(running.metrics["loss"].steps) == [1, 2]
    assert finished.tags["trainer_state"] == "checkpoint-8/trainer_state.json"
    assert {(problem.file, problem.reason) for problem in reader.data.problems} == {
        ("gpt2-running/checkpoint-4/trainer_state.json", "incomplete JSON (cut off: still being written?)"),
        ("bert-finetune/trainer_state.json", "incomplete JSON (cut off: still being written?)")}


# ---------------------------------------------------------------- corrupt and odd content


def _one_state(tmp_path: Path, content: bytes | str, config: bytes | str | None = None) -> LogReader:
    root = tmp_path / "logs"
    folder = root / "out"
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_bytes(content.encode() if isinstance(content, str) else content)
    if config is not None:
        (folder / "config.json").write_bytes(config.encode() if isinstance(config, str) else config)
    shutil.copytree(FIXTURE / "search", root / "search")  # runs beside it still read
    reader = LogReader(root)
    reader.refresh()
    assert {run.name for run in reader.data.runs.values()} >= {"run-0", "run-1"}
    return reader


@pytest.mark.parametrize("content, reason", [
    (bytes(range(256)) * 4, "malformed JSON (Expecting value: line 1 column 1 (char 0))"),
    (b"{\"loss\": \"\xff\xfe\"}", "not readable as JSON (UnicodeDecodeError: "),
    ('{"global_step": 3,, }', "malformed JSON (Expecting property name enclosed in double quotes: line 1 column 19"),
    ("[1, 2, 3]", "not a JSON object (a list)"),
    ("", "incomplete JSON (cut off: still being written?)"),
    ('{"global_step": 3, "is_hyper_param_search": fal', "incomplete JSON (cut off: still being written?)"),
    ('{"global_step": 3, "is_hyper_param_search": fals}', "malformed JSON (Expecting value"),
    ("[" * 100_000, "not readable as JSON (RecursionError: "),
])
def test_a_state_that_is_not_a_json_object_is_a_problem_and_no_run(tmp_path, content, reason):
    reader = _one_state(tmp_path, content)
    assert run_id_for("huggingface", "out") not in reader.data.runs
    [problem] = [problem for problem in reader.data.problems if problem.file == "out/trainer_state.json"]
    assert problem.reason.startswith(reason)


def test_wrong_types_are_problems_and_the_rest_is_read(tmp_path):
    state = {"global_step": "eight", "max_steps": 8, "train_batch_size": True, "best_metric": "high",
             "trial_params": [1, 2], "log_history": [
                 {"loss": 0.5, "step": 1},
                 "not an entry",
                 {"loss": 0.4},
                 {"loss": 0.3, "step": "3"},
                 {"loss": 0.2, "step": 4.0, "note": "a string", "flag": True, "nothing": None, "deep": {"a": 1}},
                 {"loss": 0.1, "note": "again", "step": 5},
             ]}
    reader = _one_state(tmp_path, json.dumps(state))
    run = _run(reader, "out")
    assert list(zip(run.metrics["loss"].steps, run.metrics["loss"].values)) == [(1, 0.5), (4, 0.2), (5, 0.1)]
    assert set(run.metrics) == {"loss"}
    assert run.params["max_steps"] == 8 and "global_step" not in run.params and "train_batch_size" not in run.params
    assert "best_metric" not in run.tags
    assert run.status == "RUNNING"  # no usable global_step: the end is not known
    reasons = [problem.reason for problem in reader.data.problems if problem.file == "out/trainer_state.json"]
    assert reasons == [
        "'global_step' must be an integer, got str 'eight'",
        "'train_batch_size' must be an integer, got bool True",
        "'best_metric' must be a number, got str 'high'",
        "'trial_params' must be an object, got list",
        "log_history[1] is not an object (a str); skipped",
        "log_history[2]: 'step' must be an integer, got null None; skipped",
        "log_history[3]: 'step' must be an integer, got str '3'; skipped",
        "log_history[4]: 'note': str 'a string' is not a number; such values are left out",
        "log_history[4]: 'flag': bool True is not a number; such values are left out",
        "log_history[4]: 'nothing': null None is not a number; such values are left out",
        "log_history[4]: 'deep': dict {'a': 1} is not a number; such values are left out",
    ]


@pytest.mark.parametrize("history", ['"loss"', "{}", "3"])
def test_a_log_history_that_is_not_a_list_is_a_problem_and_the_params_are_read(tmp_path, history):
    reader = _one_state(tmp_path, f'{{"global_step": 2, "max_steps": 2, "log_history": {history}}}')
    run = _run(reader, "out")
    assert run.metrics == {} and run.params == {"global_step": 2, "max_steps": 2} and run.status == "FINISHED"
    [problem] = [problem for problem in reader.data.problems if problem.file == "out/trainer_state.json"]
    assert problem.reason.startswith("'log_history' must be a list, got ")


@pytest.mark.parametrize("config, reason", [
    ("{broken", "malformed JSON"), ('["bert"]', "not a JSON object (a list)"), (b"\xff\xfe\x00garbage", "malformed JSON")])
def test_a_bad_model_config_is_a_problem_and_the_run_is_read(tmp_path, config, reason):
    reader = _one_state(tmp_path, '{"global_step": 1, "log_history": [{"loss": 1.0, "step": 1}]}', config)
    run = _run(reader, "out")
    assert list(run.metrics["loss"].values) == [1.0] and not [key for key in run.params if key.startswith("model.")]
    [problem] = [problem for problem in reader.data.problems if problem.file == "out/config.json"]
    assert problem.reason.startswith(reason)


def test_a_model_config_value_too_long_to_keep_is_left_out_and_named_as_every_sources_are(tmp_path):
    config = {"model_type": "bert", "vocab": "v" * 6001, "architectures": ["BertModel"], "id2label": {"0": "a"},
              "classifier_dropout": None}
    reader = _one_state(tmp_path, '{"global_step": 1, "log_history": []}', json.dumps(config))
    run = _run(reader, "out")
    assert {key: value for key, value in run.params.items() if key.startswith("model.")} == \
        {"model.model_type": "bert", "model.architectures": '["BertModel"]'}
    assert [problem.reason for problem in reader.data.problems if problem.file == "out/config.json"] == \
        ["'model.vocab' is longer than 6000 characters: left out"]


def test_many_bad_entries_make_a_bounded_list_of_problems(tmp_path):
    history = [{"loss": 1.0, "step": "x"} for _ in range(500)] + [{"loss": 2.0, "step": 7}]
    reader = _one_state(tmp_path, json.dumps({"log_history": history}))
    problems = [problem for problem in reader.data.problems if problem.file == "out/trainer_state.json"]
    assert len(problems) == huggingface.MAX_PROBLEMS + 1
    assert problems[-1].reason == f"{500 - huggingface.MAX_PROBLEMS} more problems like these"
    assert list(_run(reader, "out").metrics["loss"].steps) == [7]


def test_html_and_control_characters_are_kept_as_data(tmp_path):
    odd = "<script>alert('x')</script>\x1b[31m\u0000\u202e"
    state = {"global_step": 1, "max_steps": 4, "trial_name": odd, "best_model_checkpoint": odd,
             "trial_params": {odd: odd}, "future_field": {"added": "later"},
             "log_history": [{f"eval_<b>{odd}</b>": 0.5, "step": 1}]}
    config = {"model_type": odd, "architectures": [odd], odd: 1}
    reader = _one_state(tmp_path, json.dumps(state), json.dumps(config))
    run = _run(reader, "out")
    assert run.tags["trial_name"] == odd and run.tags["best_model_checkpoint"] == odd
    assert run.params[f"trial.{odd}"] == odd and run.params["model.model_type"] == odd
    assert run.params[f"model.{odd}"] == 1 and json.loads(run.params["model.architectures"]) == [odd]
    assert list(run.metrics[f"eval_<b>{odd}</b>"].values) == [0.5]
    assert [problem for problem in reader.data.problems if problem.file.startswith("out/")] == []


def test_a_folder_with_neither_state_nor_checkpoint_state_is_not_claimed(tmp_path):
    root = tmp_path / "logs"
    (root / "out" / "checkpoint-5").mkdir(parents=True)
    (root / "out" / "checkpoint-5" / "config.json").write_text("{}")
    (root / "out" / "state.json").write_text("{}")
    assert read_logs(root).runs == {}
