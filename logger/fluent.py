"""MLflow's fluent API: module-level functions that act on the current thread's innermost active run.

The state is explicit: each thread (each context) has its own stack of active runs in a
ContextVar, and every function delegates to a `Run` object that can also be used directly.
"""

from __future__ import annotations

import atexit
import contextvars
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from . import experiments, storage, writer
from .exceptions import InvalidParameterValue, InvalidValueType, ResourceAlreadyExists, ResourceDoesNotExist
from .format import EXPERIMENT_TAG, NOTE_TAG, RUN_NAME_TAG
from .model import Experiment
from .paths import get_log_dir, path_from_uri, set_log_dir
from .run import Run, Terminated
from .segments import is_run_folder

_stack: contextvars.ContextVar[tuple[Run, ...]] = contextvars.ContextVar("flowsheet_active_runs", default=())
_open_runs: dict[str, Run] = {}
_open_lock = threading.Lock()
_chosen_experiment: Experiment | None = None
_last_run: Run | None = None
_exit_status = ["FINISHED"]
_hooks_installed = False
# A forked child logs into the runs it inherited, but ending them is the parent's job.
os.register_at_fork(after_in_child=_open_runs.clear)


# --- where and which experiment ---------------------------------------------------------------

def set_tracking_uri(uri: str | os.PathLike) -> None:
    set_log_dir(path_from_uri(uri))


def get_tracking_uri() -> str:
    return get_log_dir().as_uri()


