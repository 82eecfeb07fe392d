"""`MlflowClient`: MLflow's explicit tracking API (every call names its run), over a flowsheet log directory.

    from . import MlflowClient        # also logger.tracking.MlflowClient
    client = MlflowClient()                # the log directory of set_tracking_uri / $FLOWSHEET_DIR
    run = client.create_run(client.create_experiment("sweep"))
    client.log_metric(run.info.run_id, "loss", 0.3, step=1)
    client.set_terminated(run.info.run_id)

As in MLflow:
- each call is written before it returns (the fluent API buffers; the client does not);
- a run the client creates is not made active and is not ended at exit: it stays RUNNING until
  `set_terminated` (the reader calls it UNFINISHED once it has been quiet for the running window);
- logging to a run that has ended adds to it without reopening it; logging to a deleted run raises.
A run open in this process through the fluent API is written through its own `Run` object.
Runs read from other formats (an MLflow store in the log directory) can be read, not written.
The model registry's calls raise `NotSupported`, naming what to do instead.
"""

from __future__ import annotations

import threading
from pathlib import Path

from . import entities, events, experiments, fluent, search
from .entities import ViewType
from .exceptions import (
    InvalidParameterValue,
    NotSupported,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
    no_registry,
)
from .format import DELETED, RESTORED, RUN_FILE, RUN_NAME_TAG
from .paths import get_log_dir, path_from_uri
from .run import Run
from .segments import file_for_writing
from .writer import EventWriter

SEARCH_MAX_RESULTS = 1000  # MLflow's client default
MAX_ATTACHED = 64  # runs the client keeps a file open for; the oldest is closed past it

# MlflowClient's model registry calls: each raises NotSupported.
REGISTRY_CALLS = frozenset({
    "create_registered_model", "get_registered_model", "search_registered_models", "update_registered_model",
    "rename_registered_model", "delete_registered_model", "set_registered_model_tag",
    "delete_registered_model_tag", "set_registered_model_alias", "delete_registered_model_alias",
    "create_model_version", "get_model_version", "search_model_versions", "update_model_version",
    "delete_model_version", "get_latest_versions", "transition_model_version_stage", "set_model_version_tag",
    "delete_model_version_tag", "get_model_version_by_alias", "get_model_version_download_uri", "copy_model_version",
})


