"""Security audit, log-folder paths: nothing is read from outside the log directory, and no one file
(a link out, a FIFO, a socket, a device, an unreadable file, a path near PATH_MAX) hangs or fails the build.

Whatever part of a path is a link (the run's artifacts folder, a folder in it, a file, notes.md), the
reader lists and the site copies only what resolves inside the log directory; the rest is skipped and
reported as a problem. FIFOs, sockets and devices are never opened.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import tempfile
import threading
from pathlib import Path

import pytest
from logwriting import metric, write_artifact, write_experiment, write_run

from logger.reader import read_logs

from reporter.config import BuildConfig
from reporter.live.rebuild import Rebuilder
from reporter.site.build import build, vega_bundle

RUN_ID = "a" * 32
SECRET = "BEGIN OPENSSH PRIVATE KEY hunter2"
NOBODY = 65534


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


# --------------------------------------------------------------------- unreadable files, very long paths


def build_as_nobody(logs: Path, site: Path) -> dict:
    """Build in a forked child running as an unprivileged user (root reads mode-000 files); the result as JSON."""
    vega_bundle()  # made once here: the child cannot write the cache
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                result = build_site(logs, site)
                report = {"problems": [str(p) for p in result.problems]}
            except Exception as error:  # noqa: BLE001 - what the parent asserts on
                report = {"error": f"{type(error).__name__}: {error}"}
            os.write(write_end, json.dumps(report).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(output)


@pytest.fixture
def shared_tmp():
    """A folder an unprivileged user can use (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="flowsheet-audit-"))
    yield folder
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o700)
            path.rmdir()
        else:
            path.unlink()
    folder.rmdir()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an unprivileged user")
def test_an_unreadable_artifact_or_notes_file_is_skipped_and_reported(shared_tmp):
    logs = shared_tmp / "logs"
    run = write_run(write_experiment(logs, "houses"), RUN_ID, [metric("loss", 0.5)])
    write_artifact(run, "ok.txt", b"fine")
    locked = [write_artifact(run, "locked.txt", b"secret"), write_artifact(run, "model.json", b"{}"),
              logs / "houses-00000006" / "notes.md"]
    locked[-1].write_text("notes")
    for path in [shared_tmp, *shared_tmp.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)
    for path in locked:
        path.chmod(0)
    report = build_as_nobody(logs, shared_tmp / "site")
    assert "error" not in report, report["error"]
    for name in ("locked.txt", "model.json", "notes.md"):
        assert reported(report["problems"], name, "Permission denied"), (name, report)
    copied = shared_tmp / "site" / "runs" / RUN_ID / "artifacts"
    assert sorted(p.name for p in copied.iterdir()) == ["ok.txt"]


def write_far_artifact(logs: Path) -> None:
    """An artifact whose path is a little shorter than PATH_MAX: in a site with a longer folder name it is longer."""
    deep = str(run_folder(logs) / "artifacts")
    while len(deep) < os.pathconf("/", "PC_PATH_MAX") - 120:
        deep += "/" + "d" * 50
    os.makedirs(deep)
    Path(deep, "far.txt").write_text("far away")


def test_an_artifact_path_near_path_max_is_skipped_and_reported(logs, tmp_path):
    write_far_artifact(logs)
    site = tmp_path / ("site-" + "s" * 200)
    result = build_site(logs, site)
    assert reported(result.problems, "far.txt", "not copied")
    assert (site / "runs" / RUN_ID / "artifacts" / "ok.txt").read_text() == "fine"
    assert (site / "runs" / RUN_ID / "index.html").is_file()


def test_serve_rebuilds_past_an_artifact_it_cannot_copy(logs, tmp_path):
    write_far_artifact(logs)
    site = tmp_path / ("site-" + "s" * 200)
    rebuilder = Rebuilder(BuildConfig.from_options(logs, site, environ={}))
    outcome = rebuilder.rebuild(full=True)
    assert outcome.error is None and reported(outcome.problems, "far.txt", "not copied")
    write_artifact(run_folder(logs), "new.txt", b"new")
    assert rebuilder.rebuild().error is None
    assert (site / "runs" / RUN_ID / "artifacts" / "new.txt").read_text() == "new"
