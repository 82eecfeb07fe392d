"""Audit findings on the logger: full disks and several writers on one run, and run ids looked up by pattern.

A write that fails part way must leave no torn line for another writer to glue its line onto, and an
event whose logging call raised must never reach the file later. A run id is a name, never a pattern.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import clean_env, run_python
from ondisk import lines_of, run_folders

import logger
from logger.reader import read_logs

WORKERS = 4
AFTER = 50  # events each writer logs once the disk has room again

# Logs until a call raises, reports it, waits for room, logs more. Prints what it saw as JSON.
LOG_UNTIL_FULL = """
    import json, re, sys, logger
    worker = sys.argv[1]
    {setup}
    raised, unwritten, step = [], 0, 0
    while len(raised) < 3 and step < 200_000:
        try:
            {log}
        except OSError as error:
            raised.append(step)
            said = re.search(r"(\\d+) events? logged (?:were|was) not written", str(error))
            unwritten += int(said.group(1)) if said else 0
        step += 1
    {room}
    for after in range({after}):
        logger.log_metric(f"after{{worker}}", float(after), step=after)
    {finish}
    print(json.dumps({{"raised": raised, "unwritten": unwritten, "logged": step}}), flush=True)
"""


def check_outcome(events: list[dict], key: str, outcome: dict) -> None:
    """Each event is on its own line once, or was reported unwritten; a call that raised left nothing."""
    assert outcome["raised"], f"{key}: the writer never met a full disk"
    steps = [e["step"] for e in events if e["kind"] == "metric" and e["key"] == key]
    assert len(steps) == len(set(steps)), f"{key}: some events were written twice"
    assert not set(steps) & set(outcome["raised"]), f"{key}: an event whose call raised was written anyway"
    assert outcome["logged"] - len(steps) == outcome["unwritten"], f"{key}: events lost without a word"


# --- 12. a full disk and several writers on one run ----------------------------------------------


def test_a_write_cut_short_leaves_no_torn_line_and_no_late_event(tmp_path):
    """RLIMIT_FSIZE stops a write at an exact size (EFBIG), like a full disk, with no mount needed.
    A second writer on the same file (another process would be the same) then appends its line."""
    code = LOG_UNTIL_FULL.format(
        setup="""import os, resource, signal
    from logger.run import Run
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write() instead of dying
    run = logger.start_run()
    other = Run.resume(run.folder)  # opened (and its first line written) before the disk fills
    path = run.folder / "run.jsonl"
    resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(path) + 1000, resource.RLIM_INFINITY))""",
        log="run.log_metric(f'w{worker}', float(step), step=step)",
        room="""resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    other.log_metric("other", 1.0, step=0)
    other.flush()""",
        after=AFTER, finish="run.end(); other.end()")
    done = run_python(code.replace("sys.argv[1]", "'0'"), cwd=tmp_path)
    outcome = json.loads(done.stdout.splitlines()[-1])
    [folder] = run_folders(tmp_path / "runs")
    events = lines_of(folder / "run.jsonl")  # strict: a torn or glued line fails here
    check_outcome(events, "w0", outcome)
    assert [e["step"] for e in events if e.get("key") == "after0"] == list(range(AFTER))
    assert [e["key"] for e in events if e.get("key") == "other"] == ["other"]


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs, unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
                                 capture_output=True, text=True, check=False)
    except FileNotFoundError:
        pytest.skip("no mount command here")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        if subprocess.run(["umount", str(disk)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(disk)], check=True)


def fill(disk: Path, leave: int) -> Path:
    """Fill the disk, then give back `leave` bytes: the writers meet ENOSPC after that much."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as file:
        try:
            while True:
                file.write(b"\0" * 65536)
        except OSError as error:
            assert error.errno == 28, error  # ENOSPC
        os.ftruncate(file.fileno(), max(0, os.fstat(file.fileno()).st_size - leave))
    return filler


