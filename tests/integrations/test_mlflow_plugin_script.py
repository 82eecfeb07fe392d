"""An MLflow tutorial script, unchanged, run with MLFLOW_TRACKING_URI=flowsheet:./runs, and the entry point
that makes MLflow find the store without the script importing anything of flowsheet's."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
import textwrap
import tomllib

import pytest

pytest.importorskip("mlflow")

from helpers import ROOT, clean_env  # noqa: E402
from mlflow_plugin_helpers import artifact_links, build_site, page, run_lines, tables  # noqa: E402

from logger.reader import read_logs  # noqa: E402

GROUP = "mlflow.tracking_store"

# MLflow's quickstart, as a user would write it: nothing in it names flowsheet.
TUTORIAL = '''
import mlflow
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
params = {"solver": "lbfgs", "max_iter": 300, "random_state": 8888}
lr = LogisticRegression(**params).fit(X_train, y_train)
accuracy = accuracy_score(y_test, lr.predict(X_test))

mlflow.set_experiment("MLflow Quickstart")
with mlflow.start_run(run_name="quickstart"):
    mlflow.log_params(params)
    mlflow.log_metric("accuracy", accuracy)
    for epoch in range(3):
        mlflow.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    mlflow.set_tag("Training Info", "Basic LR model for iris data")
    mlflow.log_dict({"classes": [0, 1, 2]}, "labels.json")
    signature = infer_signature(X_train, lr.predict(X_train))
    model_info = mlflow.sklearn.log_model(sk_model=lr, name="iris_model", signature=signature,
                                          pip_requirements=["scikit-learn"])

loaded = mlflow.pyfunc.load_model(model_info.model_uri)
print("accuracy", accuracy_score(y_test, loaded.predict(X_test)))
print("tracking", mlflow.get_tracking_uri())
'''


def declared_entry_point() -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return pyproject["project"]["entry-points"][GROUP]["flowsheet"]


def entry_point_probe(folder):
    """A distribution that declares only the entry point, as pyproject.toml declares it: MLflow finds it
    exactly as it finds an installed flowsheet's, whatever this checkout's install holds."""
    info = folder / "flowsheet_entry_point_probe-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: flowsheet-entry-point-probe\nVersion: 0\n")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\nflowsheet = {declared_entry_point()}\n")
    return folder


def test_pyproject_declares_the_store_the_package_registers():
    from mlflow.tracking._tracking_service import utils

    import logger.mlflow_plugin

    module, _, name = declared_entry_point().partition(":")
    target = getattr(importlib.import_module(module), name)
    assert target is logger.mlflow_plugin.flowsheet_store
    assert utils._tracking_store_registry._registry["flowsheet"] is target
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert any(r.startswith("mlflow") for r in pyproject["project"]["optional-dependencies"]["mlflow"])


def test_the_installed_distribution_lists_the_entry_point():
    try:
        installed = importlib.metadata.distribution("flowsheet")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("flowsheet is not installed (pip install -e .)")
    found = [e for e in installed.entry_points if e.group == GROUP]
    if not found:
        pytest.skip("the installed flowsheet predates the MLflow entry point: reinstall it (pip install -e .)")
    assert [(e.name, e.value) for e in found] == [("flowsheet", declared_entry_point())]
    assert "flowsheet" in {e.name for e in importlib.metadata.entry_points(group=GROUP)}


def test_an_unchanged_tutorial_script_writes_flowsheet_logs(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(TUTORIAL))
    probe = entry_point_probe(tmp_path / "probe")
    env = clean_env(MLFLOW_TRACKING_URI="flowsheet:./runs", MLFLOW_DISABLE_TELEMETRY="true")
    env["PYTHONPATH"] = f"{ROOT}:{probe}"
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "tracking flowsheet:./runs" in done.stdout
    assert float(done.stdout.split("accuracy ")[1].split()[0]) > 0.9

    log_dir = tmp_path / "runs"
    data = read_logs(log_dir)
    assert [e.name for e in data.experiments.values()] == ["MLflow Quickstart"]
    [run] = data.runs.values()
    assert (run.name, run.status) == ("quickstart", "FINISHED")
    assert run.params == {"solver": "lbfgs", "max_iter": "300", "random_state": "8888"}
    assert list(run.metrics["loss"].values) == [1.0, 0.5, 1 / 3] and run.metrics["accuracy"].latest > 0.9
    assert run.tags["Training Info"] == "Basic LR model for iris data"
    assert {"iris_model/MLmodel", "iris_model/requirements.txt", "labels.json"} <= {a.path for a in run.artifacts}
    assert list(run_lines(log_dir)) == [run.run_id]

    site = build_site(log_dir, tmp_path / "site")
    run_page = page(site, "runs", run.run_id)
    shown = tables(run_page)
    assert shown["Parameters"]["max_iter"] == ["300"] and {"accuracy", "loss"} <= set(shown["Metrics"])
    assert {"iris_model/MLmodel", "iris_model/requirements.txt", "labels.json"} <= artifact_links(run_page)
    assert "MLflow Quickstart" in page(site).get_text()
