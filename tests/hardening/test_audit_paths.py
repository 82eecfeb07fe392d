"""Security audit, log-folder paths: nothing is read from outside the log directory, and no one file
(a link out, a FIFO, a socket, a device, an unreadable file, a path near PATH_MAX) hangs or fails the build.

Whatever part of a path is a link (the run's artifacts folder, a folder in it, a file, notes.md), the
reader lists and the site copies only what resolves inside the log directory; the rest is skipped and
reported as a problem. FIFOs, sockets and devices are never opened.
"""

from __future__ import annotations

import os
import socket
import stat
import threading
from pathlib import Path

import pytest
from logwriting import metric, write_artifact, write_experiment, write_run

from logger.reader import read_logs
from reporter.build import build
from reporter.config import BuildConfig

RUN_ID = "a" * 32
SECRET = "BEGIN OPENSSH PRIVATE KEY hunter2"


@pytest.fixture
def logs(tmp_path) -> Path:
    """A log directory with one run holding one ordinary artifact."""
    logs = tmp_path / "logs"
    run = write_run(write_experiment(logs, "houses"), RUN_ID, [metric("loss", 0.5)])
    write_artifact(run, "ok.txt", b"fine")
    return logs


@pytest.fixture
def ssh(tmp_path) -> Path:
    """A folder outside the log directory, like ~/.ssh."""
    folder = tmp_path / "home" / ".ssh"
    (folder / "keys").mkdir(parents=True)
    (folder / "id_rsa").write_text(SECRET)
    (folder / "keys" / "deploy").write_text(SECRET)
    return folder


def run_folder(logs: Path) -> Path:
    return logs / "houses-00000006" / RUN_ID


def site_files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def assert_nothing_leaked(site: Path) -> None:
    files = site_files(site)
    assert not [name for name in files if "id_rsa" in name or "deploy" in name]
    assert not [name for name, data in files.items() if SECRET.encode() in data]


def build_site(logs: Path, site: Path, data=None):
    return build(BuildConfig.from_options(logs, site, environ={}), data=data)


def reported(problems, *words: str) -> list[str]:
    return [str(p) for p in problems if all(word in str(p) for word in words)]


# --------------------------------------------------------------------- links out of the log directory


@pytest.mark.parametrize("link", ["artifacts", "artifacts/keys", "artifacts/id_rsa"])
def test_a_link_out_of_the_log_directory_publishes_nothing(logs, ssh, tmp_path, link):
    """The audit's case: a run whose `artifacts` folder is a link to ~/.ssh published the whole folder."""
    artifacts = run_folder(logs) / "artifacts"
    if link == "artifacts":
        (artifacts / "ok.txt").unlink()
        artifacts.rmdir()
        artifacts.symlink_to(ssh)
    else:
        (run_folder(logs) / link).symlink_to(ssh / Path(link).name)
    data = read_logs(logs)
    assert not [a.path for a in data.runs[RUN_ID].artifacts if "id_rsa" in a.path or "deploy" in a.path]
    assert reported(data.problems, link, "out of the log directory")
    result = build_site(logs, tmp_path / "site")
    assert_nothing_leaked(tmp_path / "site")
    assert reported(result.problems, link, "out of the log directory")


def test_artifacts_listed_before_their_folder_became_a_link_are_not_published(logs, ssh, tmp_path):
    """The site checks again when it reads: the folder may have been swapped for a link since the logs were read."""
    write_artifact(run_folder(logs), "id_rsa", b"logged")
    data = read_logs(logs)
    assert {a.path for a in data.runs[RUN_ID].artifacts} == {"ok.txt", "id_rsa"}
    artifacts = run_folder(logs) / "artifacts"
    artifacts.rename(run_folder(logs) / "old-artifacts")
    artifacts.symlink_to(ssh)
    build_site(logs, tmp_path / "site", data=data)
    assert_nothing_leaked(tmp_path / "site")
    page = (tmp_path / "site" / "runs" / RUN_ID / "index.html").read_text()
    assert "id_rsa" in page  # still listed, as not found in the log directory


