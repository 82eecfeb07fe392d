"""`logger.exceptions.MlflowException`: the error MLflow's API raises, with MLflow's error code names.

    try:
        mlflow.get_run("no-such-id")
    except mlflow.exceptions.MlflowException as error:
        error.error_code  # "RESOURCE_DOES_NOT_EXIST"

`error_code` is the code's name, as on MLflow's exception. Each code flowsheet raises has a subclass
that is also the built-in exception flowsheet raised before it had these (and that code may still
catch): an invalid value is a ValueError, a missing run or experiment a LookupError and a ValueError,
a non-number metric a TypeError. `NotSupported` is what flowsheet raises where it deliberately does
not do what MLflow does (a model registry, a tracking server): its message names what to do instead.
"""

from __future__ import annotations

INTERNAL_ERROR = "INTERNAL_ERROR"
BAD_REQUEST = "BAD_REQUEST"
INVALID_STATE = "INVALID_STATE"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
FEATURE_DISABLED = "FEATURE_DISABLED"
PERMISSION_DENIED = "PERMISSION_DENIED"

# The HTTP status MLflow's server answers with for each code (MLflow's own table, for the codes above).
_HTTP_STATUS = {INTERNAL_ERROR: 500, INVALID_STATE: 500, NOT_IMPLEMENTED: 501, BAD_REQUEST: 400,
                INVALID_PARAMETER_VALUE: 400, RESOURCE_ALREADY_EXISTS: 400, RESOURCE_DOES_NOT_EXIST: 404,
                PERMISSION_DENIED: 403}


class MlflowException(Exception):
    """An error of the MLflow API; `error_code` names its kind (MLflow's names), `message` says it."""

    error_code = INTERNAL_ERROR

    def __init__(self, message, error_code: str | None = None, **kwargs):
        self.message = str(message)
        if error_code is not None:
            self.error_code = str(error_code)
        self.json_kwargs = kwargs
        super().__init__(self.message)

    def serialize_as_json(self) -> str:
        import json

        return json.dumps({"error_code": self.error_code, "message": self.message, **self.json_kwargs})

    def get_http_status_code(self) -> int:
        return _HTTP_STATUS.get(self.error_code, 500)

    @classmethod
    def invalid_parameter_value(cls, message, **kwargs) -> MlflowException:
        return InvalidParameterValue(message, **kwargs)


class InvalidParameterValue(MlflowException, ValueError):
    """A key, value or argument MLflow would refuse (a param logged again with another value, a bad filter)."""

    error_code = INVALID_PARAMETER_VALUE


class InvalidValueType(InvalidParameterValue, TypeError):
    """A value of a type that cannot be logged there (a string as a metric value)."""


class ResourceDoesNotExist(MlflowException, LookupError, ValueError):
    """No run or experiment with that id (or name) in the log directory."""

    error_code = RESOURCE_DOES_NOT_EXIST


class ResourceAlreadyExists(MlflowException, ValueError):
    """An experiment with that name exists already; a model folder is not empty."""

    error_code = RESOURCE_ALREADY_EXISTS


class NotSupported(MlflowException, ValueError):
    """What flowsheet deliberately does not do (a model registry, a remote tracking server); the message
    names the alternative."""

    error_code = NOT_IMPLEMENTED


REGISTRY_ALTERNATIVE = ("flowsheet has no model registry: a model stays in the run that logged it; load it with "
                        "logger.sklearn.load_model('runs:/<run_id>/<artifact_path>'), or save it to a folder with "
                        "logger.sklearn.save_model(model, path) and load it from there")


def no_registry(what: str) -> NotSupported:
    """The error for every model registry call (register_model, registered_model_name=, models:/ URIs)."""
    return NotSupported(f"{what}: {REGISTRY_ALTERNATIVE}")
