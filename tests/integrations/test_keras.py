"""Keras 3 (on JAX) callback and autolog against the real library, read back by the reader."""

from __future__ import annotations

import os

import pytest

import logger
from logger.reader import read_logs

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
numpy = pytest.importorskip("numpy")

from logger.integrations.keras import FlowsheetCallback  # noqa: E402

# Keras 3.15 on NumPy 2 warns about its own arrays; nothing of ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def data():
    rng = numpy.random.default_rng(0)
    X = rng.normal(size=(64, 4)).astype("float32")
    return X, (X[:, 0] > 0).astype("float32")


def model():
    keras.utils.set_random_seed(0)
    built = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    built.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    return built


def runs(log_dir) -> list:
    return sorted(read_logs(log_dir).runs.values(), key=lambda run: run.start_time)


def test_the_callback_logs_the_optimizer_each_epoch_and_the_model(log_dir, data):
    X, y = data
    net = model()
    with logger.start_run(run_name="dense") as active:
        history = net.fit(X, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                          callbacks=[FlowsheetCallback()])
        assert not active.ended
    [run] = runs(log_dir)
    assert run.status == "FINISHED"
    assert run.params["optimizer_name"] == "adam"
    assert run.params["optimizer_learning_rate"] == pytest.approx(0.01)
    assert run.params["epochs"] == 3 and run.params["steps_per_epoch"] == 3  # 48 training rows / 16
    assert set(run.metrics) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert list(run.metrics["loss"].steps) == [0, 1, 2]
    assert list(run.metrics["val_loss"].values) == pytest.approx(history.history["val_loss"])
    assert {a.path for a in run.artifacts} == {"model/model.keras", "model/model.json"}
    loaded = logger.keras.load_model(f"runs:/{run.run_id}/model")
    assert loaded.predict(X, verbose=0) == pytest.approx(net.predict(X, verbose=0), abs=1e-6)


def test_the_callback_can_log_every_n_steps_instead(log_dir, data):
    X, y = data
    with logger.start_run():
        model().fit(X, y, epochs=2, batch_size=16, verbose=0,
                    callbacks=[FlowsheetCallback(log_every_epoch=False, log_every_n_steps=2, log_models=False)])
    [run] = runs(log_dir)
    assert list(run.metrics["loss"].steps) == [2, 4, 6, 8]  # optimizer steps: 4 batches an epoch
    with pytest.raises(ValueError, match="every n steps"):
        FlowsheetCallback(log_every_epoch=True, log_every_n_steps=2)


def test_autolog_logs_fit_arguments_and_ends_its_run(log_dir, data):
    X, y = data
    logger.keras.autolog()
    try:
        model().fit(X, y, epochs=2, batch_size=32, validation_split=0.5, verbose=0)
        model().fit(X, y, epochs=1, verbose=0)
    finally:
        logger.keras.autolog(disable=True)
    first, second = runs(log_dir)
    assert first.status == second.status == "FINISHED"
    assert first.tags["mlflow.autologging"] == "keras"
    assert first.params["batch_size"] == 32 and first.params["validation_split"] == 0.5
    assert first.params["epochs"] == 2 and first.params["optimizer_name"].startswith("adam")  # Keras numbers names
    assert list(first.metrics["val_accuracy"].steps) == [0, 1]
    assert second.params["batch_size"] == 32  # Keras's default, for arrays
    assert "model/model.keras" in {a.path for a in second.artifacts}


def test_autolog_ends_the_run_failed_when_fit_raises_and_disable_undoes_it(log_dir, data):
    X, y = data
    original = keras.Model.fit
    logger.keras.autolog()
    try:
        with pytest.raises(ValueError):
            model().fit(X, y[:10], epochs=1, verbose=0)
    finally:
        logger.keras.autolog(disable=True)
    assert keras.Model.fit is original
    [run] = runs(log_dir)
    assert run.status == "FAILED"
