"""`logger.autolog()`: every supported library, set up when it is imported; and `import logger` loads none."""

from __future__ import annotations

import json
import sys

import pytest
from helpers import run_python

import logger
from logger.reader import read_logs

pytest.importorskip("sklearn")
pytest.importorskip("xgboost")

FRAMEWORKS = ("sklearn", "xgboost", "lightgbm", "keras", "jax", "optuna", "psutil", "pynvml")


def test_importing_the_logger_and_naming_its_integrations_loads_no_framework(tmp_path):
    done = run_python(f"""
        import sys, logger
        logger.autolog, logger.enable_system_metrics_logging
        print(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))
    """, cwd=tmp_path)
    assert done.stdout.strip() == "[]"


def test_autolog_before_the_imports_sets_each_library_up_as_it_is_imported(tmp_path):
    log_dir = tmp_path / "runs"
    done = run_python("""
        import json, sys
        import logger
        logger.autolog()
        assert "sklearn" not in sys.modules and "xgboost" not in sys.modules
        from sklearn.linear_model import LinearRegression
        import xgboost
        LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
        xgboost.train({"max_depth": 1}, xgboost.DMatrix([[0.0], [1.0]], label=[0.0, 1.0]), 2)
        hooks = [type(finder).__name__ for finder in sys.meta_path if type(finder).__module__.startswith("logger")]
        print(json.dumps({"loaded": sorted(m for m in ("lightgbm", "keras", "optuna") if m in sys.modules),
                          "hooks": hooks, "loader": type(sys.modules["sklearn"].__loader__).__name__}))
    """, cwd=tmp_path, env={"FLOWSHEET_DIR": str(log_dir)})
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["loaded"] == []  # set up only what the script imported
    assert report["hooks"] == ["_AfterImport"]  # still waiting for lightgbm and keras
    assert report["loader"] == "SourceFileLoader"  # the module keeps its own loader
    logged = {run.tags["mlflow.autologging"]: run for run in read_logs(log_dir).runs.values()}
    assert sorted(logged) == ["sklearn", "xgboost"]
    assert "training_r2_score" in logged["sklearn"].metrics
    assert logged["xgboost"].params["max_depth"] == 1 and logged["xgboost"].status == "FINISHED"


def test_autolog_sets_up_a_library_already_imported_and_disable_undoes_everything(log_dir):
    from sklearn.linear_model import LinearRegression

    original = LinearRegression.__dict__["fit"]
    logger.autolog(log_models=False)
    try:
        assert LinearRegression.__dict__["fit"] is not original
        LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    finally:
        logger.autolog(disable=True)
    assert LinearRegression.__dict__["fit"] is original
    assert not any(type(finder).__module__.startswith("logger") for finder in sys.meta_path)
    [run] = read_logs(log_dir).runs.values()
    assert run.artifacts == [] and run.tags["mlflow.autologging"] == "sklearn"