def test_notes_linked_out_of_the_log_directory_are_not_read(logs, ssh, tmp_path):
    (logs / "houses-00000006" / "notes.md").symlink_to(ssh / "id_rsa")
    data = read_logs(logs)
    assert data.experiments["houses-00000006"].notes is None
    assert reported(data.problems, "notes.md", "out of the log directory")
    build_site(logs, tmp_path / "site", data=data)
    assert_nothing_leaked(tmp_path / "site")


def test_links_that_stay_inside_the_log_directory_are_followed(tmp_path):
    """The rule is the log directory, resolved: a log directory reached through a link, an artifacts folder
    linked to another folder of the logs, and notes.md linked to a file of the logs are all read."""
    real = tmp_path / "real-logs"
    run = write_run(write_experiment(real, "houses"), RUN_ID, [metric("loss", 0.5)])
    shared = real / "shared"
    shared.mkdir()
    (shared / "plot.txt").write_text("shared plot")
    (shared / "notes.md").write_text("shared notes")
    (run / "artifacts").symlink_to(shared)
    (real / "houses-00000006" / "notes.md").symlink_to(shared / "notes.md")
    logs = tmp_path / "logs"
    logs.symlink_to(real)
    data = read_logs(logs)
    assert [a.path for a in data.runs[RUN_ID].artifacts] == ["notes.md", "plot.txt"]
    assert data.experiments["houses-00000006"].notes == "shared notes"
    assert data.problems == []
    build_site(logs, tmp_path / "site", data=data)
    assert (tmp_path / "site" / "runs" / RUN_ID / "artifacts" / "plot.txt").read_text() == "shared plot"


# --------------------------------------------------------------------- special files


class FifoWatch:
    """A FIFO with a writer waiting on it: if anything opens the FIFO to read, the writer wakes and says so.

    Nothing should: a read of a FIFO with no writer blocks forever. Waking the writer ourselves at the end
    (with a non-blocking read end) ends the thread without any timeout."""

    def __init__(self, path: Path):
        os.mkfifo(path)
        self.path = path
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def _write(self) -> None:
        with open(self.path, "wb"):
            self.opened.set()

    def was_opened(self) -> bool:
        opened = self.opened.is_set()
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self.thread.join()
        os.close(fd)
        return opened


def make_socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    cwd = os.getcwd()
    os.chdir(path.parent)  # a socket's path is limited to 108 bytes: bind by its name
    try:
        server.bind(path.name)
    finally:
        os.chdir(cwd)
    server.close()  # the socket file stays


def make_device(path: Path) -> None:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # like /dev/null
    except PermissionError:
        pytest.skip("cannot make device nodes here")


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
def test_fifos_sockets_and_devices_are_skipped_and_reported(logs, tmp_path, kind):
    artifacts = run_folder(logs) / "artifacts"
    (artifacts / "sub").mkdir()
    targets = [artifacts / "special.txt", artifacts / "sub" / "special.csv", logs / "houses-00000006" / "notes.md"]
    watches = []
    for path in targets:
        if kind == "fifo":
            watches.append(FifoWatch(path))
        elif kind == "socket":
            make_socket(path)
        else:
            make_device(path)
    (artifacts / "linked.txt").symlink_to(artifacts / "special.txt")
    result = build_site(logs, tmp_path / "site")
    assert not [watch.path for watch in watches if watch.was_opened()]
    for name in ("artifacts/special.txt", "artifacts/sub/special.csv", "artifacts/linked.txt", "notes.md"):
        assert reported(result.problems, name, "not a regular file"), name
    copied = tmp_path / "site" / "runs" / RUN_ID / "artifacts"
    assert sorted(p.name for p in copied.rglob("*")) == ["ok.txt"]
