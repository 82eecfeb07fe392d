"""`create_experiment(artifact_location=...)` is refused with a clear error, never silently ignored:
flowsheet keeps every run's artifacts in the run's own folder, inside the log directory."""

from __future__ import annotations

import pytest

import logger as mlflow
from logger.reader import read_logs


@pytest.fixture(autouse=True)
def log_dir(tmp_path):
    mlflow.set_log_dir(tmp_path)
    yield tmp_path
    mlflow.set_log_dir(None)


def test_create_experiment_refuses_an_artifact_location(log_dir):
    with pytest.raises(ValueError, match="artifact_location") as refused:
        mlflow.create_experiment("houses", artifact_location=str(log_dir / "elsewhere"))
    assert "leave it out" in str(refused.value)
    assert read_logs(log_dir).experiments == {}  # nothing half-made


def test_create_experiment_without_one_keeps_artifacts_in_the_run_folder(log_dir):
    experiment_id = mlflow.create_experiment("houses")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_text("hello", "note.txt")
    shown = read_logs(log_dir).runs[run.info.run_id]
    assert [a.path for a in shown.artifacts] == ["note.txt"]
    assert shown.artifacts_dir == str(log_dir / experiment_id / run.info.run_id / "artifacts")
