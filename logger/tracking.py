"""`logger.tracking.MlflowClient`: where MLflow keeps the client (`from mlflow.tracking import MlflowClient`)."""

from .client import MlflowClient

__all__ = ["MlflowClient"]
