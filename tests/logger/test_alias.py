"""`import flowsheet as mlflow`: the same logger under a name that a user's own logger.py cannot shadow."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

from helpers import ROOT, clean_env, run_python

from logger.reader import read_logs

LOCAL_LOGGER = """
# a project's own logging helper, as many projects have
import logging

def get_logger(name):
    return logging.getLogger(f"project.{name}")
"""

SCRIPT = """
import flowsheet as mlflow
import flowsheet.sklearn
from flowsheet.tracking import MlflowClient

from logger import get_logger  # the project's own logger.py, still theirs

import numpy as np
from sklearn.linear_model import LinearRegression

get_logger("train").info("starting")
mlflow.set_tracking_uri("file:./mlruns")
mlflow.set_experiment("shadowed")
with mlflow.start_run(run_name="beside-logger-py") as run:
    mlflow.log_params({"alpha": 0.5})
    for step in range(3):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    X = np.arange(8.0).reshape(-1, 1)
    flowsheet.sklearn.log_model(LinearRegression().fit(X, 2 * X[:, 0]), "model")
found = mlflow.search_runs(output_format="list")
client = MlflowClient()
print(mlflow.__name__, mlflow.start_run.__module__, get_logger.__module__)
print(len(found), found[0].data.params["alpha"], client.get_run(run.info.run_id).data.metrics["loss"])
print(flowsheet.sklearn.load_model(f"runs:/{run.info.run_id}/model").predict([[1.0]])[0])
"""


def run_script(folder, code: str) -> subprocess.CompletedProcess:
    """`python script.py` in `folder` (so sys.path[0] is that folder), with the worktree on PYTHONPATH."""
    (folder / "script.py").write_text(textwrap.dedent(code), encoding="utf-8")
    done = subprocess.run([sys.executable, "script.py"], cwd=folder, env=clean_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def test_a_script_beside_its_own_logger_py_logs_through_flowsheet(tmp_path):
    (tmp_path / "logger.py").write_text(LOCAL_LOGGER, encoding="utf-8")
    done = run_script(tmp_path, SCRIPT)
    names, counts, prediction = done.stdout.splitlines()
    # The logger runs under its private name; `logger` is the project's file.
    assert names.split() == ["flowsheet", "_flowsheet_logger.fluent", "logger"]
    assert counts.split() == ["1", "0.5", "0.3333333333333333"]
    assert abs(float(prediction) - 2.0) < 1e-9
    [run] = read_logs(tmp_path / "mlruns").runs.values()
    assert run.name == "beside-logger-py" and run.status == "FINISHED"
    assert len(run.metrics["loss"]) == 3
    assert {a.path for a in run.artifacts} >= {"model/model.pkl", "model/model.json"}


def test_the_shadowing_file_breaks_import_logger_but_not_flowsheet(tmp_path):
    """The case flowsheet exists for: the same script with `import logger as mlflow` picks the wrong file."""
    (tmp_path / "logger.py").write_text(LOCAL_LOGGER, encoding="utf-8")
    (tmp_path / "script.py").write_text("import logger as mlflow\nmlflow.start_run()\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, env=clean_env(), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0 and "has no attribute 'start_run'" in done.stderr


def test_a_user_logger_imported_first_stays_the_users(tmp_path):
    (tmp_path / "logger.py").write_text(LOCAL_LOGGER, encoding="utf-8")
    done = run_script(tmp_path, """
        import logger
        import flowsheet as mlflow
        import sys
        mlflow.set_tracking_uri("runs")
        with mlflow.start_run():
            mlflow.log_metric("m", 1.0)
        print(sys.modules["logger"] is logger, hasattr(logger, "get_logger"), mlflow.log_metric.__module__)
    """)
    assert done.stdout.split() == ["True", "True", "_flowsheet_logger.fluent"]
    assert len(read_logs(tmp_path / "runs").runs) == 1


def test_without_a_shadow_both_names_are_one_implementation(tmp_path):
    done = run_python("""
        import sys
        import flowsheet, flowsheet.sklearn, flowsheet.tracking
        import logger, logger.fluent
        from flowsheet.fluent import start_run
        print(flowsheet.sklearn is logger.sklearn, flowsheet.tracking is logger.tracking,
              start_run is logger.start_run, flowsheet.MlflowClient is logger.MlflowClient,
              logger.sklearn.__spec__.name, "_flowsheet_logger" in sys.modules)
        with flowsheet.start_run() as run:  # one stack of active runs for both names
            print(logger.active_run() is run)
    """, cwd=tmp_path, env={"FLOWSHEET_DIR": str(tmp_path / "runs")})
    assert done.stdout.split() == ["True", "True", "True", "True", "logger.sklearn", "False", "True"]


def test_flowsheet_names_what_it_does_not_have(tmp_path):
    done = run_python("""
        import flowsheet
        try:
            flowsheet.no_such_name
        except AttributeError as error:
            print(error)
        try:
            import flowsheet.no_such_module
        except ModuleNotFoundError as error:
            print(error)
        print(sorted(set(flowsheet.__all__) ^ set(__import__("logger").__all__)))
    """, cwd=tmp_path)
    assert done.stdout.splitlines() == ["module 'flowsheet' has no attribute 'no_such_name'",
                                        "No module named 'flowsheet.no_such_module'", "[]"]


def test_importing_flowsheet_stays_light(tmp_path):
    """What `import flowsheet` loads beyond the standard library: logger/__init__, nothing heavy (no pandas,
    numpy or orjson: the names load their modules on first use)."""
    done = run_python("""
        import sys
        before = set(sys.modules)
        import flowsheet
        new = {m.partition(".")[0] for m in set(sys.modules) - before}
        print(sorted(new - set(sys.stdlib_module_names)))
    """, cwd=tmp_path)
    assert done.stdout.strip() == "['flowsheet', 'logger']"


def test_logger_imports_itself_only_by_relative_imports():
    """An absolute `import logger.x` inside the package would reach a user's logger.py under flowsheet."""
    absolute = []
    for path in sorted((ROOT / "logger").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            absolute += [f"{path.relative_to(ROOT)}:{node.lineno}" for name in names
                         if name == "logger" or name.startswith("logger.")]
    assert absolute == []
