"""flowsheet's logger: MLflow's fluent tracking API, writing append-only JSON lines.

    import logger as mlflow

    with mlflow.start_run(run_name="baseline"):
        mlflow.log_param("lr", 0.01)
        mlflow.log_metric("loss", 0.42, step=1)

Importing it costs almost nothing: each name loads its module on first use (PEP 562), so
scripts that import the logger but log little never pay for orjson, pandas or the reader.
"""

__version__ = "0.1.0"

_FLUENT = (
    "active_run", "create_experiment", "create_run", "end_run", "flush", "get_experiment", "get_experiment_by_name",
    "get_tracking_uri", "last_active_run", "set_experiment", "set_experiment_tag", "set_experiment_tags",
    "set_tracking_uri", "start_run", "log_metric", "log_metrics", "log_param", "log_params", "set_tag", "set_tags",
    "log_artifact", "log_artifacts", "log_text", "log_dict", "log_figure", "log_image", "get_artifact_uri",
)
_WHERE: dict[str, tuple[str, str | None]] = {name: (".fluent", name) for name in _FLUENT}
_WHERE.update({
    "get_log_dir": (".paths", "get_log_dir"),
    "set_log_dir": (".paths", "set_log_dir"),
    "Run": (".run", "Run"),
    "RunInfo": (".run", "RunInfo"),
    "sklearn": (".sklearn", None),
    "search_runs": (".search", "search_runs"),
    "get_run": (".search", "get_run"),
    "get_metric_history": (".search", "get_metric_history"),
    "search_experiments": (".search", "search_experiments"),
    "list_experiments": (".search", "list_experiments"),
    "MlflowClient": (".client", "MlflowClient"),
    "tracking": (".tracking", None),
    "exceptions": (".exceptions", None),
    "entities": (".entities", None),
    "data": (".data", None),
    # framework integrations (logger/integrations/): each loads its framework on first use
    "autolog": (".integrations.autolog", "autolog"),
    "xgboost": (".integrations.xgboost", None),
    "lightgbm": (".integrations.lightgbm", None),
    "keras": (".integrations.keras", None),
    "optuna": (".integrations.optuna", None),
    "enable_system_metrics_logging": (".system_metrics", "enable_system_metrics_logging"),
    "disable_system_metrics_logging": (".system_metrics", "disable_system_metrics_logging"),
    "set_system_metrics_sampling_interval": (".system_metrics", "set_system_metrics_sampling_interval"),
})
_WHERE.update({name: (".fluent_more", name) for name in (
    "log_table", "load_table", "log_input", "delete_run", "register_model", "set_registry_uri", "get_registry_uri")})
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module 'logger' has no attribute {name!r}")
    import importlib

    module_name, attribute = _WHERE[name]
    module = importlib.import_module(module_name, __name__)  # relative: see flowsheet/__init__.py
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # later look-ups are plain attribute reads: nothing on the hot path
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
