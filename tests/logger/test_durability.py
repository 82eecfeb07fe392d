"""What survives crashes and full disks: the format's promises, checked with real processes."""

import json
import signal
import subprocess
import sys
import textwrap
import time

from helpers import clean_env, run_python
from ondisk import lines_of, run_folders

import logger


def start_child(code, cwd):
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=clean_env(),
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def metric_count(log_dir):
    [folder] = run_folders(log_dir)
    return sum(1 for event in lines_of(folder / "run.jsonl") if event["kind"] == "metric")


def test_events_reach_the_file_within_a_second_without_flush(tmp_path):
    process = start_child("""
        import time, logger
        logger.start_run()
        for step in range(1000):
            logger.log_metric("loss", 1.0 / (step + 1), step=step)
        print("ready", flush=True)
        time.sleep(60)
    """, tmp_path)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert metric_count(tmp_path / "runs") == 1000


def test_flush_makes_events_durable_at_once(tmp_path):
    process = start_child("""
        import time, logger
        logger.start_run()
        for step in range(1000):
            logger.log_metric("loss", 0.5, step=step)
        logger.flush()
        print("ready", flush=True)
        time.sleep(60)
    """, tmp_path)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert metric_count(tmp_path / "runs") == 1000


def test_resuming_after_a_torn_line_starts_on_a_fresh_line(log_dir):
    with logger.start_run() as run:
        logger.log_metric("loss", 1.0, step=0)
    path = run.folder / "run.jsonl"
    with open(path, "ab") as file:  # what a crash in the middle of a write leaves
        file.write(b'{"v":1,"kind":"metric","t":1,"key":"loss","va')
    with logger.start_run(run_id=run.info.run_id):
        logger.log_metric("loss", 0.5, step=1)
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert lines[-5] == b'{"v":1,"kind":"metric","t":1,"key":"loss","va'
    after = [json.loads(line) for line in lines[-4:-1]]
    assert [e["kind"] for e in after] == ["resume", "metric", "end"]
    assert after[1]["value"] == 0.5


def test_a_file_size_limit_raises_and_keeps_what_was_written(tmp_path):
    done = run_python("""
        import errno, os, resource, signal, time, logger
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead of dying
        run = logger.start_run()
        logger.flush()
        size = os.path.getsize(run.folder / "run.jsonl")
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 2000, resource.RLIM_INFINITY))
        for step in range(100):
            logger.log_metric("loss", 0.5, step=step)
        try:
            logger.flush()
        except OSError as error:
            print("flush raised", errno.errorcode[error.errno], error)
        for step in range(100):
            logger.log_metric("acc", 0.5, step=step)
        time.sleep(0.6)  # the background flush fails; the next call must say so
        try:
            logger.log_metric("acc", 0.5, step=101)
            print("no error")
        except OSError as error:
            print("log_metric raised", errno.errorcode[error.errno], error)
        os._exit(0)
    """, cwd=tmp_path)
    assert "flush raised EFBIG" in done.stdout and "could not write to" in done.stdout
    assert "logged before are kept and written once there is room" in done.stdout  # flush() has no event of its own
    assert "1 event logged was not written (this call's)" in done.stdout
    assert "log_metric raised EFBIG" in done.stdout
    [folder] = run_folders(tmp_path / "runs")
    lines = (folder / "run.jsonl").read_bytes().split(b"\n")
    complete = [json.loads(line) for line in lines[:-1]]
    assert complete[0]["kind"] == "start" and all(e["kind"] == "metric" for e in complete[1:])
    assert 10 < len(complete) < 100
