"""XGBoost's callback and autolog against the real library, read back by the reader."""

from __future__ import annotations

import json

import pytest

import logger
from logger.reader import read_logs

xgboost = pytest.importorskip("xgboost")
pytest.importorskip("sklearn")

from sklearn.datasets import load_breast_cancer  # noqa: E402

from logger.integrations.xgboost import FlowsheetCallback  # noqa: E402

PARAMS = {"max_depth": 2, "eta": 0.5, "objective": "binary:logistic", "eval_metric": ["logloss", "auc"], "seed": 0}


@pytest.fixture(scope="module")
def data():
    X, y = load_breast_cancer(return_X_y=True)
    return X, y, xgboost.DMatrix(X[:400], label=y[:400]), xgboost.DMatrix(X[400:], label=y[400:])


def runs(log_dir) -> list:
    return sorted(read_logs(log_dir).runs.values(), key=lambda run: run.start_time)


def test_the_callback_logs_params_each_iteration_and_the_model_as_json(log_dir, data):
    X, _, train, valid = data
    recorded: dict = {}
    with logger.start_run(run_name="boost") as active:
        booster = xgboost.train(PARAMS, train, 10, evals=[(train, "train"), (valid, "valid")], verbose_eval=False,
                                evals_result=recorded, callbacks=[FlowsheetCallback()])
        assert not active.ended  # the callback leaves a run it did not start open
    [run] = runs(log_dir)
    assert run.name == "boost" and run.status == "FINISHED"
    assert run.params["objective"] == "binary:logistic" and run.params["max_depth"] == 2
    assert run.params["eta"] == pytest.approx(0.5) and run.params["eval_metric"] == "logloss,auc"
    assert set(run.metrics) == {"train-logloss", "train-auc", "valid-logloss", "valid-auc"}
    history = run.metrics["valid-logloss"]
    assert list(history.steps) == list(range(10))
    assert list(history.values) == pytest.approx(recorded["valid"]["logloss"])
    assert {a.path for a in run.artifacts} == {"model/booster.json", "model/model.json"}
    saved = json.loads((active.artifact_dir / "model" / "booster.json").read_text())
    assert "learner" in saved  # XGBoost's JSON model format
    assert json.loads((active.artifact_dir / "model" / "model.json").read_text())["flavor"] == "xgboost"
    loaded = logger.xgboost.load_model(f"runs:/{run.run_id}/model")
    assert (loaded.predict(xgboost.DMatrix(X)) == booster.predict(xgboost.DMatrix(X))).all()


def test_the_callback_without_an_active_run_starts_one_and_ends_it(log_dir, data):
    _, _, train, _ = data
    xgboost.train(PARAMS, train, 3, evals=[(train, "train")], verbose_eval=False,
                  callbacks=[FlowsheetCallback(log_models=False)])
    [run] = runs(log_dir)
    assert run.status == "FINISHED" and list(run.metrics["train-auc"].steps) == [0, 1, 2] and run.artifacts == []
    assert logger.active_run() is None


def test_autolog_logs_train_with_its_arguments_and_early_stopping(log_dir, data):
    _, _, train, valid = data
    logger.xgboost.autolog()
    try:
        booster = xgboost.train(PARAMS, train, 50, evals=[(valid, "valid")], early_stopping_rounds=2,
                                verbose_eval=False)
    finally:
        logger.xgboost.autolog(disable=True)
    [run] = runs(log_dir)
    assert run.status == "FINISHED" and run.tags["mlflow.autologging"] == "xgboost"
    assert run.params["max_depth"] == 2 and run.params["num_boost_round"] == 50
    assert run.params["early_stopping_rounds"] == 2 and "dtrain" not in run.params
    assert run.metrics["best_iteration"].values[0] == booster.best_iteration
    assert run.metrics["stopped_iteration"].values[0] == booster.num_boosted_rounds() - 1
    assert len(run.metrics["valid-auc"]) == booster.num_boosted_rounds()
    assert {a.path for a in run.artifacts} == {"model/booster.json", "model/model.json"}


def test_autolog_covers_the_scikit_learn_api(log_dir, data):
    X, y, _, _ = data
    logger.xgboost.autolog()
    try:
        xgboost.XGBClassifier(n_estimators=4, max_depth=2).fit(X, y, eval_set=[(X, y)], verbose=False)
    finally:
        logger.xgboost.autolog(disable=True)
    [run] = runs(log_dir)
    assert run.params["max_depth"] == 2 and run.params["num_boost_round"] == 4
    assert list(run.metrics["validation_0-logloss"].steps) == [0, 1, 2, 3]


def test_autolog_ends_the_run_failed_when_training_raises_and_disable_undoes_it(log_dir, data):
    _, _, train, _ = data
    original = xgboost.train
    logger.xgboost.autolog()
    assert xgboost.train is not original
    try:
        with pytest.raises(xgboost.core.XGBoostError):
            xgboost.train({"objective": "no-such-objective"}, train, 2)
    finally:
        logger.xgboost.autolog(disable=True)
    assert xgboost.train is original and xgboost.sklearn.train is original
    [run] = runs(log_dir)
    assert run.status == "FAILED" and run.params["objective"] == "no-such-objective"
    xgboost.train(PARAMS, train, 2)
    assert len(runs(log_dir)) == 1
