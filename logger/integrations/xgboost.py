"""XGBoost: `logger.xgboost.autolog()` (as `mlflow.xgboost.autolog()`), or a callback you pass yourself.

    import logger
    logger.xgboost.autolog()                  # every xgboost.train and XGBClassifier/XGBRegressor.fit
    booster = xgboost.train(params, dtrain, 10, evals=[(dvalid, "valid")])

    from .xgboost import FlowsheetCallback
    with logger.start_run():
        xgboost.train(params, dtrain, 10, evals=[(dvalid, "valid")], callbacks=[FlowsheetCallback()])

What is logged, with MLflow's names:
- params: autolog logs the `params` dict and train()'s other arguments (`num_boost_round`,
  `early_stopping_rounds`, ...); the callback, which never sees that dict, logs the booster's
  configuration (objective, booster, the tree parameters: eta, max_depth, ... as XGBoost stores them);
- metrics: `<data>-<metric>` for each eval set and metric (`valid-logloss`; `@` becomes `_at_`), at
  step = iteration; with early stopping, `best_iteration` and `stopped_iteration`;
- the model at `model/`: `booster.json` (`Booster.save_model`) and `model.json` (its description);
  `logger.xgboost.load_model("runs:/<run_id>/model")` loads it.
The callback logs into the run you give it, or the active run, or starts one that it ends after training
(a run it started stays open if training raises: it then ends at exit, FAILED if the error is uncaught).
"""

from __future__ import annotations

import json
from typing import Any

import xgboost

from .. import models
from . import common

FLAVOR = "xgboost"
MODEL_FILE = "booster.json"
_UNLOGGED = ("params", "dtrain", "evals", "obj", "custom_metric", "feval", "evals_result", "xgb_model",
             "callbacks", "learning_rates")
_patches = common.Patches()
_settings: dict = {}


class FlowsheetCallback(xgboost.callback.TrainingCallback):
    """Logs params, each iteration's eval metrics and the final model (see the module docstring)."""

    def __init__(self, run=None, log_models: bool = True, artifact_path: str = "model", log_params: bool = True):
        super().__init__()
        self._given, self._log_models, self._artifact_path = run, log_models, artifact_path
        self._log_params = log_params
        self.run: Any = None  # the run of the training under way
        self._owned = False

    def before_training(self, model):
        self.run, self._owned = common.claim_run(self._given)
        if self._log_params:
            with common.quietly(FLAVOR, "params"):
                common.log_params(self.run, booster_config(model), FLAVOR)
        return model

    def after_iteration(self, model, epoch: int, evals_log) -> bool:
        with common.quietly(FLAVOR, "metrics"):
            self.run.log_metrics(iteration_metrics(evals_log), step=epoch)
        return False

    def after_training(self, model):
        if self._log_models and isinstance(model, xgboost.Booster):
            with common.quietly(FLAVOR, "the model"):
                log_model(model, self._artifact_path, run=self.run)
        if self._owned:
            self.run.end()
        return model


def iteration_metrics(evals_log) -> dict[str, float]:
    """The latest value of each eval set's metrics (xgboost.cv's (mean, std) pairs give their mean)."""
    found = {}
    for data_name, by_metric in evals_log.items():
        for metric_name, values in by_metric.items():
            latest = values[-1]
            key = f"{data_name}-{metric_name.replace('@', '_at_')}"
            found[key] = latest[0] if isinstance(latest, tuple) else latest
    return found


def booster_config(booster) -> dict:
    """The training parameters XGBoost keeps in the booster's configuration, numbers as numbers."""
    learner = json.loads(booster.save_config())["learner"]
    found: dict = dict(learner.get("learner_train_param", {}))
    for key, section in learner.get("gradient_booster", {}).items():
        if key.endswith("train_param") and isinstance(section, dict):
            found.update(section)
    metrics = [metric.get("name") for metric in learner.get("metrics", []) if isinstance(metric, dict)]
    if metrics:
        found["eval_metric"] = ",".join(str(name) for name in metrics)
    return {key: _number(value) for key, value in found.items() if not isinstance(value, (dict, list))}


def _number(text):
    if not isinstance(text, str):
        return text
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def log_model(booster, artifact_path: str | None = None, *, name: str | None = None, run=None, **_mlflow_only) -> str:
    """Save `booster` (a Booster, or a fitted XGBModel) as JSON under `artifact_path` of the active run or `run`."""
    from ..fluent import _run_for_logging

    run = run or _run_for_logging()
    booster = booster.get_booster() if hasattr(booster, "get_booster") else booster
    description = models.describe(FLAVOR, booster, {}, ("xgboost", "numpy"), file=MODEL_FILE)
    return models.log_model_files(run, artifact_path or name, description,
                                  {MODEL_FILE: lambda target: booster.save_model(str(target))})


def load_model(model_uri: str) -> xgboost.Booster:
    return xgboost.Booster(model_file=str(models.model_file(model_uri, MODEL_FILE)))


# --- autolog ---------------------------------------------------------------------------------------------

def autolog(log_models: bool = True, disable: bool = False, silent: bool = False, extra_tags: dict | None = None,
            **_mlflow_only) -> None:
    """Log every `xgboost.train` (which XGBClassifier/XGBRegressor.fit call too); `disable=True` undoes it."""
    import xgboost.sklearn
    import xgboost.training

    _patches.undo()
    common.set_silent(FLAVOR, silent)
    if disable:
        return
    _settings.update(log_models=log_models, extra_tags=dict(extra_tags or {}))
    original = xgboost.training.train
    modules = (xgboost, xgboost.training, xgboost.sklearn)
    _patches.replace_everywhere(modules, "train", original, _logged_train(original))


def _logged_train(original):
    import functools

    @functools.wraps(original)
    def train(*args, **kwargs):
        with common.session() as outermost:
            if not outermost:
                return original(*args, **kwargs)
            with common.training_run(FLAVOR, _settings["extra_tags"]) as run:
                arguments = common.call_arguments(original, args, kwargs)
                with common.quietly(FLAVOR, "params"):
                    common.log_params(run, {**(arguments.get("params") or {}),
                                            **{k: v for k, v in arguments.items() if k not in _UNLOGGED}}, FLAVOR)
                callback = FlowsheetCallback(run=run, log_models=False, log_params=False)
                kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), callback]
                booster = original(*args, **kwargs)
                if arguments.get("early_stopping_rounds"):
                    with common.quietly(FLAVOR, "early stopping"):
                        run.log_metrics({"stopped_iteration": booster.num_boosted_rounds() - 1,
                                         "best_iteration": booster.best_iteration})
                if _settings["log_models"]:
                    with common.quietly(FLAVOR, "the model"):
                        log_model(booster, "model", run=run)
                return booster

    return train
