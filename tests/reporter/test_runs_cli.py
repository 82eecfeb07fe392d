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


def test_json_nan_is_a_string_and_columns(log_dir):
    write_run(log_dir / "houses-00000006", "c" * 32, [metric("f1", "NaN", 0)], name="nan")
    result = invoke(log_dir, "--format", "json", "--columns", "run_name,f1,nope", "--experiment", "houses")
    records = json.loads(result.stdout)
    assert list(records[0]) == ["run_name", "metrics.f1"]
    assert {r["run_name"]: r["metrics.f1"] for r in records} == {"nan": "NaN", "ridge": 0.5, "lasso": 0.9123456}
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


def test_an_unknown_experiment_is_exit_2_naming_the_ones_there_are(tmp_path):
    write_run(write_experiment(tmp_path, "houses"), A, [metric("f1", 0.9, 0)], name="lasso")
    write_experiment(tmp_path, "training")
    result = invoke(tmp_path, "--experiment", "nosuch")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "reporter runs: no experiment named 'nosuch' (experiments: 'houses', 'training')\n"
    # one unknown name among known ones is still an error, not a shorter list
    result = invoke(tmp_path, "--experiment", "houses", "--experiment", "nosuch", "--experiment", "other")
    assert result.exit_code == 2 and "'nosuch', 'other'" in result.stderr and "lasso" not in result.stdout
    assert invoke(tmp_path, "--experiment", "houses").exit_code == 0


def test_an_unknown_experiment_among_many_lists_a_few(tmp_path):
    for i in range(12):
        write_experiment(tmp_path, f"exp{i}")
    result = invoke(tmp_path, "--experiment", "nosuch")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "12 experiments" in result.stderr and "'exp0', 'exp1', 'exp2'" in result.stderr
    assert "'exp11'" not in result.stderr


def test_every_table_header_is_a_column_name(log_dir):
    header = invoke(log_dir).stdout.splitlines()[0]
    for shown in ("run", "id", "status", "start (UTC)", "duration"):
        assert shown in header
    result = invoke(log_dir, "--format", "json", "--columns", "run,id,experiment,status,start (UTC),duration")
    assert result.exit_code == 0 and "no column" not in result.stderr, result.stderr
    ridge, lasso = json.loads(result.stdout)
    assert list(lasso) == ["run_name", "run_id", "experiment", "status", "start_time", "duration"]
    assert lasso["run_name"] == "lasso" and lasso["run_id"] == A and lasso["experiment"] == "houses"
    assert lasso["status"] == "FINISHED" and lasso["start_time"].startswith("2024-11-27T09:33:20")
    assert lasso["duration"] == 65.0 and ridge["duration"] == 0.039
    table = invoke(log_dir, "--columns", "run,duration").stdout.splitlines()
    assert table[0].split() == ["run_name", "duration"] and table[3].split() == ["lasso", "1:05"]


def test_canonical_and_bare_column_names_still_work(log_dir):
    result = invoke(log_dir, "--format", "csv", "--columns", "run_name,run_id,metrics.f1,alpha,start_time")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["run_name", "run_id", "metrics.f1", "params.alpha", "start_time"]
    assert {r["run_name"]: r["params.alpha"] for r in rows} == {"lasso": "0.1", "ridge": "1"}


@pytest.fixture
def gaps_dir(log_dir):
    """Three runs: f1 logged as a number, as NaN, and never (the last logged only loss)."""
    exp = log_dir / "houses-00000006"
    write_run(exp, "c" * 32, [metric("f1", "NaN", 0), metric("loss", "Infinity", 0)], name="nan")
    write_run(exp, "d" * 32, [metric("loss", 1.5, 0)], name="never")
    return log_dir


def test_a_nan_metric_and_a_missing_one_differ_in_every_format(gaps_dir):
    args = ("--experiment", "houses", "--columns", "run,f1,loss")
    records = {r["run_name"]: r for r in json.loads(invoke(gaps_dir, "--format", "json", *args).stdout)}
    assert records["nan"]["metrics.f1"] == "NaN" and records["never"]["metrics.f1"] is None
    assert records["nan"]["metrics.loss"] == "Infinity" and records["lasso"]["metrics.f1"] == 0.9123456
    rows = {r["run_name"]: r for r in csv.DictReader(io.StringIO(invoke(gaps_dir, "--format", "csv", *args).stdout))}
    assert rows["nan"]["metrics.f1"] == "NaN" and rows["never"]["metrics.f1"] == ""
    assert rows["lasso"]["metrics.loss"] == "" and rows["never"]["metrics.loss"] == "1.5"
    for table in (invoke(gaps_dir, *args).stdout, invoke(gaps_dir, "--experiment", "houses").stdout):
        lines = {line.split()[0]: line for line in table.splitlines()[2:]}
        f1 = table.splitlines()[0].index("metrics.f1")
        assert lines["nan"][f1:].split()[0] == "NaN" and lines["never"][f1:].split()[0] == "-"


def test_the_json_stays_valid_json(gaps_dir):
    text = invoke(gaps_dir, "--format", "json").stdout
    json.loads(text, parse_constant=lambda token: pytest.fail(f"bare {token} in the JSON"))


def test_help_says_how_nan_and_never_logged_are_shown():
    text = CliRunner().invoke(main, ["runs", "--help"]).output
    assert "NaN" in text and "null" in text and "never logged" in text