def test_processes_resuming_one_run_on_a_full_disk_never_glue_lines(small_disk, log_dir):
    logger.set_log_dir(small_disk / "runs")
    with logger.start_run() as run:
        logger.log_param("disk", "1m")
    code = LOG_UNTIL_FULL.format(
        setup="""logger.start_run()  # resumes FLOWSHEET_RUN_ID
    print("ready", flush=True)
    sys.stdin.readline()""",
        log="logger.log_metric(f'w{worker}', float(step), step=step)",
        room="""print("full", flush=True)
    sys.stdin.readline()""",
        after=AFTER, finish="logger.end_run()")
    env = clean_env(FLOWSHEET_DIR=str(small_disk / "runs"), FLOWSHEET_RUN_ID=run.info.run_id)
    workers = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(worker)], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for worker in range(WORKERS)]
    try:
        assert [w.stdout.readline().strip() for w in workers] == ["ready"] * WORKERS
        filler = fill(small_disk, leave=256 * 1024)
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        assert [w.stdout.readline().strip() for w in workers] == ["full"] * WORKERS
        filler.unlink()  # room again: every writer logs more and ends its session
        outcomes = [json.loads(w.communicate("go\n", timeout=60)[0]) for w in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert [w.returncode for w in workers] == [0] * WORKERS
    events = lines_of(run.folder / "run.jsonl")  # strict: a torn or glued line fails here
    assert read_logs(small_disk / "runs").problems == []
    for worker, outcome in enumerate(outcomes):
        check_outcome(events, f"w{worker}", outcome)
        assert [e["step"] for e in events if e.get("key") == f"after{worker}"] == list(range(AFTER))
    assert [e["kind"] for e in events].count("end") == 1 + WORKERS


def test_a_torn_line_left_by_a_killed_writer_is_closed_by_a_writer_already_open(log_dir):
    run = logger.start_run()
    logger.log_metric("loss", 1.0, step=0)
    logger.flush()
    path = run.folder / "run.jsonl"
    with open(path, "ab") as file:  # what another process killed in the middle of its write leaves
        file.write(b'{"v":1,"kind":"metric","t":1,"key":"loss","va')
    logger.log_metric("loss", 0.5, step=1)
    logger.end_run()
    lines = path.read_bytes().split(b"\n")
    assert b'{"v":1,"kind":"metric","t":1,"key":"loss","va' in lines  # a line of its own
    [problem] = read_logs(log_dir).problems  # the reader skips it and says so
    assert problem.file.endswith("run.jsonl")
    assert [(e["step"], e["value"]) for e in map(json.loads, lines[-3:-1]) if e["kind"] == "metric"] == [(1, 0.5)]


def test_a_forked_child_takes_the_file_lock_for_itself(tmp_path):
    """A child shares its parent's open file: the lock must not be shared with it too."""
    done = run_python("""
        import fcntl, os, time, logger
        run = logger.start_run()
        logger.flush()
        path = run.folder / "run.jsonl"
        fcntl.flock(run._writer._fd, fcntl.LOCK_EX)  # the parent in the middle of a write
        child = os.fork()
        if child == 0:
            run.log_metric("child", 1.0)
            run.flush()
            os._exit(0)
        time.sleep(0.5)
        print("while locked", b'"child"' in path.read_bytes())
        fcntl.flock(run._writer._fd, fcntl.LOCK_UN)
        os.waitpid(child, 0)
        print("after", b'"child"' in path.read_bytes())
    """, cwd=tmp_path)
    assert done.stdout.split("\n")[:2] == ["while locked False", "after True"]


# --- 15. run ids are names, not patterns --------------------------------------------------------


@pytest.fixture
def two_runs(log_dir):
    runs = []
    for name in ("first", "second"):
        with logger.start_run(run_name=name) as run:
            logger.log_metric("loss", 1.0)
        runs.append(run)
    return runs


def contents(runs) -> list[bytes]:
    return [(run.folder / "run.jsonl").read_bytes() for run in runs]


@pytest.mark.parametrize("run_id", ["*", "?" * 32, "[a-f]*", "[0-9a-f]*", "*[!x]"])
def test_a_run_id_with_pattern_characters_is_looked_up_literally(two_runs, run_id):
    before = contents(two_runs)
    with pytest.raises(ValueError, match=f"no run with id {re.escape(repr(run_id))}"):
        logger.start_run(run_id=run_id)
    assert logger.active_run() is None
    assert contents(two_runs) == before


def test_a_run_id_from_the_environment_is_looked_up_literally(two_runs, monkeypatch):
    before = contents(two_runs)
    monkeypatch.setenv("FLOWSHEET_RUN_ID", "*")
    with pytest.raises(ValueError, match=r"no run with id '\*'"):
        logger.start_run()
    assert contents(two_runs) == before


@pytest.mark.parametrize("run_id", ["..", ".", "../runs", "a/b", "a\\b", "x\n", "x\0", "\x1b[2J"])
def test_a_run_id_that_cannot_name_a_run_is_refused(two_runs, run_id):
    before = contents(two_runs)
    with pytest.raises(ValueError, match=f"{re.escape(repr(run_id))} is not a valid run id"):
        logger.start_run(run_id=run_id)
    assert contents(two_runs) == before


def test_the_exact_run_id_still_resumes(two_runs):
    with logger.start_run(run_id=two_runs[1].info.run_id) as run:
        assert run.info.run_name == "second"


def test_a_run_id_that_is_not_a_string_is_refused(two_runs):
    with pytest.raises(TypeError, match="123 is not a valid run id: it must be a string"):
        logger.start_run(run_id=123)
