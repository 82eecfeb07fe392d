"""`reporter runs`: the three formats, and the one-line errors."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from tests.logwriting import T0, end, metric, param, write_experiment, write_run

from reporter.cli import main

A, B = "a" * 32, "b" * 32


@pytest.fixture
def log_dir(tmp_path):
    exp = write_experiment(tmp_path, "houses")
    write_run(exp, A, [param("alpha", 0.1), param("solver", "a-very-long-solver-name-" * 3),
                       metric("f1", 0.9123456, 0, t=T0 + 10), end(t=T0 + 65_000)], name="lasso", t=T0)
    write_run(exp, B, [param("alpha", 1), metric("f1", 0.5, 0, t=T0 + 30), end("FAILED", t=T0 + 40), b"garbage"],
              name="ridge", t=T0 + 1)
    return tmp_path


def invoke(*args):
    return CliRunner().invoke(main, ["runs", *map(str, args)])


def test_table(log_dir):
    result = invoke(log_dir)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["run", "id", "status", "start", "(UTC)", "duration"]
    assert "params.alpha" in lines[0] and "metrics.f1" in lines[0]
    ridge, lasso = lines[2], lines[3]  # newest first
    assert ridge.startswith("ridge") and "FAILED" in ridge
    assert lasso.startswith("lasso") and "2024-11-27 09:33" in lasso and "1:05" in lasso and "0.9123" in lasso
    assert "…" in lasso  # the long param is cut
    assert "run.jsonl:5: malformed JSON" in result.stderr


def test_csv(log_dir):
    result = invoke(log_dir, "--format", "csv", "--order-by", "metrics.f1 DESC")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["run_id"] for r in rows] == [A, B]
    assert rows[0]["metrics.f1"] == "0.9123456" and rows[0]["params.alpha"] == "0.1"
    assert rows[0]["start_time"].startswith("2024-11-27T09:33:20")


def test_json(log_dir):
    result = invoke(log_dir, "--format", "json", "--filter", "params.alpha = '1'")
    assert result.exit_code == 0
    (record,) = json.loads(result.stdout)
    assert record["run_id"] == B and record["status"] == "FAILED"
    assert record["start_time"] == "2024-11-27T09:33:20.001000Z" and record["parent_run_id"] is None


def test_json_nan_is_null_and_columns(log_dir):
    write_run(log_dir / "houses-00000006", "c" * 32, [metric("f1", "NaN", 0)], name="nan")
    result = invoke(log_dir, "--format", "json", "--columns", "run_name,f1,nope", "--experiment", "houses")
    records = json.loads(result.stdout)
    assert list(records[0]) == ["run_name", "metrics.f1"]
    assert {r["run_name"]: r["metrics.f1"] for r in records} == {"nan": None, "ridge": 0.5, "lasso": 0.9123456}
    assert "no column 'nope'" in result.stderr


def test_missing_dir_is_one_line_and_exit_2(tmp_path):
    result = invoke(tmp_path / "nope")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "not found" in result.stderr
    assert "Traceback" not in result.output
    (tmp_path / "file").write_text("x")  # one log file may be named; this one no format reads
    result = invoke(tmp_path / "file")
    assert result.exit_code == 0 and "Traceback" not in result.output


def test_bad_filter_names_the_position(log_dir):
    result = invoke(log_dir, "--filter", "metrics.f1 >>> 2")
    assert result.exit_code == 2
    assert "bad filter" in result.stderr and "position" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_no_runs(tmp_path):
    result = invoke(tmp_path)
    assert result.exit_code == 0 and "no runs" in result.stdout


def test_table_shows_the_sort_metric_before_params(tmp_path, monkeypatch):
    import io

    import logger

    from reporter.commands.runs import show_runs

    monkeypatch.setenv("COLUMNS", "400")
    logger.set_log_dir(tmp_path)
    try:
        for lr, f1 in ((0.1, 0.7), (0.2, 0.9)):
            with logger.start_run():
                logger.log_params({f"p{i}": i for i in range(12)} | {"lr": lr})
                logger.log_metrics({"f1": f1, **{f"m{i}": i for i in range(12)}})
    finally:
        logger.set_log_dir(None)
    out = io.StringIO()
    assert show_runs(str(tmp_path), order_by=["metrics.f1 DESC"], fmt="table", out=out, err=io.StringIO()) == 0
    header, _, best, worst = out.getvalue().splitlines()[:4]
    assert header.index("metrics.f1") < header.index("params.")
    assert "0.9" in best and "0.7" in worst
