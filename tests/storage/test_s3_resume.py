"""A run on object storage resumed on another machine (a preempted job restarted on another node): the
new machine's staging folder does not have the run, so the logger fetches its pieces from the storage."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from helpers import clean_env

import logger
from logger.exceptions import ResourceDoesNotExist
from logger.mirror import sync
from logger.reader import read_logs

ON_ANOTHER_MACHINE = """
    import sys, logger
    logger.set_log_dir(sys.argv[1])
    with logger.start_run(run_id=sys.argv[2]) as run:
        for step in range(10, 20):
            logger.log_metric("loss", 1.0 / (step + 1), step=step)
        logger.log_param("lr", 0.01)  # the same value: fine
        try:
            logger.log_param("lr", 0.5)  # another value: params stay immutable across machines
        except Exception as error:
            print("refused:", error)
        print("experiment:", run.info.experiment_id)
"""


def another_machine(url: str, run_id: str, cache) -> subprocess.CompletedProcess:
    """A process with its own cache (so its own, empty, staging folder) and the same storage settings."""
    env = {name: value for name, value in os.environ.items() if name.startswith("AWS_")}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(ON_ANOTHER_MACHINE), url, run_id],
                          env=clean_env(FLOWSHEET_CACHE_DIR=str(cache), **env), capture_output=True, text=True,
                          timeout=120)


def test_a_run_resumed_on_another_machine_continues_the_same_run(s3, log_dir, tmp_path):
    url = f"s3://{s3}/runs"
    logger.set_log_dir(url)
    logger.set_experiment("preemptible")
    with logger.start_run(run_name="long-job") as run:
        logger.log_param("lr", 0.01)
        for step in range(10):
            logger.log_metric("loss", 1.0 / (step + 1), step=step)
        run_id, experiment_id = run.info.run_id, run.info.experiment_id
    logger.flush()

    done = another_machine(url, run_id, tmp_path / "other-machine-cache")
    assert done.returncode == 0, done.stderr
    assert "refused:" in done.stdout and f"experiment: {experiment_id}" in done.stdout

    data = read_logs(sync(url).path)
    merged = data.runs[run_id]
    assert merged.name == "long-job" and merged.status == "FINISHED"
    assert merged.params == {"lr": 0.01} and merged.experiment_id == experiment_id
    assert merged.metrics["loss"].steps.tolist() == list(range(20))
    assert data.experiments[experiment_id].name == "preemptible"


def test_resuming_a_run_the_storage_does_not_have_names_it(s3, log_dir):
    logger.set_log_dir(f"s3://{s3}/runs")
    with logger.start_run():
        logger.log_metric("x", 1.0)
    logger.flush()
    with pytest.raises(ResourceDoesNotExist, match="f" * 32):
        logger.start_run(run_id="f" * 32)