def create_experiment(name: str, artifact_location: str | None = None, tags: dict | None = None) -> str:
    """Create an experiment and return its id; raises ResourceAlreadyExists if the name is taken, and
    NotSupported for an `artifact_location` (artifacts always live in the run's folder: see `experiments.create`)."""
    try:
        return experiments.create(get_log_dir(), name, artifact_location, tags).experiment_id
    except FileExistsError as error:
        raise ResourceAlreadyExists(str(error)) from None


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment the default for new runs, creating it by name if needed."""
    global _chosen_experiment
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidParameterValue("set_experiment takes exactly one of experiment_name and experiment_id")
    if experiment_name is not None:
        found = experiments.get_or_create(get_log_dir(), experiment_name)
    else:
        found = _experiment_by_id(experiment_id)
    _chosen_experiment = found
    return found


def get_experiment_by_name(name: str) -> Experiment | None:
    return experiments.find_by_name(get_log_dir(), name)


def get_experiment(experiment_id: str) -> Experiment:
    return _experiment_by_id(experiment_id)


def set_experiment_tag(key: str, value) -> None:
    set_experiment_tags({key: value})


def set_experiment_tags(tags: dict) -> None:
    from . import events

    experiment = _default_experiment()
    lines = b"".join(events.encode(events.event(EXPERIMENT_TAG, key=events.check_key(k, "tag key"),
                                                value=events.plain_value(v, "tag"))) for k, v in tags.items())
    append = writer.EventWriter(Path(experiment.path) / experiments.EXPERIMENT_FILE)
    try:
        append.write(lines)
    finally:
        append.close()
    experiment.tags.update(tags)


def _experiment_by_id(experiment_id, log_dir: Path | None = None) -> Experiment:
    log_dir = log_dir or get_log_dir()
    found = experiments.find_by_id(log_dir, str(experiment_id))
    if found is None:
        raise ResourceDoesNotExist(f"no experiment with id {experiment_id!r} in {log_dir}")
    return found


def _default_experiment() -> Experiment:
    """set_experiment() first, then FLOWSHEET_EXPERIMENT_*, then MLFLOW_EXPERIMENT_*, then 'Default'."""
    log_dir = get_log_dir()
    if _chosen_experiment is not None and Path(_chosen_experiment.path).parent == log_dir:
        return _chosen_experiment
    for prefix in ("FLOWSHEET", "MLFLOW"):
        experiment_id = os.environ.get(f"{prefix}_EXPERIMENT_ID")
        name = os.environ.get(f"{prefix}_EXPERIMENT_NAME")
        if experiment_id:
            return _experiment_by_id(experiment_id)
        if name:
            return experiments.get_or_create(log_dir, name)
    return experiments.get_or_create(log_dir, experiments.DEFAULT_EXPERIMENT)


# --- runs ---------------------------------------------------------------------------------------

def start_run(run_id: str | None = None, experiment_id: str | None = None, run_name: str | None = None,
              nested: bool = False, tags: dict | None = None, description: str | None = None,
              parent_run_id: str | None = None, log_system_metrics: bool | None = None, **_mlflow_only) -> Run:
    """Start a run (or resume one by id) and make it this thread's active run; usable with `with`.
    `log_system_metrics` (default: MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING): see logger/system_metrics.py."""
    global _last_run
    from . import system_metrics

    sample_system = system_metrics.wanted(log_system_metrics)  # before the run: a missing psutil raises here
    stack = _active_stack()
    if stack and not nested:
        raise RuntimeError(f"run {stack[-1].info.run_id} is already active; end it first, or call "
                           "start_run(nested=True) to start a child run")
    run_id = run_id or (None if stack else os.environ.get("FLOWSHEET_RUN_ID") or os.environ.get("MLFLOW_RUN_ID"))
    if run_id:
        run = Run.resume(_find_run_folder(run_id))
        extra = dict(tags or {})
        if run_name:
            extra[RUN_NAME_TAG] = run_name
        if description:
            extra[NOTE_TAG] = description
        if extra:
            run.set_tags(extra)
    else:
        parent = stack[-1].info.run_id if (nested and stack) else parent_run_id
        experiment = _experiment_by_id(experiment_id) if experiment_id is not None else _default_experiment()
        run = Run.create(Path(experiment.path), experiment.experiment_id, run_name, parent, description, tags)
    _register(run)
    _stack.set(stack + (run,))
    _last_run = run
    if sample_system:
        system_metrics.start(run, resumed=bool(run_id))
    return run


def create_run(experiment_id: str | None = None, run_name: str | None = None, tags: dict | None = None,
               parent_run_id: str | None = None, description: str | None = None) -> Run:
    """A run that is not made active: for programs that log to several runs at once, explicitly."""
    experiment = _experiment_by_id(experiment_id) if experiment_id is not None else _default_experiment()
    run = Run.create(Path(experiment.path), experiment.experiment_id, run_name, parent_run_id, description, tags)
    _register(run)
    return run


def end_run(status: str = "FINISHED") -> None:
    stack = _active_stack()
    if stack:
        stack[-1].end(status)


def active_run() -> Run | None:
    stack = _active_stack()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    return _last_run


def flush() -> None:
    """Write everything buffered in this process to disk now (and to object storage, when logging there)."""
    try:
        writer.flush_all()
    finally:
        storage.upload_all()


def _active_stack() -> tuple[Run, ...]:
    stack = _stack.get()
    if stack and stack[-1].ended:  # ended elsewhere (end() on the object, another thread, exit)
        stack = tuple(run for run in stack if not run.ended)
        _stack.set(stack)
    return stack


def _run_for_logging(run_id: str | None = None) -> Run:
    """The run a module-level call logs to; like MLflow, one is started if none is active."""
    if run_id is not None:
        with _open_lock:
            run = _open_runs.get(run_id)
        if run is None:
            raise InvalidParameterValue(f"run {run_id} is not open in this process; resume it with "
                                        "start_run(run_id=...), or log to it with MlflowClient()")
        return run
    stack = _stack.get()
    if stack and not stack[-1].ended:
        return stack[-1]
    return active_run() or start_run()


def _find_run_folder(run_id: str, log_dir: Path | None = None) -> Path:
    """The folder of run `run_id`, matched exactly: an id is a folder name, never a pattern."""
    _check_run_id(run_id)
    log_dir = log_dir or get_log_dir()
    for experiment in experiments._experiment_folders(log_dir):
        folder = experiment / run_id
        if is_run_folder(folder):
            return folder
    from .storage import fetch_run, is_staged

    if is_staged(log_dir):  # logs on object storage: the run may have been started on another machine
        try:
            fetched = fetch_run(log_dir, run_id)
        except Exception as error:  # any storage client's error: the run cannot be found, say why
            raise ResourceDoesNotExist(f"no run with id {run_id!r} in {log_dir} (this machine's staging folder), "
                                       f"and the object storage could not be read: {error}") from None
        if fetched is not None:
            return fetched
    raise ResourceDoesNotExist(f"no run with id {run_id!r} in {log_dir}")


def _check_run_id(run_id) -> None:
    if not isinstance(run_id, str):
        raise InvalidValueType(f"{run_id!r} is not a valid run id: it must be a string")
    if not run_id or run_id.startswith(".") or "/" in run_id or "\\" in run_id or not run_id.isprintable():
        raise InvalidParameterValue(f"{run_id!r} is not a valid run id: it must be one folder name, not empty, hidden "
                         "or holding a path separator or control character")


def _register(run: Run) -> None:
    run._on_end = _forget
    with _open_lock:
        _open_runs[run.info.run_id] = run
    _install_exit_hooks()


def _forget(run: Run) -> None:
    with _open_lock:
        if _open_runs.get(run.info.run_id) is run:
            del _open_runs[run.info.run_id]
    stack = _stack.get()
    if run in stack:
        _stack.set(tuple(r for r in stack if r is not run))


# --- ending runs when the process ends ----------------------------------------------------------

def _end_open_runs() -> None:
    with _open_lock:
        runs = list(_open_runs.values())
    for run in reversed(runs):  # children before parents
        try:
            run.end(_exit_status[0])
        except OSError as error:
            print(f"flowsheet: could not finish run {run.info.run_id}: {error}", file=sys.stderr)
    try:
        writer.flush_all()
    except OSError as error:
        print(f"flowsheet: could not write buffered events: {error}", file=sys.stderr)


def _install_exit_hooks() -> None:
    """Installed with the first run, not at import: runs left open end at exit as FINISHED, or as
    FAILED after an uncaught exception, or as KILLED after Ctrl-C or SIGTERM."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_end_open_runs)
    previous_hook = sys.excepthook

    def note_uncaught(kind, error, traceback):
        _exit_status[0] = "KILLED" if issubclass(kind, (KeyboardInterrupt, Terminated)) else "FAILED"
        previous_hook(kind, error, traceback)

    sys.excepthook = note_uncaught
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum, frame) -> None:
    _exit_status[0] = "KILLED"
    raise Terminated(128 + signum)


