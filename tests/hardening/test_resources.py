"""Full disks, file size limits and read-only log folders.

The full disk is a 64 KiB tmpfs, which needs mount rights (root in a container usually has them);
without them those tests are skipped with the reason. RLIMIT_FSIZE works for anyone.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from helpers import run_python
from ondisk import run_folders
from site_logs import write_site_logs

import logger
from logger.reader import read_logs

from reporter.config import BuildConfig
from reporter.site.build import build


def mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount ({' '.join(args)}): {done.stderr.strip() or done.returncode}; "
                    "these tests need mount rights (root, or a container with CAP_SYS_ADMIN)")


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB file system, almost filled by a ballast file that the test can delete to free space."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk))
    try:
        ballast = disk / "ballast"
        with open(ballast, "wb") as file:
            try:
                file.write(b"\0" * 40_000)
            except OSError:
                pass
        yield disk
    finally:
        unmount(disk)


def test_a_full_disk_raises_a_clear_error_and_loses_nothing_once_there_is_room(tiny_disk, log_dir):
    logger.set_log_dir(tiny_disk / "runs")
    run = logger.start_run()
    flushed, logged = 0, 0
    with pytest.raises(OSError) as raised:
        for step in range(100_000):
            logger.log_metric("loss", step / 7, step=step)
            logged += 1
            if step % 50 == 49:
                logger.flush()
                flushed = logged
    assert raised.value.errno == errno.ENOSPC
    assert "flowsheet could not write to" in str(raised.value) and "run.jsonl" in str(raised.value)
    # What reached the disk reads back; a line cut by the full disk is an unfinished tail, not a problem.
    data = read_logs(tiny_disk / "runs")
    assert data.problems == []
    points = list(data.runs[run.info.run_id].metrics["loss"].steps)
    assert points == list(range(len(points))) and len(points) >= flushed
    # The writer kept what it could not write: once there is room, every point arrives, in order.
    (tiny_disk / "ballast").unlink()
    logger.flush()
    logger.end_run()
    data = read_logs(tiny_disk / "runs")
    assert data.problems == []
    result = data.runs[run.info.run_id]
    assert list(result.metrics["loss"].steps) == list(range(logged)) and result.status == "FINISHED"


def test_an_artifact_that_does_not_fit_leaves_nothing_half_written(tiny_disk, log_dir):
    logger.set_log_dir(tiny_disk / "runs")
    with logger.start_run() as run:
        logger.log_metric("before", 1.0)
        with pytest.raises(OSError) as raised:
            logger.log_text("x" * 200_000, "big.txt")
        assert raised.value.errno == errno.ENOSPC
        (tiny_disk / "ballast").unlink()
    assert sorted(os.listdir(run.artifact_dir)) == []  # neither big.txt nor its hidden temporary file
    data = read_logs(tiny_disk / "runs")
    assert data.problems == [] and data.runs[run.info.run_id].artifacts == []
    assert list(data.runs[run.info.run_id].metrics["before"].values) == [1.0]


def test_a_file_size_limit_stops_an_artifact_with_a_clear_error(tmp_path):
    # tests/logger/test_durability.py covers metrics under RLIMIT_FSIZE; this is artifacts, and the real reader.
    done = run_python("""
        import errno, resource, signal, logger
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        run = logger.start_run()
        for step in range(20):
            logger.log_metric("loss", 0.5, step=step)
        logger.flush()
        resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, resource.RLIM_INFINITY))
        logger.log_text("small", "small.txt")
        try:
            logger.log_text("x" * 100_000, "big.txt")
            print("no error")
        except OSError as error:
            print("raised", errno.errorcode[error.errno])
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        logger.end_run()
    """, cwd=tmp_path)
    assert "raised EFBIG" in done.stdout, done.stdout + done.stderr
    [folder] = run_folders(tmp_path / "runs")
    assert sorted(os.listdir(folder / "artifacts")) == ["small.txt"]
    data = read_logs(tmp_path / "runs")
    assert data.problems == []
    [run] = data.runs.values()
    assert run.status == "FINISHED" and len(run.metrics["loss"]) == 20 and [a.path for a in run.artifacts] == ["small.txt"]


def snapshot(root: Path) -> dict:
    """Every path under root with its kind, size, modification time and content hash."""
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else None
        found[path.relative_to(root).as_posix()] = (info.st_mode, info.st_size, info.st_mtime_ns, digest)
    return found


def test_building_writes_nothing_under_the_log_dir(tmp_path):
    logs = write_site_logs(tmp_path / "logs")
    with open(logs / "torn.jsonl", "w") as file:
        file.write('{"step": 1, "loss": 0.5}\n{"step": 2, "lo')  # an unfinished tail: nothing may "repair" it
    before = snapshot(logs)
    build(BuildConfig.from_options(logs, tmp_path / "site", environ={}))
    build(BuildConfig.from_options(logs, tmp_path / "site", environ={}))  # the incremental path too
    assert snapshot(logs) == before


@pytest.fixture
def read_only_logs(tmp_path):
    """The site's test logs behind a read-only bind mount."""
    logs = write_site_logs(tmp_path / "logs")
    view = tmp_path / "ro"
    view.mkdir()
    mount("--bind", str(logs), str(view))
    try:
        mount("-o", "remount,ro,bind", str(view))
        yield view
    finally:
        unmount(view)


def test_a_read_only_log_dir_builds(read_only_logs, tmp_path):
    with pytest.raises(OSError) as raised:
        (read_only_logs / "probe").write_text("x")
    assert raised.value.errno == errno.EROFS
    result = build(BuildConfig.from_options(read_only_logs, tmp_path / "site", environ={}))
    assert result.problems == [] and result.runs == 5
    assert (tmp_path / "site" / "index.html").is_file()
