"""MLflow's tracking quickstart with one line changed, `import mlflow` -> `import flowsheet as mlflow`: it runs
as it is, in a folder that also holds the user's own `logger.py`, and the site shows what it logged."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from helpers import ROOT, clean_env
from mlflow_plugin_helpers import build_site, page, tables

from logger.reader import read_logs

# The tracking part of MLflow's quickstart (its model-serving part, pyfunc and signatures, is MLflow's own).
TUTORIAL = '''
import flowsheet as mlflow
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

import logger  # the user's own logger.py, beside the script

X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
params = {"solver": "lbfgs", "max_iter": 300, "random_state": 8888}
lr = LogisticRegression(**params).fit(X_train, y_train)
accuracy = accuracy_score(y_test, lr.predict(X_test))

mlflow.set_tracking_uri("file:./runs")
mlflow.set_experiment("MLflow Quickstart")
with mlflow.start_run(run_name="quickstart"):
    mlflow.log_params(params)
    mlflow.log_metric("accuracy", accuracy)
    mlflow.set_tag("Training Info", "Basic LR model for iris data")
    model_info = mlflow.sklearn.log_model(sk_model=lr, name="iris_model")

loaded = mlflow.sklearn.load_model(model_info.model_uri)
print("accuracy", accuracy_score(y_test, loaded.predict(X_test)))
logger.say("done")
'''


def test_mlflows_quickstart_runs_with_the_import_swapped(tmp_path):
    (tmp_path / "train.py").write_text(textwrap.dedent(TUTORIAL))
    (tmp_path / "logger.py").write_text("def say(text):\n    print('user logger:', text)\n")
    env = clean_env()
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "user logger: done" in done.stdout and float(done.stdout.split("accuracy ")[1].split()[0]) > 0.9
    data = read_logs(tmp_path / "runs")
    [run] = data.runs.values()
    assert [e.name for e in data.experiments.values()] == ["MLflow Quickstart"]
    assert run.params == {"solver": "lbfgs", "max_iter": 300, "random_state": 8888}
    assert {"iris_model/model.pkl", "iris_model/model.json"} <= {a.path for a in run.artifacts}
    shown = tables(page(build_site(tmp_path / "runs", tmp_path / "site"), "runs", run.run_id))
    assert shown["Parameters"]["solver"] == ["lbfgs"] and "accuracy" in shown["Metrics"]
