"""search_runs, get_run, get_metric_history and search_experiments over hand-made logs."""

from __future__ import annotations

import math
import warnings

import pandas as pd
import pytest

import logger as mlflow
from logger.reader import LogProblemWarning
from logger.search import NotFoundError, run_row
from tests.logwriting import T0, end, metric, param, tag, write_experiment, write_plain, write_run

A, B, C, D = "a" * 32, "b" * 32, "c" * 32, "d" * 32
BASE = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time", "run_name", "parent_run_id"]


@pytest.fixture
def log_dir(tmp_path):
    houses = write_experiment(tmp_path, "houses", tags={"team": "pricing"})
    write_run(houses, A, [param("alpha", 0.1), param("solver", "lbfgs"), metric("f1", 0.7, 0, t=T0 + 10),
                          metric("f1", 0.9, 1, t=T0 + 11), tag("stage", "dev"), end(t=T0 + 20)], name="lasso-1",
              t=T0 + 1)
    write_run(houses, B, [param("alpha", 1), metric("f1", 0.5, 0, t=T0 + 30), end("FAILED", t=T0 + 40)],
              name="ridge", parent_run_id=A, t=T0 + 2)
    cars = write_experiment(tmp_path, "cars")
    write_run(cars, C, [param("alpha", 0.01), metric("rmse", 3.0, 0, t=T0 + 50), end(t=T0 + 60)], name="lasso-2",
              t=T0 + 3)
    return tmp_path


def test_columns_and_types(log_dir):
    frame = mlflow.search_runs(log_dir=log_dir)
    assert list(frame.columns[:8]) == BASE
    rest = list(frame.columns[8:])
    assert rest == ["metrics.f1", "metrics.rmse", "params.alpha", "params.solver"] + \
        sorted(c for c in rest if c.startswith("tags."))
    assert {"tags.stage", "tags.mlflow.runName", "tags.mlflow.user", "tags.mlflow.parentRunId"} <= set(rest)
    assert str(frame["start_time"].dtype) == "datetime64[ns, UTC]" == str(frame["end_time"].dtype)
    assert frame["metrics.f1"].dtype == "float64"
    assert list(frame["run_id"]) == [C, B, A]  # start_time DESC by default
    by_id = frame.set_index("run_id")
    assert by_id.loc[A, "metrics.f1"] == 0.9 and math.isnan(by_id.loc[C, "metrics.f1"])
    assert by_id.loc[A, "params.alpha"] == "0.1" and by_id.loc[B, "params.alpha"] == "1"  # MLflow's text
    assert by_id.loc[A, "start_time"] == pd.Timestamp(T0 + 1, unit="ms", tz="UTC")
    assert by_id.loc[B, "status"] == "FAILED" and by_id.loc[B, "parent_run_id"] == A
    assert by_id.loc[A, "artifact_uri"].startswith("file:///") and by_id.loc[A, "artifact_uri"].endswith(
        f"/{A}/artifacts")


def test_filter_order_by_and_max_results(log_dir):
    def ids(**kwargs):
        return list(mlflow.search_runs(log_dir=log_dir, **kwargs)["run_id"])

    assert ids(filter_string="metrics.f1 > 0.8") == [A]
    assert ids(filter_string="params.alpha = '0.1'") == [A]
    assert ids(filter_string="run_name LIKE 'lasso%'", order_by=["start_time"]) == [A, C]
    assert ids(filter_string="attributes.status = 'FAILED' OR params.alpha < 0.05", order_by=["run_name"]) == [C, B]
    assert ids(order_by=["metrics.f1 DESC"]) == [A, B, C]  # missing values last
    assert ids(order_by=["start_time"], max_results=2) == [A, B]
    with pytest.raises(ValueError, match="position"):
        mlflow.search_runs(log_dir=log_dir, filter_string="metrics.f1 >")


