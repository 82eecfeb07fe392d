"""scikit-learn autologging: `logger.sklearn.autolog()` (or `logger.autolog()`), as `mlflow.sklearn.autolog()`.

    import logger
    logger.sklearn.autolog()
    LogisticRegression(C=0.5).fit(X, y)        # one run: params, training metrics, the model

What a `fit` (also `fit_transform`, `fit_predict`) of an estimator logs, with MLflow's names:
- params: `get_params(deep=True)` (deep=False for a parameter search, whose seed's params are not the ones
  tried); tags `estimator_name`, `estimator_class`, `mlflow.autologging`;
- metrics: `training_score` (`estimator.score`), and for a classifier `training_accuracy_score`,
  `training_precision_score`, `training_recall_score`, `training_f1_score` (weighted averages, or binary
  for `pos_label`), `training_log_loss`, `training_roc_auc` (with predict_proba); for a regressor
  `training_mean_squared_error`, `training_root_mean_squared_error`, `training_mean_absolute_error`,
  `training_r2_score`;
- the fitted model at `model/` (`logger.sklearn.log_model`; load it with `logger.sklearn.load_model`).
GridSearchCV / RandomizedSearchCV also log `best_<param>` params, the `best_cv_score` metric, the refitted
`best_estimator` model, `cv_results.csv`, and one child run per candidate (the best `max_tuning_runs` of
them, 5 by default; None for all) with its params and `mean_test_score`, `std_test_score`,
`rank_test_score`, fit and score times.

The estimator classes of `sklearn.utils.all_estimators()` get a stand-in for those methods (on the class,
so subclasses that inherit it log too); `autolog(disable=True)` puts the originals back. A fit inside a
fit (a pipeline's steps, a search's candidates) logs nothing of its own. A fit logs into the active run,
or starts one that ends with the fit: FAILED, and the error raised again, when the fit raises.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from ..format import AUTOLOGGING_TAG
from . import common
from .sklearn_metrics import log_search_results, training_metrics

FLAVOR = "sklearn"
FIT_METHODS = ("fit", "fit_transform", "fit_predict")

_patches = common.Patches()
_settings: dict[str, Any] = {}


def autolog(log_models: bool = True, disable: bool = False, silent: bool = False, max_tuning_runs: int | None = 5,
            pos_label=None, extra_tags: dict | None = None, **_mlflow_only) -> None:
    if max_tuning_runs is not None and max_tuning_runs < 0:
        raise ValueError(f"max_tuning_runs must be None or >= 0, got {max_tuning_runs}")
    _patches.undo()
    _settings.clear()
    common.set_silent(FLAVOR, silent)
    if disable:
        return
    _settings.update(log_models=log_models, max_tuning_runs=max_tuning_runs, pos_label=pos_label,
                     extra_tags=dict(extra_tags or {}))
    for kind in estimator_classes():
        for name in FIT_METHODS:
            original = _original(kind, name)
            if original is not None:
                _patches.replace(kind, name, _Autologged(original))


def estimator_classes() -> list[type]:
    from sklearn.utils import all_estimators

    return [kind for _, kind in all_estimators()]


def _original(kind: type, name: str):
    """The method `kind` has under `name` as scikit-learn defined it (looked up along the MRO, so a class
    that inherits it gets its own stand-in), or None."""
    for owner in kind.__mro__:
        if name in owner.__dict__:
            found = owner.__dict__[name]
            return found.original if isinstance(found, _Autologged) else found
    return None


class _Autologged:
    """Stands in for an estimator class's `fit`: looks the real method up as the class would (so
    `available_if` still hides what an estimator lacks) and logs around the call. The returned function
    wraps the bound method, so `inspect.signature` (which scikit-learn reads) sees the real parameters."""

    def __init__(self, original) -> None:
        self.original = original

    def __get__(self, instance, owner=None):
        method = self.original.__get__(instance, owner) if hasattr(self.original, "__get__") else self.original
        if instance is None:
            return method

        @functools.wraps(method)
        def logged(*args, **kwargs):
            return _logged_fit(instance, method, args, kwargs)

        return logged


def _logged_fit(estimator, method, args: tuple, kwargs: dict):
    with common.session() as outermost:
        if not outermost or not _settings:
            return method(*args, **kwargs)
        tags = {"estimator_name": type(estimator).__name__, "estimator_class": _class_path(estimator),
                **_settings["extra_tags"]}
        with common.training_run(FLAVOR, tags) as run:
            X, y, weight = _training_data(method, args, kwargs)
            with common.quietly(FLAVOR, "params"):
                common.log_params(run, estimator.get_params(deep=not _is_search(estimator)), FLAVOR)
            result = method(*args, **kwargs)
            _after_fit(run, estimator, X, y, weight)
            return result


def _after_fit(run, estimator, X, y, weight) -> None:
    if y is not None:
        with common.quietly(FLAVOR, "training metrics"):
            run.log_metrics(training_metrics(estimator, X, y, weight, _settings["pos_label"]))
    if _settings["log_models"]:
        with common.quietly(FLAVOR, "the model"):
            from ..sklearn import log_model

            log_model(estimator, "model", run=run)
    if _is_search(estimator):
        log_search_results(run, estimator, _settings["max_tuning_runs"], _settings["log_models"],
                           {"estimator_name": type(estimator.estimator).__name__,
                            "estimator_class": _class_path(estimator.estimator), AUTOLOGGING_TAG: FLAVOR},
                           lambda what: common.quietly(FLAVOR, what))


def _training_data(method, args: tuple, kwargs: dict) -> tuple[Any, Any, Any]:
    """X, y and sample_weight of a fit call: its first two parameters (whatever their names) and
    `sample_weight`; None for what the call did not pass."""
    try:
        bound = inspect.signature(method).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return None, None, None
    names = [name for name, parameter in bound.signature.parameters.items()
             if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)]
    given = bound.arguments
    X = given.get(names[0]) if names else None
    y = given.get(names[1]) if len(names) > 1 else given.get("y")
    return X, y, given.get("sample_weight")


def _is_search(estimator) -> bool:
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    return isinstance(estimator, (GridSearchCV, RandomizedSearchCV))


def _class_path(estimator) -> str:
    return f"{type(estimator).__module__}.{type(estimator).__name__}"
