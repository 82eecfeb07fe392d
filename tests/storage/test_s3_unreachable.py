"""A storage that does not answer, and a fork while an upload is under way: logging goes on (#18 review)."""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings

import pytest

import logger
from logger import storage

HANG = 120  # seconds after which a logging call is taken to hang forever (it must return within UPLOAD_WAIT)


@pytest.fixture
def silent_endpoint(monkeypatch):
    """An endpoint that takes connections and never answers, as a storage behind a dead network can."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.getsockname()[1]}")
    yield
    server.close()
    for connection in held:
        connection.close()


@pytest.fixture
def own_uploaders(monkeypatch):
    """Uploaders made by the test are forgotten after it: nothing of theirs is sent at the suite's exit."""
    monkeypatch.setattr(storage, "_uploaders", {})


def test_logging_does_not_wait_for_a_storage_that_never_answers(s3, silent_endpoint, own_uploaders, log_dir,
                                                                monkeypatch):
    monkeypatch.setattr(storage, "UPLOAD_WAIT", 0.2)
    said: list[str] = []

    def train() -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            logger.set_log_dir(f"s3://{s3}/runs")
            with logger.start_run():
                logger.log_metric("loss", 0.5)
                logger.log_text("notes\n", "notes.txt")  # asks for an upload, waits for none
                logger.flush()  # waits UPLOAD_WAIT, then says what is kept
            said.extend(str(w.message) for w in caught if issubclass(w.category, storage.UploadDelayed))

    worker = threading.Thread(target=train, daemon=True)
    worker.start()
    worker.join(HANG)
    assert not worker.is_alive(), "a logging call waited for the network"
    assert said and all("kept in" in text and "sent in the background" in text for text in said)
    (uploader,) = storage._uploaders.values()
    assert uploader.pending() > 0  # every event is still staged, none lost


def test_a_child_forked_during_an_upload_logs_and_ends_its_run(s3, own_uploaders, log_dir):
    logger.set_log_dir(f"s3://{s3}/runs")
    (uploader,) = storage._uploaders.values()
    with uploader._lock:  # an upload pass of the parent's thread under way at the fork
        pid = os.fork()
        if pid == 0:  # the child: its copy of the lock is held by a thread it does not have
            code = 1
            try:
                with logger.start_run(run_name="child"):
                    logger.log_metric("loss", 0.1)
                logger.flush()
                code = 0
            finally:
                os._exit(code)
    deadline = time.monotonic() + HANG
    while (done := os.waitpid(pid, os.WNOHANG)) == (0, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    if done == (0, 0):
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung on the parent's upload lock")
    assert os.waitstatus_to_exitcode(done[1]) == 0
