"""Writers killed at random moments: what was flushed survives, torn tails are reported once, resuming works.

The SIGKILL rounds fork the test process (cheap: no new interpreter, the logger is already imported);
each child resumes the same run, logs batches, flushes, and reports the last flushed step on a pipe.
The parent kills it at a random moment and reads the run back with the real reader.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from hardening.knobs import KILLS
from helpers import clean_env
from ondisk import run_folders

import logger
from logger.reader import LogReader, read_logs
from logger.run import Run


def value_of(step: int) -> float:
    return step * 0.25 - 3.0


def child_logs(folder, first_step: int, report_fd: int) -> None:
    """In the forked child: resume the run and log batches forever, reporting each flushed step."""
    run = Run.resume(folder)
    step = first_step
    rng = random.Random(os.getpid())
    while True:
        for _ in range(rng.randint(1, 300)):
            run.log_metric("x", value_of(step), step=step)
            step += 1
        if rng.random() < 0.3:
            run.log_metrics({"a": 1.0, "b": float("nan")}, step=step)
        run.flush()
        os.write(report_fd, f"{step - 1}\n".encode())


def kill_one_writer(folder, first_step: int, rng: random.Random) -> int:
    """Fork a writer, SIGKILL it at a random moment; the last step it reported flushed (or first_step - 1)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_fd)
            child_logs(folder, first_step, write_fd)
        finally:
            os._exit(0)
    os.close(write_fd)
    reported, buffer = first_step - 1, b""
    deadline = time.monotonic() + rng.uniform(0.0, 0.06)  # sometimes before the first flush, often after
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([read_fd], [], [], left)
        if ready:
            buffer += os.read(read_fd, 65536)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    while chunk := os.read(read_fd, 65536):  # reports written just before the kill
        buffer += chunk
    os.close(read_fd)
    for line in buffer.split(b"\n")[:-1]:
        reported = int(line)
    return reported


def test_sigkill_at_random_moments_loses_nothing_flushed(log_dir):
    rng = random.Random(20261127)
    run = logger.create_run(run_name="crashy")
    run.flush()
    folder, path = run.folder, run.folder / "run.jsonl"
    reader = LogReader(log_dir)
    reader.refresh()
    seen_problems = []
    torn = 0
    next_step = 0
    for _ in range(KILLS):
        reported = kill_one_writer(folder, next_step, rng)
        history = read_logs(log_dir).runs[run.info.run_id].metrics.get("x")
        steps = list(history.steps) if history is not None else []
        # Everything reported flushed is there, with its value; the file holds a gapless prefix of steps.
        assert steps == list(range(len(steps)))
        assert len(steps) > reported
        assert list(history.values if history is not None else []) == [value_of(s) for s in steps]
        next_step = len(steps)
        if rng.random() < 0.4:
            # What a crash inside write() would leave: a line cut anywhere, without its newline.
            line = b'{"v":1,"kind":"metric","t":1,"key":"x","value":1.5,"step":999999}'
            with open(path, "ab") as file:
                file.write(line[: rng.randint(1, len(line) - 1)])
            torn += 1
        changes = reader.refresh()
        seen_problems += changes.problems
    # The last torn tail (if any) is not finished: resuming turns it into one reported bad line.
    Run.resume(folder).end()
    seen_problems += reader.refresh().problems
    final = read_logs(log_dir)
    assert len(seen_problems) == len(set(seen_problems)), "a problem was reported twice"
    assert sorted(seen_problems, key=str) == sorted(final.problems, key=str)
    assert all(p.file.endswith("run.jsonl") and p.line and "malformed JSON" in p.reason for p in final.problems)
    # Exactly the damaged lines are reported. A writer killed before it could start a fresh line leaves two
    # torn tails on one line, so there may be fewer damaged lines than torn writes, but never none.
    lines = path.read_bytes().split(b"\n")
    damaged = {number for number, line in enumerate(lines[:-1], 1) if not parses(line)}
    assert {p.line for p in final.problems} == damaged
    assert (torn > 0) == (len(damaged) > 0) and len(damaged) <= torn
    result = final.runs[run.info.run_id]
    assert result.status == "FINISHED"
    assert list(result.metrics["x"].steps) == list(range(next_step))
    assert lines[-1] == b""


def parses(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def test_torn_tail_is_not_read_until_its_newline_arrives(log_dir):
    with logger.start_run() as run:
        logger.log_metric("x", 1.0, step=0)
    path = run.folder / "run.jsonl"
    reader = LogReader(log_dir)
    reader.refresh()
    with open(path, "ab") as file:
        file.write(b'{"v":1,"kind":"metric","t":5,"key":"x","val')
    assert reader.refresh().problems == []  # maybe a writer still in the middle of it
    with open(path, "ab") as file:
        file.write(b'ue":2.0,"step":1}\n')  # it was: finished now, and read whole
    changes = reader.refresh()
    assert changes.problems == [] and list(reader.data.runs[run.info.run_id].metrics["x"].values) == [1.0, 2.0]


def start_child(code: str, cwd) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=clean_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready", process.stderr.read()
    return process


def ends_and_counts(log_dir) -> list[tuple[str, int]]:
    data = read_logs(log_dir)
    assert data.problems == []
    return sorted((run.status, len(run.metrics["x"]) if "x" in run.metrics else 0) for run in data.runs.values())


def test_sigterm_without_a_with_block_ends_every_open_run_as_killed(tmp_path):
    # tests/logger/test_runs.py covers a `with` block; here the exit hooks alone must do it, for nested runs.
    process = start_child("""
        import time, logger
        logger.start_run()
        logger.start_run(nested=True)
        for step in range(500):
            logger.log_metric("x", step, step=step)   # not flushed: SIGTERM must flush it
        print("ready", flush=True)
        time.sleep(60)
    """, tmp_path)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    assert ends_and_counts(tmp_path / "runs") == [("KILLED", 0), ("KILLED", 500)]


def test_ctrl_c_in_a_training_loop_ends_the_run_as_killed(tmp_path):
    # A real SIGINT arriving mid-loop, not a KeyboardInterrupt raised by the code itself.
    process = start_child("""
        import logger
        with logger.start_run():
            step = 0
            logger.log_metric("x", 0, step=0)
            logger.flush()
            print("ready", flush=True)
            while True:
                step += 1
                logger.log_metric("x", step, step=step)
    """, tmp_path)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) != 0
    [(status, count)] = ends_and_counts(tmp_path / "runs")
    assert status == "KILLED" and count > 1
    [folder] = run_folders(tmp_path / "runs")
    assert (folder / "run.jsonl").read_bytes().endswith(b'"status":"KILLED"}\n')


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_a_killed_run_can_be_resumed_and_finished(log_dir, tmp_path, how):
    process = start_child("""
        import time, logger
        run = logger.start_run()
        logger.log_metric("x", 1.0, step=0)
        print("ready", flush=True)
        time.sleep(60)
    """, tmp_path)
    process.send_signal(getattr(signal, how))
    process.wait(timeout=30)
    [folder] = run_folders(log_dir)  # the child wrote into ./runs of tmp_path: the fixture's log dir
    with logger.start_run(run_id=folder.name):
        logger.log_metric("x", 2.0, step=1)
    assert ends_and_counts(log_dir) == [("FINISHED", 2)]
