"""Optuna: a callback for `study.optimize(..., callbacks=[...])` that logs one run per trial, nested under
a run for the study.

    from .optuna import FlowsheetCallback
    with logger.start_run(run_name="tuning"):         # the study's run: the parent of the trials' runs
        study.optimize(objective, n_trials=20, callbacks=[FlowsheetCallback()])

Each finished trial becomes a child run named `trial-<number>` holding the trial's params; its objective
value as the metric `value` (several objectives: `value_0`, `value_1`, ..., or the names given as
`metric_name`); what the trial reported with `trial.report` as `intermediate_value` at those steps; the
tags `optuna.trial_number`, `optuna.trial_state`, `optuna.study_name`. Its status follows the trial's state:
COMPLETE -> FINISHED, FAIL -> FAILED (trials that `catch=` let the study go on after), PRUNED -> KILLED.

The study's run is the run given as `parent_run`, else the run active when the callback is made (so trials
that Optuna runs in worker threads, n_jobs > 1, still find it), else the run active when the first trial
ends, else a run the callback starts, named after the study, and ends on `callback.end()` or at exit.
After each trial it gets `best_value` at step = trial number (one objective) and the tags
`optuna.study_name`, `optuna.direction`, `optuna.best_trial`.
"""

from __future__ import annotations

import threading

from . import common

FLAVOR = "optuna"
STATUS_OF_STATE = {"COMPLETE": "FINISHED", "FAIL": "FAILED", "PRUNED": "KILLED"}


class FlowsheetCallback:
    def __init__(self, metric_name: str | list[str] = "value", parent_run=None):
        from .. import fluent

        self.metric_name = metric_name
        self.parent = parent_run or fluent.active_run()
        self._owned = self._tagged = False
        self._lock = threading.Lock()

    def __call__(self, study, trial) -> None:
        tags = {"optuna.trial_number": trial.number, "optuna.trial_state": trial.state.name,
                "optuna.study_name": study.study_name}
        with common.quietly(FLAVOR, f"trial {trial.number}"):
            parent = self._parent(study)
            child = common.child_run(parent, f"trial-{trial.number}", tags)
            try:
                child.log_params(common.param_values(trial.params))
                if trial.values:
                    names = self._metric_names(len(trial.values))
                    child.log_metrics(dict(zip(names, trial.values)))
                for step, value in sorted(trial.intermediate_values.items()):
                    child.log_metric("intermediate_value", value, step=step)
            finally:
                child.end(STATUS_OF_STATE.get(trial.state.name, "FINISHED"))
            self._log_best(parent, study, trial.number)

    def end(self, status: str = "FINISHED") -> None:
        """End the study's run if the callback started it."""
        if self._owned and self.parent is not None:
            self.parent.end(status)

    def _parent(self, study):
        from .. import fluent

        with self._lock:
            if self.parent is None or self.parent.ended:
                active = fluent.active_run()
                self.parent, self._owned = ((active, False) if active is not None
                                            else (fluent.create_run(run_name=study.study_name), True))
                self._tagged = False
            if not self._tagged:
                self._tagged = True
                with common.quietly(FLAVOR, "the study's tags"):
                    self.parent.set_tags({"optuna.study_name": study.study_name,
                                          "optuna.direction": ",".join(d.name for d in study.directions)})
            return self.parent

    def _metric_names(self, count: int) -> list[str]:
        if isinstance(self.metric_name, str):
            return [self.metric_name] if count == 1 else [f"{self.metric_name}_{i}" for i in range(count)]
        if len(self.metric_name) != count:
            raise ValueError(f"metric_name names {len(self.metric_name)} objectives; the study has {count}")
        return list(self.metric_name)

    def _log_best(self, parent, study, number: int) -> None:
        if len(study.directions) != 1:
            return
        try:
            best = study.best_trial
        except ValueError:  # no trial has completed yet
            return
        parent.log_metric("best_value", best.value, step=number)
        parent.set_tag("optuna.best_trial", best.number)
