"""flowsheet's logger: MLflow's fluent tracking API, writing append-only JSON lines.

    import logger as mlflow

    with mlflow.start_run(run_name="baseline"):
        mlflow.log_param("lr", 0.01)
        mlflow.log_metric("loss", 0.42, step=1)

Importing it is cheap: no pandas, numpy, altair or jinja2 until a function needs them.
"""

from logger.fluent import (
    active_run,
    create_experiment,
    create_run,
    end_run,
    flush,
    get_experiment,
    get_experiment_by_name,
    get_tracking_uri,
    last_active_run,
    set_experiment,
    set_experiment_tag,
    set_experiment_tags,
    set_tracking_uri,
    start_run,
)
from logger.fluent import _run_for_logging, _stack
from logger.paths import get_log_dir, set_log_dir
from logger.run import Run, RunInfo

__version__ = "0.1.0"


def log_metric(key, value, step=None, synchronous=None, timestamp=None, run_id=None, model_id=None, dataset=None):
    stack = _stack.get()  # the common case inline: this is called in tight training loops
    if stack and run_id is None and not stack[-1]._ended:
        stack[-1].log_metric(key, value, step, timestamp)
    else:
        _run_for_logging(run_id).log_metric(key, value, step, timestamp)


def log_metrics(metrics, step=None, synchronous=None, run_id=None, timestamp=None, **_mlflow_only):
    _run_for_logging(run_id).log_metrics(metrics, step, timestamp)


def log_param(key, value, synchronous=None):
    return _run_for_logging().log_param(key, value)


def log_params(params, synchronous=None, run_id=None):
    _run_for_logging(run_id).log_params(params)


def set_tag(key, value, synchronous=None):
    _run_for_logging().set_tag(key, value)


def set_tags(tags, synchronous=None):
    _run_for_logging().set_tags(tags)


def log_artifact(local_path, artifact_path=None, run_id=None):
    _run_for_logging(run_id).log_artifact(local_path, artifact_path)


def log_artifacts(local_dir, artifact_path=None, run_id=None):
    _run_for_logging(run_id).log_artifacts(local_dir, artifact_path)


def log_text(text, artifact_file, run_id=None):
    _run_for_logging(run_id).log_text(text, artifact_file)


def log_dict(dictionary, artifact_file, run_id=None):
    _run_for_logging(run_id).log_dict(dictionary, artifact_file)


def log_figure(figure, artifact_file, **_mlflow_only):
    _run_for_logging().log_figure(figure, artifact_file)


def log_image(image, artifact_file, **_mlflow_only):
    _run_for_logging().log_image(image, artifact_file)


def get_artifact_uri(artifact_path=None):
    return _run_for_logging().get_artifact_uri(artifact_path)


_LAZY = {
    "sklearn": ("logger.sklearn", None),
    "search_runs": ("logger.search", "search_runs"),
    "get_run": ("logger.search", "get_run"),
    "get_metric_history": ("logger.search", "get_metric_history"),
    "search_experiments": ("logger.search", "search_experiments"),
    "list_experiments": ("logger.search", "list_experiments"),
}


def __getattr__(name):
    """Heavier parts load on first use, so `import logger` stays fast."""
    if name not in _LAZY:
        raise AttributeError(f"module 'logger' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    return module if attribute is None else getattr(module, attribute)
