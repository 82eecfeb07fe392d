"""Optuna's callback against the real library: a run per trial under the study's run, read back by the reader."""

from __future__ import annotations

import pytest

import logger
from logger.reader import read_logs

optuna = pytest.importorskip("optuna")

from logger.integrations.optuna import FlowsheetCallback  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)


def objective(trial):
    x = trial.suggest_float("x", -4.0, 4.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    trial.report(abs(x), step=0)
    trial.report(abs(x) / 2, step=1)
    if trial.number == 2:
        raise optuna.TrialPruned()
    if trial.number == 3:
        raise ArithmeticError("the objective failed")
    return (x - 1) ** 2 + (kind == "b")


def study(**extra):
    return optuna.create_study(study_name="tune", sampler=optuna.samplers.RandomSampler(seed=0), **extra)


def read(log_dir):
    runs = read_logs(log_dir).runs.values()
    parents = [run for run in runs if run.parent_run_id is None]
    trials = {run.name: run for run in runs if run.parent_run_id is not None}
    return parents, trials


def test_each_trial_is_a_child_run_of_the_active_run(log_dir):
    tuned = study()
    with logger.start_run(run_name="search") as active:
        tuned.optimize(objective, n_trials=5, callbacks=[FlowsheetCallback()], catch=(ArithmeticError,))
        assert not active.ended
    [parent], trials = read(log_dir)
    assert parent.name == "search" and parent.status == "FINISHED"
    assert sorted(trials) == [f"trial-{n}" for n in range(5)]
    assert all(run.parent_run_id == parent.run_id for run in trials.values())
    for trial in tuned.trials:
        run = trials[f"trial-{trial.number}"]
        assert run.params == trial.params
        assert run.tags["optuna.trial_state"] == trial.state.name and run.tags["optuna.trial_number"] == trial.number
        assert list(run.metrics["intermediate_value"].steps) == [0, 1]
    assert {name: run.status for name, run in trials.items()} == {
        "trial-0": "FINISHED", "trial-1": "FINISHED", "trial-2": "KILLED", "trial-3": "FAILED", "trial-4": "FINISHED"}
    assert trials["trial-0"].metrics["value"].values[0] == pytest.approx(tuned.trials[0].value)
    assert trials["trial-2"].metrics["value"].values[0] == pytest.approx(tuned.trials[2].value)  # pruned: its last report
    assert "value" not in trials["trial-3"].metrics
    best = parent.metrics["best_value"]
    assert list(best.steps) == [0, 1, 2, 3, 4] and best.values[-1] == pytest.approx(tuned.best_value)
    assert parent.tags["optuna.best_trial"] == tuned.best_trial.number
    assert parent.tags["optuna.study_name"] == "tune" and parent.tags["optuna.direction"] == "MINIMIZE"


def test_without_an_active_run_the_callback_starts_the_studys_run_and_ends_it_on_end(log_dir):
    callback = FlowsheetCallback()
    study().optimize(objective, n_trials=2, callbacks=[callback])
    assert logger.active_run() is None  # the study's run is not made the active one
    callback.end()
    [parent], trials = read(log_dir)
    assert parent.name == "tune" and parent.status == "FINISHED" and len(trials) == 2


def test_several_objectives_get_one_metric_each(log_dir):
    def two(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        return x, 1 - x

    with logger.start_run():
        study(directions=["minimize", "maximize"]).optimize(
            two, n_trials=2, callbacks=[FlowsheetCallback(metric_name=["loss", "gain"])])
        study(directions=["minimize", "maximize"]).optimize(two, n_trials=1, callbacks=[FlowsheetCallback()])
    [parent] = [run for run in read_logs(log_dir).runs.values() if run.parent_run_id is None]
    trials = [run for run in read_logs(log_dir).runs.values() if run.parent_run_id is not None]
    assert sorted(tuple(sorted(run.metrics)) for run in trials) == [("gain", "loss")] * 2 + [("value_0", "value_1")]
    assert parent.tags["optuna.direction"] == "MINIMIZE,MAXIMIZE" and "best_value" not in parent.metrics


def test_trials_in_worker_threads_find_the_run_active_when_the_callback_was_made(log_dir):
    with logger.start_run(run_name="threads"):
        study().optimize(lambda trial: trial.suggest_float("x", 0.0, 1.0), n_trials=4, n_jobs=2,
                         callbacks=[FlowsheetCallback()])
    [parent], trials = read(log_dir)
    assert parent.name == "threads" and len(trials) == 4
