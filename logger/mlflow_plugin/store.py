"""`FlowsheetStore`: MLflow's tracking store API over a flowsheet log directory.

Writes go through the logger (logger/run.py, logger/experiments.py), so the files are the ones
`import logger as mlflow` writes; reads go through the reader and its search layer (logger/search.py),
so `get_run` and `search_runs` see what `reporter build` shows. Run artifacts are the run's own
`artifacts/` folder (a file: URI), which MLflow's local artifact repository writes into.

MLflow's default experiment id "0" stands for the experiment named "Default" (created when first
used), since flowsheet's experiment ids follow from names (docs/FORMAT.md). What the log format
cannot hold raises `MlflowException` with NOT_IMPLEMENTED and says why: deleting, restoring or
renaming experiments and runs, and deleting tags (the format only appends).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable
from pathlib import Path

from mlflow.entities import RunStatus, ViewType
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking import SEARCH_MAX_RESULTS_DEFAULT
from mlflow.store.tracking.abstract_store import AbstractStore
from mlflow.utils.search_utils import SearchExperimentsUtils, SearchUtils

from .. import events, experiments, search, writer
from ..format import (
    ARTIFACTS_DIR,
    DATASETS_TAG,
    EXPERIMENT_FILE,
    EXPERIMENT_TAG,
    LOGGED_MODELS_TAG,
    MAX_VALUE_LENGTH,
    RUN_NAME_TAG,
)
from ..model import Experiment, LogData
from . import entities
from .entities import invalid, not_found, unsupported
from .models import ModelRegistry
from .runs import RunHandles, checked
from .uri import SCHEME, log_dir_from_uri

DEFAULT_EXPERIMENT_ID = "0"  # MLflow's id for the experiment runs go to when none is chosen


class FlowsheetStore(AbstractStore):
    """Built by MLflow for `flowsheet:<folder>` tracking URIs (the `mlflow.tracking_store` entry point)."""

    def __init__(self, store_uri: str | None = None, artifact_uri: str | None = None):
        super().__init__()
        if artifact_uri:
            raise invalid(f"artifact_uri={artifact_uri!r}: the flowsheet store keeps each run's artifacts in the "
                          "run's own folder, so that the log directory holds everything")
        try:
            self.log_dir = log_dir_from_uri(store_uri or f"{SCHEME}:")
        except ValueError as error:
            raise invalid(error) from None
        self._runs = RunHandles(self.log_dir)
        self._models = ModelRegistry(self.log_dir)
        self._outputs: dict[str, list] = {}  # run id -> models it logged, this process
        self._model_inputs: dict[str, list] = {}  # run id -> LoggedModelInputs, this process
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- experiments

    def create_experiment(self, name, artifact_location=None, tags=None):
        try:
            return experiments.create(self.log_dir, name, artifact_location or None,
                                      {tag.key: tag.value for tag in tags or ()}).experiment_id
        except FileExistsError:
            raise MlflowException(f"Experiment '{name}' already exists.", RESOURCE_ALREADY_EXISTS) from None
        except (ValueError, TypeError) as error:
            raise invalid(error) from None

    def get_experiment(self, experiment_id):
        return entities.experiment_entity(self._experiment(str(experiment_id)))

    def get_experiment_by_name(self, experiment_name):
        found = experiments.find_by_name(self.log_dir, experiment_name) if isinstance(experiment_name, str) else None
        if found is None:  # an experiment of another format in the log directory
            found = next((e for e in self._data().experiments.values() if e.name == experiment_name), None)
        return None if found is None else entities.experiment_entity(found)

    def search_experiments(self, view_type=ViewType.ACTIVE_ONLY, max_results=SEARCH_MAX_RESULTS_DEFAULT,
                           filter_string=None, order_by=None, page_token=None):
        if not isinstance(max_results, int) or max_results < 1:
            raise invalid(f"max_results must be a positive integer, got {max_results!r}")
        if view_type == ViewType.DELETED_ONLY:  # nothing is ever deleted here
            return PagedList([], None)
        found = [entities.experiment_entity(e) for e in self._data().experiments.values()]
        found = SearchExperimentsUtils.filter(found, filter_string)
        found = SearchExperimentsUtils.sort(found, order_by or ["creation_time DESC", "experiment_id ASC"])
        page, token = SearchUtils.paginate(found, page_token, max_results)
        return PagedList(page, token)

    def set_experiment_tag(self, experiment_id, tag):
        experiment = self._experiment(str(experiment_id), writable=True)
        line = checked(lambda: events.encode(events.event(
            EXPERIMENT_TAG, key=events.check_key(tag.key, "tag key"), value=events.plain_value(tag.value, "tag"))))
        append = writer.EventWriter(Path(experiment.path) / EXPERIMENT_FILE)
        try:
            checked(lambda: append.write(line))
        finally:
            checked(append.close)

    def delete_experiment_tag(self, experiment_id, key):
        raise unsupported("deleting an experiment tag", "the log format only appends; set it to '' instead")

    def delete_experiment(self, experiment_id):
        raise unsupported("deleting an experiment", "remove its folder from the log directory instead")

    def restore_experiment(self, experiment_id):
        raise unsupported("restoring an experiment", "experiments are never deleted here")

    def rename_experiment(self, experiment_id, new_name):
        raise unsupported("renaming an experiment", "an experiment's id and folder follow from its name")

    # ---------------------------------------------------------------- runs: writing

    def create_run(self, experiment_id, user_id, start_time, tags, run_name):
        experiment = self._experiment(str(experiment_id), writable=True)
        given = {tag.key: tag.value for tag in tags or ()}
        run = self._runs.create(experiment, start_time, given, run_name or None)
        return entities.new_run_entity(run.info, run.data.tags)

    def update_run_info(self, run_id, run_status, end_time, run_name):
        status = RunStatus.to_string(run_status) if isinstance(run_status, int) else str(run_status)
        if run_name:
            self._runs.write(run_id, lambda run: _rename(run, run_name))
        self._runs.set_status(run_id, status, end_time)
        return self.get_run(run_id).info

    def log_batch(self, run_id: str, metrics, params, tags) -> None:
        params, tags = list(params or ()), list(tags or ())
        seen: dict[str, str] = {}
        for param in params:
            if seen.setdefault(param.key, param.value) != param.value:
                raise invalid(f"param {param.key!r} appears twice in one batch with different values")
        metrics = list(metrics or ())
        if entities.MLFLOW_3:  # MLflow 2's metrics have no model_id
            metrics = self._without_copies(run_id, metrics)

        def log(run):
            if params:
                run.log_params({param.key: param.value for param in params})
            run.log_points((metric.key, metric.value, metric.step, metric.timestamp) for metric in metrics)
            if tags:
                run.set_tags({tag.key: tag.value for tag in tags})

        self._runs.write(run_id, log)
        if entities.MLFLOW_3:
            self._models.add_metrics(metrics)

    def log_inputs(self, run_id, datasets=None, models=None):
        summaries = entities.dataset_summaries(datasets)
        if summaries:
            self._runs.write(run_id, lambda run: run.set_tag(
                DATASETS_TAG, entities.datasets_tag(run.data.tags.get(DATASETS_TAG), summaries)))
        if models:
            self._runs.folder(run_id)  # the run must exist
            with self._lock:
                self._model_inputs.setdefault(run_id, []).extend(models)

    def log_outputs(self, run_id, models):
        self._runs.folder(run_id)
        with self._lock:
            self._outputs.setdefault(run_id, []).extend(models or ())

    def record_logged_model(self, run_id, mlflow_model):
        record = mlflow_model.get_tags_dict()

        def add(run):
            try:
                history = json.loads(run.data.tags.get(LOGGED_MODELS_TAG) or "[]")
            except ValueError:
                history = []
            history = [*history, record] if isinstance(history, list) else [record]
            text = json.dumps(history)
            while len(text) > MAX_VALUE_LENGTH and len(history) > 1:  # the oldest give way
                history.pop(0)
                text = json.dumps(history)
            run.set_tag(LOGGED_MODELS_TAG, text)

        self._runs.write(run_id, add)

    def delete_run(self, run_id):
        # a `deleted` line, as logger.MlflowClient writes it: the site and search_runs leave the run out
        self._set_deleted(run_id, True)

    def restore_run(self, run_id):
        self._set_deleted(run_id, False)

    def _set_deleted(self, run_id, deleted: bool) -> None:
        from ..client import MlflowClient

        client = MlflowClient(str(self.log_dir))
        checked(lambda: client.delete_run(run_id) if deleted else client.restore_run(run_id))

    def delete_tag(self, run_id, key):
        raise unsupported("deleting a run tag", "the log format only appends; set it to '' instead")

    def link_traces_to_run(self, trace_ids, run_id):
        raise unsupported("traces", "the log format has no place for them")

    # ---------------------------------------------------------------- runs: reading

    def get_run(self, run_id):
        data = self._data()
        run = data.runs.get(run_id)
        if run is None:
            raise not_found(f"Run '{run_id}'")
        outputs = self._run_outputs(run_id, self._models.of_runs([run]) if entities.MLFLOW_3 else ())
        with self._lock:
            model_inputs = list(self._model_inputs.get(run_id, ()))
        return entities.run_entity(run, self._runs.is_open(run_id), outputs, model_inputs)

    def _search_runs(self, experiment_ids, filter_string, run_view_type, max_results, order_by, page_token):
        if run_view_type == ViewType.DELETED_ONLY:
            return [], None
        data = self._data()
        try:
            runs = search.select_runs(data, self._experiment_ids(experiment_ids), filter_string or "", order_by)
        except ValueError as error:
            raise invalid(error) from None
        page, token = SearchUtils.paginate(runs, page_token, max_results)
        return [entities.run_entity(run, self._runs.is_open(run.run_id), self._run_outputs(run.run_id, ()))
                for run in page], token

    def get_metric_history(self, run_id, metric_key, max_results=None, page_token=None):
        from mlflow.entities import Metric

        self._runs.flush()
        try:
            points = search.get_metric_history(run_id, metric_key, log_dir=self.log_dir)
        except (search.NotFoundError, FileNotFoundError):
            raise not_found(f"Run '{run_id}'") from None
        whose = {"run_id": run_id} if entities.MLFLOW_3 else {}  # MLflow 2's Metric has no run_id
        found = [Metric(p.key, p.value, p.timestamp, p.step, **whose) for p in points]
        if max_results is None:
            return PagedList(found[SearchUtils.parse_start_offset_from_page_token(page_token):], None)
        page, token = SearchUtils.paginate(found, page_token, max_results)
        return PagedList(page, token)

    # ---------------------------------------------------------------- logged models (MLflow 3)

    def create_logged_model(self, experiment_id=DEFAULT_EXPERIMENT_ID, name=None, source_run_id=None, tags=None,
                            params=None, model_type=None):
        from mlflow.utils.validation import _validate_logged_model_name

        _validate_logged_model_name(name)
        if not source_run_id:
            raise unsupported("a logged model without a run", "the store keeps a model's files in its run's "
                              "artifacts; log it inside mlflow.start_run()")
        folder = self._runs.folder(source_run_id)
        return self._models.create(folder.parent.name, folder / ARTIFACTS_DIR, name, source_run_id,
                                   {t.key: t.value for t in tags or ()}, {p.key: p.value for p in params or ()},
                                   model_type)

    def get_logged_model(self, model_id, allow_deleted=False):
        return self._models.get(model_id, self._data)

    def finalize_logged_model(self, model_id, status):
        return self._models.finalize(self.get_logged_model(model_id), status)

    def set_logged_model_tags(self, model_id, tags):
        self._models.set_tags(self.get_logged_model(model_id), {t.key: t.value for t in tags or ()})

    def delete_logged_model_tag(self, model_id, key):
        self._models.delete_tag(self.get_logged_model(model_id), key)

    def log_logged_model_params(self, model_id, params):
        self._models.log_params(self.get_logged_model(model_id), {p.key: p.value for p in params or ()})

    def delete_logged_model(self, model_id):
        self._models.delete(model_id)

    def search_logged_models(self, experiment_ids, filter_string=None, datasets=None, max_results=None,
                             order_by=None, page_token=None):
        from mlflow.store.tracking import SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT
        from mlflow.utils.search_utils import SearchLoggedModelsUtils

        wanted = set(self._experiment_ids(experiment_ids))
        runs = [run for run in self._data().runs.values() if run.experiment_id in wanted]
        found = SearchLoggedModelsUtils.filter_logged_models(self._models.of_runs(runs), filter_string, datasets)
        found = SearchLoggedModelsUtils.sort(found, order_by)
        page, token = SearchLoggedModelsUtils.paginate(found, page_token,
                                                       max_results or SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT)
        return PagedList(page, token)

    # ---------------------------------------------------------------- helpers

    def _data(self) -> LogData:
        """The log directory as the reader sees it now, after this process's lines are on disk."""
        self._runs.flush()
        try:
            return search.load(self.log_dir)
        except (FileNotFoundError, NotADirectoryError):
            return LogData()

    def _experiment(self, experiment_id: str, writable: bool = False) -> Experiment:
        if experiment_id == DEFAULT_EXPERIMENT_ID:
            return checked(lambda: experiments.get_or_create(self.log_dir, experiments.DEFAULT_EXPERIMENT))
        found = experiments.find_by_id(self.log_dir, experiment_id)
        if found is None and not writable:
            found = self._data().experiments.get(experiment_id)
        if found is None:
            raise not_found(f"Experiment '{experiment_id}'" + (" (a flowsheet experiment)" if writable else ""))
        return found

    def _experiment_ids(self, experiment_ids: Iterable | None) -> list[str]:
        ids = [experiment_ids] if isinstance(experiment_ids, (str, int)) else list(experiment_ids or ())
        default = experiments.experiment_id_for(experiments.DEFAULT_EXPERIMENT)
        return [default if str(i) == DEFAULT_EXPERIMENT_ID else str(i) for i in ids]

    def _run_outputs(self, run_id: str, models) -> list:
        """The LoggedModelOutputs of a run: what log_outputs said, then the run's other models (step 0)."""
        with self._lock:
            outputs = list(self._outputs.get(run_id, ()))
        if models:
            from mlflow.entities import LoggedModelOutput

            known = {output.model_id for output in outputs}
            outputs += [LoggedModelOutput(m.model_id, 0) for m in models if m.model_id not in known]
        return outputs

    def _without_copies(self, run_id: str, metrics: list) -> list:
        """MLflow copies a run's metrics onto a model it logs (log_batch with model_id): the points the
        run already has are not written to it a second time."""
        keys = {m.key for m in metrics if m.model_id}
        if not keys:
            return metrics
        self._runs.flush()
        have: set[tuple] = set()
        for key in keys:
            try:
                have.update((key, p.step, p.timestamp, _same(p.value)) for p in
                            search.get_metric_history(run_id, key, log_dir=self.log_dir))
            except (search.NotFoundError, FileNotFoundError):
                break
        kept = [m for m in metrics if not (m.model_id and (m.key, m.step, m.timestamp, _same(m.value)) in have)]
        self._models.add_metrics([m for m in metrics if m.model_id and m not in kept])
        return kept


def _rename(run, name: str) -> None:
    if run.info.run_name != name:
        run.set_tag(RUN_NAME_TAG, name)


_NAN = object()


def _same(value: float):
    """A value as a set member in which NaN equals NaN."""
    return _NAN if isinstance(value, float) and math.isnan(value) else value
