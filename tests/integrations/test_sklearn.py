"""scikit-learn autologging against the real library: what a fit logs, read back by the reader."""

from __future__ import annotations

import inspect
import warnings

import pytest

import logger
from logger.reader import read_logs

sklearn = pytest.importorskip("sklearn")

from sklearn.datasets import load_diabetes, load_iris  # noqa: E402
from sklearn.ensemble import AdaBoostClassifier  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

CLASSIFIER_METRICS = {"training_score", "training_accuracy_score", "training_precision_score",
                      "training_recall_score", "training_f1_score", "training_log_loss", "training_roc_auc"}
REGRESSOR_METRICS = {"training_score", "training_mean_squared_error", "training_root_mean_squared_error",
                     "training_mean_absolute_error", "training_r2_score"}


@pytest.fixture
def autologged(log_dir):
    logger.sklearn.autolog()
    yield log_dir
    logger.sklearn.autolog(disable=True)


def runs(log_dir) -> list:
    return sorted(read_logs(log_dir).runs.values(), key=lambda run: (run.start_time, run.name))


def iris():
    return load_iris(return_X_y=True)


def test_a_classifier_fit_logs_params_training_metrics_and_the_model(autologged):
    X, y = iris()
    model = LogisticRegression(C=0.5, max_iter=300).fit(X, y)
    [run] = runs(autologged)
    assert run.status == "FINISHED"
    assert run.params == {key: value for key, value in model.get_params(deep=True).items()
                          if not isinstance(value, dict)} | {"C": 0.5, "max_iter": 300}
    assert run.tags["estimator_name"] == "LogisticRegression"
    assert run.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert run.tags["mlflow.autologging"] == "sklearn"
    assert set(run.metrics) == CLASSIFIER_METRICS
    assert run.metrics["training_score"].values[0] == pytest.approx(model.score(X, y))
    assert list(run.metrics["training_accuracy_score"].steps) == [0]
    assert {a.path for a in run.artifacts} == {"model/model.pkl", "model/model.json"}
    loaded = logger.sklearn.load_model(f"runs:/{run.run_id}/model")
    assert (loaded.predict(X) == model.predict(X)).all()


def test_a_regressor_fit_logs_mlflows_regression_metrics(autologged):
    X, y = load_diabetes(return_X_y=True)
    model = LinearRegression().fit(X, y)
    [run] = runs(autologged)
    assert set(run.metrics) == REGRESSOR_METRICS
    assert run.metrics["training_r2_score"].values[0] == pytest.approx(model.score(X, y))
    mse = run.metrics["training_mean_squared_error"].values[0]
    assert run.metrics["training_root_mean_squared_error"].values[0] == pytest.approx(mse ** 0.5)


def test_a_pipeline_logs_once_with_its_steps_params(autologged):
    X, y = iris()
    make_pipeline(StandardScaler(), LogisticRegression(C=2.0, max_iter=300)).fit(X, y)
    [run] = runs(autologged)  # the steps' own fits log nothing
    assert run.tags["estimator_name"] == "Pipeline"
    assert run.params["logisticregression__C"] == 2.0
    assert run.params["standardscaler__with_mean"] is True
    assert set(run.metrics) == CLASSIFIER_METRICS


def test_a_grid_search_logs_a_child_run_per_candidate_and_the_best_on_the_parent(autologged):
    logger.sklearn.autolog(max_tuning_runs=None)
    X, y = iris()
    search = GridSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": [1, 2, 3, 4]}, cv=3).fit(X, y)
    logged = runs(autologged)
    [parent] = [run for run in logged if run.parent_run_id is None]
    children = [run for run in logged if run.parent_run_id == parent.run_id]
    assert len(logged) == 5 and len(children) == 4  # the candidates' and the refit's fits log nothing
    assert parent.tags["estimator_name"] == "GridSearchCV"
    assert parent.params["best_max_depth"] == search.best_params_["max_depth"]
    assert "param_grid" in parent.params and "estimator__max_depth" not in parent.params  # deep=False for a search
    assert parent.metrics["best_cv_score"].values[0] == pytest.approx(search.best_score_)
    assert set(parent.metrics) >= CLASSIFIER_METRICS
    assert {a.path for a in parent.artifacts} >= {"model/model.pkl", "best_estimator/model.pkl", "cv_results.csv"}
    by_depth = {child.params["max_depth"]: child for child in children}
    assert sorted(by_depth) == [1, 2, 3, 4]
    for row, candidate in enumerate(search.cv_results_["params"]):
        child = by_depth[candidate["max_depth"]]
        assert child.status == "FINISHED"
        assert child.params["criterion"] == "gini"  # the seed estimator's params, with the candidate's on top
        assert child.metrics["mean_test_score"].values[0] == pytest.approx(search.cv_results_["mean_test_score"][row])
        assert {"std_test_score", "rank_test_score", "mean_fit_time"} <= set(child.metrics)
        assert not any(key.startswith(("split", "param")) for key in child.metrics)
        assert child.tags["estimator_name"] == "DecisionTreeClassifier"


