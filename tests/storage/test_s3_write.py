"""The logger writing to s3:// (a real S3-compatible server on 127.0.0.1): pieces uploaded once, read back whole."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import fsspec
import pytest
from helpers import clean_env

import logger
from logger.mirror import sync
from logger.reader import read_logs
from logger.storage import UploadDelayed


def _log_a_run(name: str) -> None:
    with logger.start_run(run_name=name):
        logger.log_params({"lr": 0.01, "layers": 3})
        for step in range(300):
            logger.log_metric("loss", 1.0 / (step + 1), step=step)
        logger.log_metrics({"acc": 0.9, "f1": float("nan")}, step=300)
        logger.set_tag("team", "vision")
        logger.log_text("hello from the run\n", "notes/hello.txt")
        logger.log_dict({"a": 1}, "config.json")


def _summary(data) -> list:
    found = []
    for run in sorted(data.runs.values(), key=lambda run: run.name):
        artifacts = {a.path: Path(run.artifacts_dir, a.path).read_bytes() for a in run.artifacts}
        metrics = {k: (h.steps.tolist(), [repr(v) for v in h.values]) for k, h in run.metrics.items()}
        found.append((run.name, run.status, run.params, run.tags, metrics, artifacts,
                      data.experiments[run.experiment_id].name))
    return found


def test_a_run_logged_to_s3_reads_back_as_the_same_run_logged_locally(s3, log_dir):
    _log_a_run("same")
    local = read_logs(log_dir)
    logger.set_log_dir(f"s3://{s3}/runs")
    _log_a_run("same")
    copy = sync(f"s3://{s3}/runs")
    assert copy.problems == []
    from_s3 = read_logs(copy.path)
    assert from_s3.problems == [] and _summary(from_s3) == _summary(local)
    keys = fsspec.filesystem("s3", skip_instance_cache=True).find(f"{s3}/runs")
    names = {key.rpartition("/")[2] for key in keys}
    assert "run.jsonl" not in names and any(name.startswith("run@") for name in names)


def test_an_artifact_is_uploaded_while_the_run_goes_on(s3, log_dir):
    """Logging it asks the uploader's thread for a pass: it goes up without a flush or the run's end (and the
    logging call does not wait for the network)."""
    logger.set_log_dir(f"s3://{s3}/runs")
    with logger.start_run() as run:
        logger.log_text("early\n", "early.txt")
        wanted = f"{s3}/runs/{run.folder.parent.name}/{run.info.run_id}/artifacts/early.txt"
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a measure: the pass starts at once
        while time.monotonic() < deadline:
            keys = fsspec.filesystem("s3", skip_instance_cache=True).find(f"{s3}/runs")
            if wanted in keys:
                break
            time.sleep(0.05)
        assert [key for key in keys if key.endswith("/artifacts/early.txt")] == [wanted]


def test_an_upload_failure_keeps_the_events_and_a_later_flush_sends_them_once(s3, s3_server, log_dir, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    logger.set_log_dir(f"s3://{s3}/runs")
    run = logger.start_run()
    logger.log_param("p", 1)
    logger.flush()
    s3_server.stop()
    try:
        for step in range(100):
            logger.log_metric("m", step, step=step)
        with pytest.warns(UploadDelayed, match="kept in"):
            logger.flush()  # the storage is down: nothing raises, nothing is lost
    finally:
        s3_server.start()  # the same port; moto kept the bucket
    with warnings.catch_warnings():
        warnings.simplefilter("error", UploadDelayed)
        logger.flush()
        logger.end_run()
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    pieces = sorted(fs.find(f"{s3}/runs/{run.folder.parent.name}/{run.info.run_id}"))
    pieces = [key for key in pieces if "/artifacts/" not in key]
    [segment] = [path for path in run.folder.iterdir() if path.name.startswith("run@")]
    assert b"".join(fs.cat_file(key) for key in pieces) == segment.read_bytes()  # every line once, in order
    merged = read_logs(sync(f"s3://{s3}/runs").path).runs[run.info.run_id]
    assert merged.metrics["m"].steps.tolist() == list(range(100)) and merged.status == "FINISHED"


def test_two_processes_log_one_run_to_s3_and_it_merges(s3, s3_server, log_dir, tmp_path):
    url = f"s3://{s3}/runs"
    logger.set_log_dir(url)
    with logger.start_run(run_name="ddp") as run:
        logger.log_param("world", 2)
    code = """
        import sys, logger
        rank = int(sys.argv[1])
        with logger.start_run(run_id=sys.argv[2]):
            logger.set_tag(f"rank{rank}", "here")
            for step in range(100):
                logger.log_metric("loss", rank + step / 100, step=step)
                logger.log_metric(f"rank{rank}", step, step=step)
    """
    env = {name: value for name, value in __import__("os").environ.items()
           if name.startswith("AWS_") or name == "FLOWSHEET_CACHE_DIR"}
    processes = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(rank), run.info.run_id],
                                  env=clean_env(FLOWSHEET_DIR=url, WORLD_SIZE="2", RANK=str(rank), **env))
                 for rank in range(2)]
    assert [process.wait(timeout=120) for process in processes] == [0, 0]
    copy = sync(url)
    merged = read_logs(copy.path).runs[run.info.run_id]
    assert merged.name == "ddp" and merged.params == {"world": 2} and merged.status == "FINISHED"
    assert merged.tags["rank0"] == merged.tags["rank1"] == "here"
    assert [merged.metrics[f"rank{rank}"].steps.tolist() for rank in range(2)] == [list(range(100))] * 2
    assert len(merged.metrics["loss"]) == 200
    writers = {path.name.split(".")[0] for path in copy.path.rglob("run@*.jsonl")}
    assert len(writers) == 3 and any(w.startswith("run@rank0-") for w in writers)


def test_at_exit_unsent_bytes_stay_staged_and_the_next_process_sends_them(s3, s3_server, log_dir):
    url = f"s3://{s3}/runs"
    env = {name: value for name, value in __import__("os").environ.items()
           if name.startswith("AWS_") or name == "FLOWSHEET_CACHE_DIR"}
    code = """
        import logger
        with logger.start_run(run_name="offline") as run:
            for step in range(50):
                logger.log_metric("m", step, step=step)
        print(run.info.run_id)
    """
    down = dict(env, AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_MAX_ATTEMPTS="1")  # nothing listens there
    first = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                           env=clean_env(FLOWSHEET_DIR=url, **down), timeout=120)
    assert first.returncode == 0, first.stderr
    assert "were not uploaded" in first.stderr and "sent by the next process" in first.stderr
    run_id = first.stdout.strip()
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    assert fs.find(f"{s3}/runs") == []
    later = subprocess.run([sys.executable, "-c", "import logger, sys; logger.set_log_dir(sys.argv[1])", url],
                           capture_output=True, text=True, env=clean_env(**env), timeout=120)
    assert later.returncode == 0 and later.stderr == "", later.stderr
    run = read_logs(sync(url).path).runs[run_id]
    assert run.name == "offline" and run.status == "FINISHED" and run.metrics["m"].steps.tolist() == list(range(50))


def test_a_backlog_goes_up_in_pieces_of_whole_lines(s3, log_dir, monkeypatch):
    """After a long outage a run's unsent lines are not one object read (and sent) whole at every try."""
    from logger import storage

    monkeypatch.setattr(storage, "PIECE_BYTES", 1000)
    logger.set_log_dir(f"s3://{s3}/runs")
    with logger.start_run() as run:
        for step in range(100):
            logger.log_metric("loss", 1.0 / (step + 1), step=step)
    staged = next(run.folder.glob("run@*.jsonl")).read_bytes()
    s3fs = fsspec.filesystem("s3", skip_instance_cache=True)
    pieces = sorted(key for key in s3fs.find(f"{s3}/runs") if key.rpartition("/")[2].startswith("run@"))
    bodies = [s3fs.cat_file(key) for key in pieces]
    assert len(pieces) > 5 and all(len(body) <= 1000 and body.endswith(b"\n") for body in bodies)
    assert b"".join(bodies) == staged  # in offset order, every byte once


@pytest.mark.parametrize("second", ["version two, longer\n", "version 2\n"])  # another size; the same size
def test_an_artifact_logged_again_replaces_its_copy(s3, log_dir, second):
    """A plot or config.json rewritten every epoch: the site built from the bucket shows the latest one."""
    logger.set_log_dir(f"s3://{s3}/runs")
    with logger.start_run() as run:
        logger.log_text("version 1\n", "plot.txt")
    first = sync(f"s3://{s3}/runs")
    with logger.start_run(run_id=run.info.run_id):
        logger.log_text(second, "plot.txt")
    again = sync(f"s3://{s3}/runs")
    assert first.problems == [] and again.problems == []
    (read,) = read_logs(again.path).runs.values()
    assert Path(read.artifacts_dir, "plot.txt").read_text() == second
