"""LightGBM's callback and autolog against the real library, read back by the reader."""

from __future__ import annotations

import pytest

import logger
from logger.reader import read_logs

lightgbm = pytest.importorskip("lightgbm")
pytest.importorskip("sklearn")

from sklearn.datasets import load_breast_cancer, load_diabetes  # noqa: E402

from logger.integrations.lightgbm import FlowsheetCallback  # noqa: E402

PARAMS = {"objective": "binary", "num_leaves": 4, "learning_rate": 0.3, "metric": ["binary_logloss", "auc"],
          "verbose": -1, "seed": 0}


@pytest.fixture(scope="module")
def data():
    X, y = load_breast_cancer(return_X_y=True)
    return X, y, (X[:400], y[:400]), (X[400:], y[400:])


def datasets(data):
    _, _, (X_train, y_train), (X_valid, y_valid) = data
    train = lightgbm.Dataset(X_train, y_train)
    return train, lightgbm.Dataset(X_valid, y_valid, reference=train)


def runs(log_dir) -> list:
    return sorted(read_logs(log_dir).runs.values(), key=lambda run: run.start_time)


def test_the_callback_logs_params_each_iteration_and_the_model_text(log_dir, data):
    X = data[0]
    train, valid = datasets(data)
    recorded: dict = {}
    with logger.start_run(run_name="gbm") as active:
        booster = lightgbm.train(PARAMS, train, 8, valid_sets=[train, valid], valid_names=["train", "valid"],
                                 callbacks=[FlowsheetCallback(), lightgbm.record_evaluation(recorded)])
        assert not active.ended
    [run] = runs(log_dir)
    assert run.status == "FINISHED"
    assert run.params["num_leaves"] == 4 and run.params["objective"] == "binary" and run.params["num_iterations"] == 8
    assert set(run.metrics) == {"train-binary_logloss", "train-auc", "valid-binary_logloss", "valid-auc"}
    history = run.metrics["valid-auc"]
    assert list(history.steps) == list(range(8))
    assert list(history.values) == pytest.approx(recorded["valid"]["auc"])
    assert {a.path for a in run.artifacts} == {"model/booster.txt", "model/model.json"}
    assert (active.artifact_dir / "model" / "booster.txt").read_text().startswith("tree")  # LightGBM's text format
    loaded = logger.lightgbm.load_model(f"runs:/{run.run_id}/model")
    assert loaded.predict(X) == pytest.approx(booster.predict(X))


def test_the_callback_without_an_active_run_starts_one_and_ends_it_after_the_last_iteration(log_dir, data):
    train, _ = datasets(data)
    lightgbm.train(PARAMS, train, 3, valid_sets=[train], callbacks=[FlowsheetCallback(log_models=False)])
    [run] = runs(log_dir)
    assert run.status == "FINISHED" and list(run.metrics["training-auc"].steps) == [0, 1, 2]
    assert logger.active_run() is None


def test_autolog_logs_train_with_its_arguments_early_stopping_and_the_model(log_dir, data):
    train, valid = datasets(data)
    logger.lightgbm.autolog()
    try:
        booster = lightgbm.train({**PARAMS, "learning_rate": 1.0}, train, 60, valid_sets=[valid],
                                 callbacks=[lightgbm.early_stopping(2, verbose=False)])
    finally:
        logger.lightgbm.autolog(disable=True)
    [run] = runs(log_dir)
    assert run.status == "FINISHED" and run.tags["mlflow.autologging"] == "lightgbm"
    assert run.params["num_boost_round"] == 60 and run.params["num_leaves"] == 4 and "train_set" not in run.params
    assert run.metrics["best_iteration"].values[0] == booster.best_iteration
    stopped = run.metrics["stopped_iteration"].values[0]
    assert len(run.metrics["valid_0-auc"]) == stopped < 60 and booster.best_iteration < stopped  # it stopped early
    assert {a.path for a in run.artifacts} == {"model/booster.txt", "model/model.json"}


def test_autolog_covers_the_scikit_learn_api(log_dir):
    X, y = load_diabetes(return_X_y=True)
    logger.lightgbm.autolog()
    try:
        lightgbm.LGBMRegressor(n_estimators=5, num_leaves=4, verbose=-1).fit(X, y, eval_X=X[:100], eval_y=y[:100])
    finally:
        logger.lightgbm.autolog(disable=True)
    [run] = runs(log_dir)
    assert run.params["num_leaves"] == 4 and list(run.metrics["valid_0-l2"].steps) == [0, 1, 2, 3, 4]


def test_autolog_ends_the_run_failed_when_training_raises_and_disable_undoes_it(log_dir, data):
    train, _ = datasets(data)
    original = lightgbm.train
    logger.lightgbm.autolog()
    try:
        with pytest.raises(lightgbm.basic.LightGBMError):
            lightgbm.train({"objective": "no-such-objective", "verbose": -1}, train, 2)
    finally:
        logger.lightgbm.autolog(disable=True)
    assert lightgbm.train is original and lightgbm.sklearn.train is original
    [run] = runs(log_dir)
    assert run.status == "FAILED"
