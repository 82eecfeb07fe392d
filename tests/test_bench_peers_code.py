"""The peers benchmark's code, without MLflow or dvclive: it imports, and its flowsheet and raw parts run.

`make bench-peers` needs network installs, so it is not part of the normal suite; this keeps its code
from rotting. The workloads run here in this process at a tiny size (no timing is asserted).
"""

import importlib
import json

import pytest

from benchmarks.peers import run as peers_run
from benchmarks.peers import systems

LOCAL = ("raw", "ours")


def test_modules_import_without_the_peers_installed():
    for name in ("benchmarks.peers", "benchmarks.peers.run", "benchmarks.peers.systems", "benchmarks.peers.child"):
        importlib.import_module(name)
    assert set(systems.LABELS) == set(systems.SYSTEMS)


@pytest.mark.parametrize("system", LOCAL)
def test_workloads_1_to_4_run_for_flowsheet_and_raw(system, tmp_path, log_dir):
    w1 = systems.log_metric_loop(system, str(tmp_path / "w1"), 50)
    w2 = systems.batch_loop(system, str(tmp_path / "w2"), 5)
    w3 = systems.many_runs(system, str(tmp_path / "w3"), 3)
    w4 = systems.read_back(system, str(tmp_path / "w3"))
    assert (w1["count"], w2["count"], w3["count"], w4["count"]) == (50, 50, 3, 3)
    assert w3["bytes"] > 3 * 500 * 40  # 500 metric lines a run were written
    assert all(result["seconds"] > 0 for result in (w1, w2, w3, w4))


def test_flowsheet_reads_back_what_raw_wrote(tmp_path, log_dir):
    """The raw loop writes the real format: flowsheet's reader sees its runs, params and metrics."""
    systems.many_runs("raw", str(tmp_path / "raw"), 2)
    from logger.search import search_runs

    frame = search_runs(log_dir=tmp_path / "raw")
    assert len(frame) == 2
    assert {"params.param_0", "metrics.metric_4"} <= set(frame.columns)


def test_dvclive_files_are_written_without_dvclive(tmp_path):
    systems.write_dvclive_run(str(tmp_path), 3, 4)
    summary = json.loads((tmp_path / "metrics.json").read_text())
    assert summary["step"] == 3 and summary["metric_2"] == pytest.approx(1 / 6)
    assert (tmp_path / "plots" / "metrics" / "metric_0.tsv").read_text().splitlines()[:2] == ["step\tmetric_0", "0\t1.0"]


def test_child_runs_a_workload_and_reports_memory(tmp_path):
    result = peers_run.child("log_metric_loop", "raw", str(tmp_path / "w1"), 20)
    assert result["count"] == 20 and result["peak_mb"] > 1 and result["wall_s"] >= result["seconds"]


def test_a_failing_child_is_a_row_not_a_crash(tmp_path):
    result = peers_run.child("log_metric_loop", "no-such-system", str(tmp_path), 1)
    assert "unknown system" in result["error"]
    table = peers_run.rate_table("W1", "calls", {"ours": {"seconds": 1.0, "count": 10, "peak_mb": 20.0},
                                                  "mlflow": result})
    assert "failed: " in table and "| flowsheet | 10 |" in table


def test_targets_compare_flowsheet_with_raw_and_mlflow():
    results = {"raw": {"seconds": 1.0, "count": 100}, "ours": {"seconds": 1.0, "count": 40},
               "mlflow": {"seconds": 1.0, "count": 1}}
    rows = peers_run.target_rows("W1", results)
    assert [(row["value"], row["met"]) for row in rows] == [("0.40", False), ("40x", False)]


def test_counts_scale_down_but_never_to_zero():
    tiny = peers_run.counts(0.0001)
    assert tiny["w1_calls"]["mlflow"] == 1 and tiny["w2_steps"]["dvclive"] == 0
    assert peers_run.counts(1.0)["w3_runs"]["ours"] == 1000
