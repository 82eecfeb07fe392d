"""Helpers for tests: fresh interpreters for exit hooks, signals and import cost."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV_NAMES = ("FLOWSHEET_DIR", "FLOWSHEET_EXPERIMENT_NAME", "FLOWSHEET_EXPERIMENT_ID", "FLOWSHEET_RUN_ID",
             "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID", "MLFLOW_TRACKING_URI",
             "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL",
             "MLFLOW_SYSTEM_METRICS_NODE_ID", "FLOWSHEET_SEGMENTS")


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run_python(code: str, cwd: Path, env: dict | None = None, check: bool = True, timeout: float = 60):
    """Run a snippet in a fresh interpreter (for exit hooks, signals, import cost, other processes)."""
    full_env = clean_env(**(env or {}))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"snippet failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done