def test_a_search_logs_only_its_best_candidates_by_default(autologged):
    X, y = iris()
    search = RandomizedSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": [1, 2, 3, 4, 5, 6]},
                                n_iter=6, cv=3, random_state=0).fit(X, y)
    children = [run for run in runs(autologged) if run.parent_run_id is not None]
    assert len(children) == 5  # MLflow's max_tuning_runs=5
    ranks = sorted(search.cv_results_["rank_test_score"])
    assert sorted(int(c.metrics["rank_test_score"].values[0]) for c in children) == ranks[:5]


def test_a_fit_that_raises_ends_its_run_failed_and_the_error_goes_on(autologged):
    X, y = iris()
    with pytest.raises(ValueError):
        LogisticRegression().fit(X, y[:10])
    [run] = runs(autologged)
    assert run.status == "FAILED"
    assert run.params["C"] == 1.0  # logged before training
    LogisticRegression(max_iter=300).fit(X, y)  # the next fit logs as usual
    assert [run.status for run in runs(autologged)] == ["FAILED", "FINISHED"]


def test_a_fit_inside_an_active_run_logs_there_and_leaves_it_open(autologged):
    X, y = iris()
    with logger.start_run(run_name="mine") as mine:
        LogisticRegression(max_iter=300).fit(X, y)
        assert not mine.ended
        logger.log_metric("after", 1.0)
    [run] = runs(autologged)
    assert run.name == "mine" and run.params["max_iter"] == 300 and {"after", "training_score"} <= set(run.metrics)


def test_a_second_fit_in_one_run_keeps_the_first_params_and_warns(autologged):
    X, y = iris()
    with logger.start_run():
        LogisticRegression(C=1.0, max_iter=300).fit(X, y)
        with pytest.warns(UserWarning, match="other values for C"):
            LogisticRegression(C=3.0, max_iter=300).fit(X, y)
    [run] = runs(autologged)
    assert run.params["C"] == 1.0


def test_the_stand_in_keeps_what_scikit_learn_reads_from_fit(autologged):
    X, y = iris()
    assert "sample_weight" in inspect.signature(LogisticRegression().fit).parameters
    AdaBoostClassifier(n_estimators=3).fit(X, y)  # checks its base estimator's fit for sample_weight
    pipeline = make_pipeline(StandardScaler(), LogisticRegression())
    assert not hasattr(pipeline, "fit_transform")  # available_if still hides what the final step lacks
    assert len(runs(autologged)) == 1


def test_disable_puts_the_original_methods_back(log_dir):
    original = LogisticRegression.__dict__["fit"]
    logger.sklearn.autolog()
    assert LogisticRegression.__dict__["fit"] is not original
    logger.sklearn.autolog(disable=True)
    assert LogisticRegression.__dict__["fit"] is original
    assert "fit" not in StandardScaler.__dict__ or StandardScaler.__dict__["fit"].__module__.startswith("sklearn")
    X, y = iris()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        LogisticRegression(max_iter=300).fit(X, y)
    assert not log_dir.exists()  # no run was started


def test_log_models_false_logs_no_model(log_dir):
    logger.sklearn.autolog(log_models=False)
    try:
        LinearRegression().fit(*load_diabetes(return_X_y=True))
    finally:
        logger.sklearn.autolog(disable=True)
    [run] = runs(log_dir)
    assert run.artifacts == [] and "training_score" in run.metrics