# --- module-level logging calls: MLflow's signatures, acting on the current run ---------------

def log_metric(key: str, value: float, step: int | None = None, synchronous: bool | None = None,
               timestamp: int | None = None, run_id: str | None = None, model_id: str | None = None,
               dataset: Any = None) -> None:
    stack = _stack.get()  # the common case inline: this is called in tight training loops
    if stack and run_id is None and not stack[-1]._ended:
        stack[-1].log_metric(key, value, step, timestamp)
    else:
        _run_for_logging(run_id).log_metric(key, value, step, timestamp)


def log_metrics(metrics: dict[str, float], step: int | None = None, synchronous: bool | None = None,
                run_id: str | None = None, timestamp: int | None = None, **_mlflow_only: Any) -> None:
    _run_for_logging(run_id).log_metrics(metrics, step, timestamp)


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    return _run_for_logging().log_param(key, value)


def log_params(params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None) -> None:
    _run_for_logging(run_id).log_params(params)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    _run_for_logging().set_tag(key, value)


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> None:
    _run_for_logging().set_tags(tags)


def log_artifact(local_path: str | os.PathLike, artifact_path: str | None = None, run_id: str | None = None) -> None:
    _run_for_logging(run_id).log_artifact(local_path, artifact_path)


def log_artifacts(local_dir: str | os.PathLike, artifact_path: str | None = None, run_id: str | None = None) -> None:
    _run_for_logging(run_id).log_artifacts(local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    _run_for_logging(run_id).log_text(text, artifact_file)


def log_dict(dictionary: dict, artifact_file: str, run_id: str | None = None) -> None:
    _run_for_logging(run_id).log_dict(dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str, **_mlflow_only: Any) -> None:
    _run_for_logging().log_figure(figure, artifact_file)


def log_image(image: Any, artifact_file: str | None = None, key: str | None = None, step: int | None = None,
              timestamp: int | None = None, **_mlflow_only: Any) -> None:
    _run_for_logging().log_image(image, artifact_file, key=key, step=step, timestamp=timestamp)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    return _run_for_logging().get_artifact_uri(artifact_path)