def test_experiments_by_id_and_name(log_dir):
    houses = "houses-00000006"
    assert set(mlflow.search_runs([houses], log_dir=log_dir)["run_id"]) == {A, B}
    assert set(mlflow.search_runs(experiment_names=["cars"], log_dir=log_dir)["run_id"]) == {C}
    empty = mlflow.search_runs(experiment_names=["nope"], log_dir=log_dir)
    assert empty.empty and list(empty.columns) == BASE
    assert str(empty["start_time"].dtype) == "datetime64[ns, UTC]"


def test_get_run(log_dir):
    run = mlflow.get_run(A, log_dir=log_dir)
    assert (run.info.run_id, run.info.run_name, run.info.status) == (A, "lasso-1", "FINISHED")
    assert (run.info.start_time, run.info.end_time, run.info.user_id) == (T0 + 1, T0 + 20, "ana")
    assert run.info.experiment_id == "houses-00000006"
    assert run.data.params == {"alpha": "0.1", "solver": "lbfgs"}
    assert run.data.metrics == {"f1": 0.9}
    assert run.data.tags["stage"] == "dev" and run.data.tags["mlflow.runName"] == "lasso-1"
    with pytest.raises(NotFoundError, match="not found"):
        mlflow.get_run(D, log_dir=log_dir)
    assert issubclass(NotFoundError, LookupError)


def test_get_metric_history(log_dir):
    history = mlflow.get_metric_history(A, "f1", log_dir=log_dir)
    assert [(m.key, m.value, m.step, m.timestamp) for m in history] == [("f1", 0.7, 0, T0 + 10),
                                                                         ("f1", 0.9, 1, T0 + 11)]
    assert mlflow.get_metric_history(A, "nope", log_dir=log_dir) == []


def test_search_experiments(log_dir):
    found = mlflow.search_experiments(log_dir=log_dir)
    assert [e.name for e in found] == ["cars", "houses"]
    assert found[1].tags == {"team": "pricing"} and found[1].artifact_location.startswith("file:///")
    assert [e.name for e in mlflow.list_experiments(log_dir=log_dir)] == ["cars", "houses"]


def test_problems_are_warned_once_and_new_data_is_seen(log_dir):
    path = log_dir / "cars-00000004" / C / "run.jsonl"
    with open(path, "ab") as file:
        file.write(b"garbage\n")
    with pytest.warns(LogProblemWarning, match="run.jsonl:5: malformed JSON"):
        mlflow.search_runs(log_dir=log_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LogProblemWarning)
        frame = mlflow.search_runs(log_dir=log_dir)  # the same problem is not warned again
    write_plain(log_dir / "extra.jsonl", [{"loss": 1.0}])
    assert len(mlflow.search_runs(log_dir=log_dir)) == len(frame) + 1


def test_missing_log_dir(tmp_path):
    with pytest.raises(FileNotFoundError):
        mlflow.search_runs(log_dir=tmp_path / "nope")


def test_default_log_dir_comes_from_the_environment(log_dir, monkeypatch):
    monkeypatch.setenv("FLOWSHEET_DIR", str(log_dir))
    assert len(mlflow.search_runs()) == 3


def test_run_row_shape(log_dir):
    from logger.reader import read_logs

    row = run_row(read_logs(log_dir).runs[B])
    assert set(row) == {"attributes", "params", "metrics", "tags"}
    assert set(row["attributes"]) == {"run_id", "run_name", "status", "start_time", "end_time", "experiment_id",
                                      "user", "artifact_uri", "parent_run_id"}
    assert row["params"] == {"alpha": "1"} and row["metrics"] == {"f1": 0.5}  # params as MLflow's text
    assert row["attributes"]["parent_run_id"] == A and row["attributes"]["start_time"] == T0 + 2


def test_importing_search_does_not_import_pandas():
    import subprocess
    import sys

    code = "import sys, logger.search; assert 'pandas' not in sys.modules, 'pandas imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
