"""What scikit-learn autologging computes after a fit: MLflow's training metrics, and a parameter search's
results (best params and score, one child run per candidate). See logger/integrations/sklearn.py."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from . import common

PREFIX = "training_"


def training_metrics(estimator, X, y, sample_weight=None, pos_label=None) -> dict[str, float]:
    """MLflow's training metrics of a fitted estimator on its training data; a metric that cannot be
    computed (an estimator without predict_proba, labels a metric refuses) is left out."""
    from sklearn.base import is_classifier, is_regressor

    found: dict[str, float] = {}
    if is_classifier(estimator):
        found.update(_classifier_metrics(estimator, X, y, sample_weight, pos_label))
    elif is_regressor(estimator):
        found.update(_regressor_metrics(estimator, X, y, sample_weight))
    if hasattr(estimator, "score"):
        accepts_weight = "sample_weight" in _parameter_names(estimator.score)
        score_args = (X, y, sample_weight) if accepts_weight else (X, y)
        _compute(found, PREFIX + "score", estimator.score, *score_args)
    return found


def _classifier_metrics(estimator, X, y, weight, pos_label) -> dict[str, float]:
    from sklearn import metrics

    average = "weighted" if pos_label is None else "binary"
    predicted = estimator.predict(X)
    found: dict[str, float] = {}
    for name, function in (("precision_score", metrics.precision_score), ("recall_score", metrics.recall_score),
                           ("f1_score", metrics.f1_score)):
        extra = {"pos_label": pos_label} if pos_label is not None else {}
        _compute(found, PREFIX + name, function, y, predicted, average=average, sample_weight=weight, **extra)
    _compute(found, PREFIX + "accuracy_score", metrics.accuracy_score, y, predicted, normalize=True,
             sample_weight=weight)
    if hasattr(estimator, "predict_proba"):
        try:
            probabilities = estimator.predict_proba(X)
        except Exception:
            return found
        _compute(found, PREFIX + "log_loss", metrics.log_loss, y, probabilities, sample_weight=weight)
        scores = probabilities[:, 1] if probabilities.shape[1] == 2 else probabilities
        _compute(found, PREFIX + "roc_auc", metrics.roc_auc_score, y, scores, average="weighted",
                 sample_weight=weight, multi_class="ovo")
    return found


def _regressor_metrics(estimator, X, y, weight) -> dict[str, float]:
    from sklearn import metrics

    predicted = estimator.predict(X)
    found: dict[str, float] = {}
    for name, function in (("mean_squared_error", metrics.mean_squared_error),
                           ("mean_absolute_error", metrics.mean_absolute_error), ("r2_score", metrics.r2_score)):
        _compute(found, PREFIX + name, function, y, predicted, sample_weight=weight, multioutput="uniform_average")
    if PREFIX + "mean_squared_error" in found:
        found[PREFIX + "root_mean_squared_error"] = math.sqrt(found[PREFIX + "mean_squared_error"])
    return found


def _compute(found: dict, name: str, function: Callable, *args, **kwargs) -> None:
    try:
        value = float(function(*args, **kwargs))
    except Exception:  # MLflow leaves out, with a warning, a metric the data does not allow
        return
    found[name] = value


def _parameter_names(function) -> set[str]:
    import inspect

    try:
        return set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return set()


# --- parameter searches ---------------------------------------------------------------------------------

def log_search_results(run, search, max_tuning_runs: int | None, log_models: bool, child_tags: dict,
                       quietly: Callable[[str], Any]) -> None:
    """On the search's run: `best_<param>` params, `best_cv_score`, the `best_estimator` model and
    `cv_results.csv`; and a child run per candidate (the best `max_tuning_runs`, or all for None)."""
    if hasattr(search, "best_params_"):
        with quietly("best params"):
            common.log_params(run, {f"best_{key}": value for key, value in search.best_params_.items()}, "sklearn")
    if hasattr(search, "best_score_"):
        with quietly("best_cv_score"):
            run.log_metrics({"best_cv_score": search.best_score_})
    if log_models and hasattr(search, "best_estimator_"):
        with quietly("the best estimator"):
            from ..sklearn import log_model

            log_model(search.best_estimator_, "best_estimator", run=run)
    results = getattr(search, "cv_results_", None)
    if not isinstance(results, dict):
        return
    with quietly("the candidates' child runs"):
        _child_runs(run, search, results, max_tuning_runs, child_tags)
    with quietly("cv_results.csv"):
        import pandas

        run.log_text(pandas.DataFrame(results).to_csv(index=False), "cv_results.csv")


def candidate_rows(results: dict, max_tuning_runs: int | None) -> list[int]:
    """The candidates to log, best first by `rank_test_score` (or the first `rank_test_*` of a search
    with several scorers), as MLflow picks them."""
    count = len(results.get("params", ()))
    rank_key = "rank_test_score" if "rank_test_score" in results else next(
        (key for key in results if key.startswith("rank_test_")), None)
    rows = list(range(count))
    if max_tuning_runs is None:
        return rows
    if rank_key is not None:
        rows.sort(key=lambda i: results[rank_key][i])
    return rows[:max_tuning_runs]


def _child_runs(parent, search, results: dict, max_tuning_runs: int | None, tags: dict) -> None:
    seed = search.estimator
    base = seed.get_params(deep=not _is_search(seed))
    for row in candidate_rows(results, max_tuning_runs):
        with common.child_run(parent, tags=tags) as child:
            child.log_params(common.param_values({**base, **results["params"][row]}))
            child.log_metrics({key: values[row] for key, values in results.items()
                               if not key.startswith(("param", "split")) and _is_number(values[row])})


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _is_search(estimator) -> bool:
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    return isinstance(estimator, (GridSearchCV, RandomizedSearchCV))
