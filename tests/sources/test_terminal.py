"""`reporter runs` and `search_runs` over every format the reader knows: the terminal and the Python API
see the same runs as the site (a `search_runs(log_dir="mlflow.db")` is a migration tool in itself)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from mixed_logs import SOURCES, write_format

import logger
from logger.reader import read_logs

from reporter.cli import main


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_reporter_runs_and_search_runs_list_every_run_of_each_format(source, tmp_path):
    logs = write_format(source, tmp_path)
    if source == "mlflow-sql":
        logs = logs / "mlflow.db"  # one file named alone
    expected = {run.run_id: run.name for run in read_logs(logs).runs.values()}
    assert expected
    result = CliRunner().invoke(main, ["runs", str(logs), "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = {record["run_id"]: record["run_name"] for record in json.loads(result.stdout)}
    assert listed == expected
    frame = logger.search_runs(log_dir=str(logs), search_all_experiments=True)
    assert dict(zip(frame["run_id"], frame["tags.mlflow.runName"])) == expected