class MlflowClient:
    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None):
        if registry_uri is not None:
            raise no_registry(f"MlflowClient(registry_uri={registry_uri!r})")
        self.log_dir = (get_log_dir() if tracking_uri is None else path_from_uri(tracking_uri)).absolute()
        self._runs: dict[str, Run] = {}  # runs this client created or opened for writing
        self._lock = threading.Lock()

    @property
    def tracking_uri(self) -> str:
        return self.log_dir.as_uri()

    def __getattr__(self, name: str):
        if name in REGISTRY_CALLS:
            def refuse(*args, **kwargs):
                raise no_registry(f"MlflowClient.{name}")
            return refuse
        raise AttributeError(f"'MlflowClient' object has no attribute {name!r}: flowsheet's client has MLflow's "
                             "tracking calls (experiments, runs, metrics, params, tags, artifacts)")

    # --- experiments -------------------------------------------------------------------------

    def create_experiment(self, name: str, artifact_location: str | None = None, tags: dict | None = None) -> str:
        try:
            return experiments.create(self.log_dir, name, artifact_location, tags).experiment_id
        except FileExistsError as error:
            raise ResourceAlreadyExists(str(error)) from None

    def get_experiment(self, experiment_id: str) -> entities.Experiment:
        found = experiments.find_by_id(self.log_dir, str(experiment_id))
        if found is None:
            found = self._read_experiments().get(str(experiment_id))
        if found is None:
            raise ResourceDoesNotExist(f"No Experiment with id={experiment_id} exists in {self.log_dir}")
        return search.entity_experiment(found)

    def get_experiment_by_name(self, name: str) -> entities.Experiment | None:
        found = experiments.find_by_name(self.log_dir, name)
        if found is None:
            found = next((e for e in self._read_experiments().values() if e.name == name), None)
        return None if found is None else search.entity_experiment(found)

    def search_experiments(self, view_type: int = ViewType.ACTIVE_ONLY, max_results: int | None = None,
                           filter_string: str | None = None, order_by=None,
                           page_token: str | None = None) -> entities.PagedList:
        _one_page(page_token)
        if not self.log_dir.is_dir():
            return entities.PagedList()
        return entities.PagedList(search.search_experiments(view_type, max_results, filter_string, order_by,
                                                            log_dir=self.log_dir))

    # --- runs --------------------------------------------------------------------------------

    def create_run(self, experiment_id: str, start_time: int | None = None, tags: dict | None = None,
                   run_name: str | None = None) -> entities.Run:
        experiment = fluent._experiment_by_id(experiment_id, self.log_dir)
        run = Run.create(Path(experiment.path), experiment.experiment_id, run_name, tags=tags, start_time=start_time)
        self._keep(run)
        return _snapshot(run)

    def get_run(self, run_id: str) -> entities.Run:
        return search.get_run(run_id, self.log_dir)

    def get_metric_history(self, run_id: str, key: str) -> list[entities.Metric]:
        return search.get_metric_history(run_id, key, self.log_dir)

    def search_runs(self, experiment_ids, filter_string: str = "", run_view_type: int = ViewType.ACTIVE_ONLY,
                    max_results: int = SEARCH_MAX_RESULTS, order_by=None,
                    page_token: str | None = None) -> entities.PagedList:
        _one_page(page_token)
        ids = [experiment_ids] if isinstance(experiment_ids, (str, int)) else experiment_ids
        data = search.load(self.log_dir)
        runs = search.select_runs(data, [str(i) for i in ids], filter_string, order_by, max_results, run_view_type)
        return entities.PagedList(search.entity_run(run) for run in runs)

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        """End the run (FINISHED unless `status` says FAILED or KILLED), open in this process or not."""
        run = self._writable(run_id)
        run.end(status or "FINISHED", end_time)
        with self._lock:
            self._runs.pop(run_id, None)

    def delete_run(self, run_id: str) -> None:
        """Hide the run: search_runs, `reporter runs` and the site leave it out; get_run still finds it."""
        self._set_deleted(run_id, True)

    def restore_run(self, run_id: str) -> None:
        self._set_deleted(run_id, False)

    # --- logging -----------------------------------------------------------------------------

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int | None = None, step: int | None = None,
                   synchronous: bool | None = None, dataset_name=None, dataset_digest=None, model_id=None) -> None:
        run = self._writable(run_id)
        run.log_metric(key, value, step, timestamp)
        run.flush()

    def log_param(self, run_id: str, key: str, value, synchronous: bool | None = None):
        run = self._writable(run_id)
        run.log_param(key, value)
        run.flush()
        return value

    def set_tag(self, run_id: str, key: str, value, synchronous: bool | None = None) -> None:
        run = self._writable(run_id)
        run.set_tag(key, value)
        run.flush()

    def log_batch(self, run_id: str, metrics=(), params=(), tags=(), synchronous: bool | None = None) -> None:
        """Metric, Param and RunTag entities (logger.entities or MLflow's own); all checked before any is written."""
        run = self._writable(run_id)
        metrics, params, tags = list(metrics), list(params), list(tags)
        for metric in metrics:
            events.check_key(metric.key, "metric key")
            events.metric_value(metric.value)
        for tag in tags:
            events.plain_value(tag.value, f"tag {events.check_key(tag.key, 'tag key')!r}")
        run.log_params({param.key: param.value for param in params})  # checks every param before writing any
        run.set_tags({tag.key: tag.value for tag in tags})
        run.log_points((metric.key, metric.value, metric.step, metric.timestamp) for metric in metrics)
        run.flush()

    def log_artifact(self, run_id: str, local_path, artifact_path: str | None = None) -> None:
        self._writable(run_id).log_artifact(local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir, artifact_path: str | None = None) -> None:
        self._writable(run_id).log_artifacts(local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self._writable(run_id).log_text(text, artifact_file)

    def log_dict(self, run_id: str, dictionary: dict, artifact_file: str) -> None:
        self._writable(run_id).log_dict(dictionary, artifact_file)

    def log_table(self, run_id: str, data, artifact_file: str) -> None:
        from .tables import log_table

        run = self._writable(run_id)
        log_table(run, data, artifact_file)
        run.flush()

    # --- the runs behind the ids ---------------------------------------------------------------

    def _open_run(self, run_id: str) -> Run | None:
        with fluent._open_lock:
            run = fluent._open_runs.get(run_id)
        if run is None or run.ended:
            with self._lock:
                run = self._runs.get(run_id)
        return None if run is None or run.ended else run

    def _writable(self, run_id: str) -> Run:
        run = self._open_run(run_id)
        if run is None:
            run = Run.attach(self._folder(run_id))
            self._keep(run)
        return run

    def _keep(self, run: Run) -> None:
        with self._lock:
            self._runs[run.info.run_id] = run
            while len(self._runs) > MAX_ATTACHED:
                self._runs.pop(next(iter(self._runs)))._writer.close()

    def _folder(self, run_id: str) -> Path:
        try:
            return fluent._find_run_folder(run_id, self.log_dir)
        except ResourceDoesNotExist:
            found = search.load(self.log_dir).runs.get(run_id) if self.log_dir.is_dir() else None
            if found is not None:
                raise NotSupported(f"run {run_id} was read from {found.source} logs ({found.path}); flowsheet writes "
                                   "only its own runs: log to a new run, or copy these logs into flowsheet's format "
                                   "with `reporter import` first") from None
            raise

    def _set_deleted(self, run_id: str, deleted: bool) -> None:
        run = self._open_run(run_id)
        if run is not None:
            run.mark_deleted(deleted)
            return
        name = file_for_writing()
        append = EventWriter(self._folder(run_id) / name, shared=name == RUN_FILE)
        try:
            append.write(events.encode(events.event(DELETED if deleted else RESTORED)))
        finally:
            append.close()

    def _read_experiments(self) -> dict:
        return search.load(self.log_dir).experiments if self.log_dir.is_dir() else {}


def _one_page(page_token: str | None) -> None:
    if page_token is not None:
        raise InvalidParameterValue("flowsheet returns every result on the first page (its token is None): "
                                    f"there is no page {page_token!r}")


def _snapshot(run: Run) -> entities.Run:
    """An open run as MLflow's create_run returns it: its info, its params and tags as text."""
    info = run.info
    data = run.data
    tags = {RUN_NAME_TAG: info.run_name, **data.tags}
    return entities.Run(entities.RunInfo(info.run_id, info.experiment_id, info.run_name, info.status,
                                         info.start_time, info.end_time, info.artifact_uri, info.user_id,
                                         info.parent_run_id), entities.RunData(data.params, {}, tags))
