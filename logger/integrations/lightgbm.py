"""LightGBM: `logger.lightgbm.autolog()` (as `mlflow.lightgbm.autolog()`), or a callback you pass yourself.

    import logger
    logger.lightgbm.autolog()                 # every lightgbm.train and LGBMClassifier/LGBMRegressor.fit
    booster = lightgbm.train(params, train_set, 20, valid_sets=[valid_set])

    from .lightgbm import FlowsheetCallback
    with logger.start_run():
        lightgbm.train(params, train_set, 20, valid_sets=[valid_set], callbacks=[FlowsheetCallback()])

What is logged, with MLflow's names:
- params: the `params` LightGBM trains with (with `num_iterations`); autolog adds train()'s other
  arguments (`num_boost_round`, `keep_training_booster`, ...);
- metrics: `<data>-<metric>` for each validation set and metric (`valid_0-binary_logloss`), at
  step = iteration; autolog adds `best_iteration` and `stopped_iteration` after early stopping;
- the model at `model/`: `booster.txt` (`Booster.save_model`, LightGBM's text format) and `model.json`
  (its description); `logger.lightgbm.load_model("runs:/<run_id>/model")` loads it.
The callback runs before `lightgbm.early_stopping` (order 20 < 30) so it sees every iteration; it logs
the model after the last one, which a stop before `num_boost_round` skips: log that model with
`logger.lightgbm.log_model(booster)` (autolog always logs it). It logs into the run you give it, or the
active run, or starts one that it ends after the last iteration.
"""

from __future__ import annotations

from typing import Any

import lightgbm

from .. import models
from . import common

FLAVOR = "lightgbm"
MODEL_FILE = "booster.txt"
_UNLOGGED = ("params", "train_set", "valid_sets", "valid_names", "fobj", "feval", "init_model", "learning_rates",
             "callbacks", "evals_result")
_patches = common.Patches()
_settings: dict = {}


class FlowsheetCallback:
    """A `lightgbm.train` callback: params, each iteration's eval results, the final model."""

    order = 20  # before lightgbm.early_stopping (30), which raises to stop
    before_iteration = False

    def __init__(self, run=None, log_models: bool = True, artifact_path: str = "model", log_params: bool = True):
        self._given, self._log_models, self._artifact_path = run, log_models, artifact_path
        self._log_params = log_params
        self.run: Any = None  # the run of the training under way
        self._owned = False
        self.iterations = 0  # of the latest training

    def __call__(self, env) -> None:
        if env.iteration == env.begin_iteration or self.run is None:
            self.run, self._owned = common.claim_run(self._given)
            self.iterations = 0
            if self._log_params:
                with common.quietly(FLAVOR, "params"):
                    common.log_params(self.run, dict(env.params), FLAVOR)
        self.iterations += 1
        with common.quietly(FLAVOR, "metrics"):
            self.run.log_metrics(iteration_metrics(env.evaluation_result_list or []), step=env.iteration)
        if env.iteration == env.end_iteration - 1:
            if self._log_models and isinstance(env.model, lightgbm.Booster):
                with common.quietly(FLAVOR, "the model"):
                    log_model(env.model, self._artifact_path, run=self.run)
            if self._owned:
                self.run.end()
            self.run = None


def iteration_metrics(results) -> dict[str, float]:
    """`<data>-<metric>` of each (data, metric, value, higher-is-better[, stdv]) result of an iteration."""
    return {f"{result[0]}-{result[1]}".replace("@", "_at_"): result[2] for result in results}


def log_model(booster, artifact_path: str | None = None, *, name: str | None = None, run=None, **_mlflow_only) -> str:
    """Save `booster` (a Booster, or a fitted LGBMModel) in LightGBM's text format under `artifact_path`."""
    from ..fluent import _run_for_logging

    run = run or _run_for_logging()
    booster = getattr(booster, "booster_", booster)
    description = models.describe(FLAVOR, booster, dict(getattr(booster, "params", None) or {}),
                                  ("lightgbm", "numpy"), file=MODEL_FILE)
    return models.log_model_files(run, artifact_path or name, description,
                                  {MODEL_FILE: lambda target: booster.save_model(str(target))})


def load_model(model_uri: str) -> lightgbm.Booster:
    return lightgbm.Booster(model_file=str(models.model_file(model_uri, MODEL_FILE)))


# --- autolog ---------------------------------------------------------------------------------------------

def autolog(log_models: bool = True, disable: bool = False, silent: bool = False, extra_tags: dict | None = None,
            **_mlflow_only) -> None:
    """Log every `lightgbm.train` (which LGBMModel.fit calls too); `disable=True` undoes it."""
    import lightgbm.engine
    import lightgbm.sklearn

    _patches.undo()
    common.set_silent(FLAVOR, silent)
    if disable:
        return
    _settings.update(log_models=log_models, extra_tags=dict(extra_tags or {}))
    original = lightgbm.engine.train
    modules = (lightgbm, lightgbm.engine, lightgbm.sklearn)
    _patches.replace_everywhere(modules, "train", original, _logged_train(original))


def _logged_train(original):
    import functools
    import inspect

    @functools.wraps(original)
    def train(*args, **kwargs):
        with common.session() as outermost:
            if not outermost:
                return original(*args, **kwargs)
            with common.training_run(FLAVOR, _settings["extra_tags"]) as run:
                arguments = common.call_arguments(original, args, kwargs)
                with common.quietly(FLAVOR, "params"):
                    common.log_params(run, {k: v for k, v in arguments.items() if k not in _UNLOGGED}, FLAVOR)
                callback = FlowsheetCallback(run=run, log_models=False)
                at = list(inspect.signature(original).parameters).index("callbacks")
                if len(args) > at:  # callbacks given by position
                    args = (*args[:at], [*(args[at] or []), callback], *args[at + 1:])
                else:
                    kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), callback]
                booster = original(*args, **kwargs)
                if booster.best_iteration > 0:
                    with common.quietly(FLAVOR, "early stopping"):
                        run.log_metrics({"stopped_iteration": callback.iterations,
                                         "best_iteration": booster.best_iteration})
                if _settings["log_models"]:
                    with common.quietly(FLAVOR, "the model"):
                        log_model(booster, "model", run=run)
                return booster

    return train
