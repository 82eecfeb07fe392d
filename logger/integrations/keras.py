"""Keras 3: `logger.keras.autolog()` (as `mlflow.keras.autolog()`), or a callback you pass yourself.

    import logger
    logger.keras.autolog()                    # every keras.Model.fit
    model.fit(x, y, epochs=3, batch_size=16)

    from .keras import FlowsheetCallback
    with logger.start_run():
        model.fit(x, y, epochs=3, callbacks=[FlowsheetCallback()])

What is logged, with MLflow's names:
- params: the optimizer's configuration as `optimizer_<key>` (`optimizer_name`, `optimizer_learning_rate`,
  ...), `epochs` and `steps_per_epoch`; autolog adds fit()'s arguments (`batch_size`, `validation_split`,
  `shuffle`, ...: a callback cannot see those);
- metrics: each epoch's logs (`loss`, `accuracy`, `val_loss`, ...) at step = epoch; or, with
  `log_every_epoch=False, log_every_n_steps=N`, the batch logs every N optimizer steps, at step = that step;
- the model at `model/`: `model.keras` (`Model.save`) and `model.json` (its description);
  `logger.keras.load_model("runs:/<run_id>/model")` loads it.
The callback logs into the run you give it, or the active run, or starts one that it ends after training.
"""

from __future__ import annotations

import keras

from .. import models
from . import common

FLAVOR = "keras"
MODEL_FILE = "model.keras"
_UNLOGGED = ("self", "x", "y", "callbacks", "validation_data", "verbose", "sample_weight",
             "epochs", "steps_per_epoch")  # the last two: the callback logs what fit() made of them
_patches = common.Patches()
_settings: dict = {}


class FlowsheetCallback(keras.callbacks.Callback):
    """Logs the optimizer's configuration, per-epoch (or per-step) metrics and the final model."""

    def __init__(self, run=None, log_every_epoch: bool = True, log_every_n_steps: int | None = None,
                 log_models: bool = True, artifact_path: str = "model"):
        super().__init__()
        if log_every_epoch == (log_every_n_steps is not None):
            raise ValueError("log either every epoch (log_every_epoch=True) or every n steps "
                             "(log_every_epoch=False, log_every_n_steps=n), as MLflow's callback does")
        self._given, self._log_models, self._artifact_path = run, log_models, artifact_path
        self.log_every_epoch, self.log_every_n_steps = log_every_epoch, log_every_n_steps
        self.run, self._owned = None, False

    def on_train_begin(self, logs=None):
        self.run, self._owned = common.claim_run(self._given)
        with common.quietly(FLAVOR, "params"):
            optimizer = {f"optimizer_{key}": value for key, value in self.model.optimizer.get_config().items()}
            shape = {"epochs": self.params.get("epochs"), "steps_per_epoch": self.params.get("steps")}
            common.log_params(self.run, {**optimizer, **shape}, FLAVOR)

    def on_epoch_end(self, epoch, logs=None):
        if self.log_every_epoch and logs:
            with common.quietly(FLAVOR, "metrics"):
                self.run.log_metrics(_numbers(logs), step=epoch)

    def on_train_batch_end(self, batch, logs=None):
        if self.log_every_n_steps is None or not logs:
            return
        with common.quietly(FLAVOR, "metrics"):
            step = int(self.model.optimizer.iterations.numpy())
            if step % self.log_every_n_steps == 0:
                self.run.log_metrics(_numbers(logs), step=step)

    def on_train_end(self, logs=None):
        if self._log_models:
            with common.quietly(FLAVOR, "the model"):
                log_model(self.model, self._artifact_path, run=self.run)
        if self._owned:
            self.run.end()


def _numbers(logs: dict) -> dict[str, float]:
    return {key: float(value) for key, value in logs.items() if _is_scalar(value)}


def _is_scalar(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def log_model(model, artifact_path: str | None = None, *, name: str | None = None, run=None, **_mlflow_only) -> str:
    """Save `model` as a `.keras` file under `artifact_path` of the active run or `run`."""
    from ..fluent import _run_for_logging

    run = run or _run_for_logging()
    try:
        optimizer = model.optimizer.get_config() if model.optimizer is not None else {}
    except Exception:
        optimizer = {}
    params = {f"optimizer_{key}": value for key, value in optimizer.items()}
    description = models.describe(FLAVOR, model, params, ("keras", "jax", "tensorflow", "torch", "numpy"),
                                  file=MODEL_FILE, backend=keras.backend.backend())
    return models.log_model_files(run, artifact_path or name, description,
                                  {MODEL_FILE: lambda target: model.save(str(target))})


def load_model(model_uri: str):
    return keras.saving.load_model(str(models.model_file(model_uri, MODEL_FILE)))


# --- autolog ---------------------------------------------------------------------------------------------

def autolog(log_every_epoch: bool = True, log_every_n_steps: int | None = None, log_models: bool = True,
            disable: bool = False, silent: bool = False, extra_tags: dict | None = None, **_mlflow_only) -> None:
    """Log every `keras.Model.fit`; `disable=True` undoes it."""
    _patches.undo()
    common.set_silent(FLAVOR, silent)
    if disable:
        return
    FlowsheetCallback(log_every_epoch=log_every_epoch, log_every_n_steps=log_every_n_steps)  # checks the choice
    _settings.update(log_every_epoch=log_every_epoch, log_every_n_steps=log_every_n_steps, log_models=log_models,
                     extra_tags=dict(extra_tags or {}))
    _patches.replace(keras.Model, "fit", _logged_fit(keras.Model.fit))


def _logged_fit(original):
    import functools
    import inspect

    @functools.wraps(original)
    def fit(self, *args, **kwargs):
        with common.session() as outermost:
            if not outermost:
                return original(self, *args, **kwargs)
            with common.training_run(FLAVOR, _settings["extra_tags"]) as run:
                arguments = common.call_arguments(original, (self, *args), kwargs)
                params = {k: v for k, v in arguments.items() if k not in _UNLOGGED}
                if params.get("batch_size") is None and _is_array(arguments.get("x")):
                    params["batch_size"] = 32  # Keras's documented default for arrays
                with common.quietly(FLAVOR, "params"):
                    common.log_params(run, params, FLAVOR)
                callback = FlowsheetCallback(run=run, log_every_epoch=_settings["log_every_epoch"],
                                             log_every_n_steps=_settings["log_every_n_steps"],
                                             log_models=_settings["log_models"])
                at = list(inspect.signature(original).parameters).index("callbacks") - 1  # after self
                if len(args) > at:  # callbacks given by position
                    args = (*args[:at], [*(args[at] or []), callback], *args[at + 1:])
                else:
                    kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), callback]
                return original(self, *args, **kwargs)

    return fit


def _is_array(value) -> bool:
    return hasattr(value, "shape") and hasattr(value, "__len__")
