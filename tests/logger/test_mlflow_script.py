"""`import logger as mlflow` runs a typical MLflow tracking script unchanged."""

from helpers import run_python
from ondisk import lines_of, points_of, run_folders

SCRIPT = """
import logger as mlflow
import numpy as np
from sklearn.linear_model import LogisticRegression

mlflow.set_tracking_uri("file:./mlruns")
mlflow.set_experiment("iris-like")
X = np.random.RandomState(0).normal(size=(40, 3)); y = (X[:, 0] > 0).astype(int)
with mlflow.start_run(run_name="sweep") as parent:
    for C in (0.1, 1.0):
        with mlflow.start_run(run_name=f"C={C}", nested=True):
            mlflow.log_params({"C": C, "solver": "lbfgs"})
            model = LogisticRegression(C=C).fit(X, y)
            for epoch in range(3):
                mlflow.log_metric("train_loss", 1.0 / (epoch + 1), step=epoch)
            mlflow.log_metrics({"accuracy": model.score(X, y)})
            mlflow.set_tag("model", "logreg")
            mlflow.sklearn.log_model(model, "model")
    mlflow.log_text("done", "summary.txt")
    print(mlflow.active_run().info.run_id == parent.info.run_id, mlflow.get_artifact_uri().startswith("file://"))
"""


def test_typical_mlflow_script_runs_unchanged(tmp_path):
    done = run_python(SCRIPT, cwd=tmp_path)
    assert done.stdout.split() == ["True", "True"]
    folders = run_folders(tmp_path / "mlruns")
    assert len(folders) == 3
    starts = {lines_of(f / "run.jsonl")[0]["name"]: lines_of(f / "run.jsonl") for f in folders}
    assert set(starts) == {"sweep", "C=0.1", "C=1.0"}
    child = starts["C=0.1"]
    assert child[0]["parent_run_id"] == starts["sweep"][0]["run_id"]
    assert {e["key"] for e in points_of(child)} == {"train_loss", "accuracy"}
    assert all(events[-1]["status"] == "FINISHED" for events in starts.values())


def test_import_stays_light(tmp_path):
    done = run_python("""
        import sys, logger, flowsheet
        heavy = [m for m in ("pandas", "numpy", "altair", "jinja2", "yaml", "sklearn") if m in sys.modules]
        print(heavy)
    """, cwd=tmp_path)
    assert done.stdout.strip() == "[]"
