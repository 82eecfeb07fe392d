"""One nested config, written the way each of four tools keeps one, becomes the same params everywhere:
Lightning's hparams.yaml, a Hugging Face trial's `trial_params`, dvclive's params.yaml and Ray Tune's
params.json differ only in the separator their tool names keys with (and the Trainer's `trial.` prefix)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logger.foreign import MAX_DEPTH
from logger.format import MAX_KEY_LENGTH, MAX_VALUE_LENGTH
from logger.reader import read_logs

LONG_KEY = "k" * (MAX_KEY_LENGTH + 1)


def config(sep: str) -> dict:
    deep: dict = {"leaf": 1}
    for _ in range(MAX_DEPTH):
        deep = {"a": deep}
    return {
        "lr": 0.1,
        "sizes": [16, 32],
        "model": {"layers": 2, "act": "<b>relu</b>", "kwargs": {}},
        "empty": {},
        "nested_list": [{"a": {}}, None],
        "long_list": ["x" * 10] * (MAX_VALUE_LENGTH // 12),  # 13 characters an item as JSON text
        "long_text": "y" * (MAX_VALUE_LENGTH + 1),
        LONG_KEY: 1,
        "deep": deep,
        "x": {"y": 1},
        f"x{sep}y": 2,
    }


def lightning(root: Path, tree: dict) -> str:
    folder = root / "exp" / "version_0"
    folder.mkdir(parents=True)
    (folder / "metrics.csv").write_text("step,loss\n1,0.5\n")
    (folder / "hparams.yaml").write_text(json.dumps(tree))  # JSON is YAML's flow style
    return "exp/version_0/hparams.yaml"


def huggingface(root: Path, tree: dict) -> str:
    folder = root / "out"
    folder.mkdir(parents=True)
    state = {"global_step": 2, "max_steps": 2, "log_history": [{"loss": 0.5, "step": 1}], "trial_params": tree}
    (folder / "trainer_state.json").write_text(json.dumps(state))
    return "out/trainer_state.json"


def dvclive(root: Path, tree: dict) -> str:
    folder = root / "project" / "dvclive"
    folder.mkdir(parents=True)
    (folder / "params.yaml").write_text(json.dumps(tree))
    return "project/dvclive/params.yaml"


def raytune(root: Path, tree: dict) -> str:
    folder = root / "tune" / "train_fn_1a2b3_00000_0_2024-05-01_10-00-00"
    folder.mkdir(parents=True)
    (folder / "result.json").write_text('{"loss": 0.5, "training_iteration": 1, "trial_id": "1a2b3_00000"}\n')
    (folder / "params.json").write_text(json.dumps(tree))
    return "tune/train_fn_1a2b3_00000_0_2024-05-01_10-00-00/params.json"


@pytest.mark.parametrize("write, sep, prefix", [
    (lightning, ".", ""), (huggingface, ".", "trial."), (dvclive, ".", ""), (raytune, "/", "")])
def test_one_nested_config_becomes_the_same_params_and_problems_in_every_format(tmp_path, write, sep, prefix):
    root = tmp_path / "logs"
    rel = write(root, config(sep))
    data = read_logs(root)
    [run] = data.runs.values()
    params = {key.removeprefix(prefix): value for key, value in run.params.items() if key.startswith(prefix)}
    assert params == {"lr": 0.1, "sizes": "[16,32]", f"model{sep}layers": 2, f"model{sep}act": "<b>relu</b>",
                      "nested_list": '[{"a":{}},null]', f"x{sep}y": 1}  # empty mappings add nothing
    deepest = sep.join(["deep"] + ["a"] * (MAX_DEPTH - 1))
    assert [problem.reason for problem in data.problems if problem.file == rel] == [
        f"'{prefix}long_list' is longer than {MAX_VALUE_LENGTH} characters: left out",  # left out, never cut
        f"'{prefix}long_text' is longer than {MAX_VALUE_LENGTH} characters: left out",
        f"key {(prefix + LONG_KEY)[:40]!r}... is longer than {MAX_KEY_LENGTH} characters: left out",
        f"'{prefix}{deepest}' nests deeper than {MAX_DEPTH} levels: left out",
        f"'{prefix}x{sep}y' is named twice: the first value kept",
    ]
