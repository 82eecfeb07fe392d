"""sample_runs/ is what `make samples` makes: regenerating gives the same runs, params and metrics."""

import math
import subprocess
import sys

import pytest
from helpers import ROOT, clean_env

from logger.reader import read_logs

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")


def summary(log_dir):
    data = read_logs(log_dir)
    assert data.problems == []
    experiments = {e.experiment_id: e.name for e in data.experiments.values()}
    result = {}
    for run in data.runs.values():
        metrics = {key: (len(history), history.latest) for key, history in run.metrics.items()}
        result[(experiments[run.experiment_id], run.name)] = (run.status, run.params, metrics,
                                                              sorted(a.path for a in run.artifacts))
    return result


def same_number(a, b):
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def test_make_samples_reproduces_the_committed_runs(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "sample_runs" / "generate.py"), str(tmp_path)], check=True,
                   env=clean_env(), capture_output=True)
    committed, fresh = summary(ROOT / "sample_runs"), summary(tmp_path)
    assert committed.keys() == fresh.keys()
    assert {status for status, *_ in committed.values()} >= {"FINISHED", "FAILED", "UNFINISHED"}
    for name, (status, params, metrics, artifacts) in committed.items():
        fresh_status, fresh_params, fresh_metrics, fresh_artifacts = fresh[name]
        assert (status, params, artifacts) == (fresh_status, fresh_params, fresh_artifacts), name
        assert metrics.keys() == fresh_metrics.keys(), name
        for key, (count, latest) in metrics.items():
            assert count == fresh_metrics[key][0] and same_number(latest, fresh_metrics[key][1]), (name, key)


def test_samples_stay_small():
    size = sum(p.stat().st_size for p in (ROOT / "sample_runs").rglob("*") if p.is_file())
    assert size < 5_000_000
