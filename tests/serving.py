"""Driving a real `reporter serve` process in tests: start it on a free port, read its event stream.

Used by tests/reporter/test_serve.py and tests/browser/test_serve_browser.py; `static_server` serves a
built site as a plain web server would (tests/browser).
"""

from __future__ import annotations

import contextlib
import functools
import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.helpers import clean_env, run_python

DEADLINE = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`python -m reporter serve ...` with its terminal output collected in a file."""

    def __init__(self, tmp: Path, log_dir: Path, *extra: str, port: int | None = None):
        self.port = port or free_port()
        self.out_dir = tmp / "site"
        self.output = tmp / "serve-output.txt"
        self._out_file = open(self.output, "wb")  # noqa: SIM115 - the server writes to it until stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reporter", "serve", str(log_dir), "-o", str(self.out_dir),
             "--port", str(self.port), *extra],
            cwd=tmp, env=clean_env(), stdout=self._out_file, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/"

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self) -> None:
        # The first build (Vega bundle, every page) can take a while on a loaded machine.
        wait_for(lambda: "Serving" in self.text() or self.proc.poll() is not None, what="the server to start",
                 deadline=DEADLINE * 4)
        assert self.proc.poll() is None, self.text()

    def get(self, path: str) -> str:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return response.read().decode("utf-8")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=DEADLINE)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._out_file.close()
        return code


class EventStream:
    """The server-sent events of /__flowsheet__/events, read on a thread into a queue of (event, data).

    A plain socket rather than urllib, so that close() can shut it down while the thread is reading.
    """

    def __init__(self, url: str):
        self.events: queue.Queue = queue.Queue()
        host, port = url.split("//")[1].strip("/").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=DEADLINE * 4)
        self.sock.sendall(f"GET /__flowsheet__/events HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        event = None
        try:
            for raw in self.sock.makefile("rb"):
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    self.events.put((event, json.loads(line[6:])))
        except (OSError, ValueError):
            pass
        self.events.put(("closed", {}))

    def wait_for(self, event: str, predicate=lambda data: True) -> dict:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                name, data = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if name == event and predicate(data):
                return data
        raise AssertionError(f"no {event!r} event within {DEADLINE} s")

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=5)


def wait_for(condition, what: str, deadline: float = DEADLINE):
    end_at = time.monotonic() + deadline
    while time.monotonic() < end_at:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def append_from_another_process(run_file: Path, *records: dict) -> None:
    """Append lines as a training script would: from a separate interpreter."""
    lines = "".join(json.dumps(r) + "\n" for r in records)
    run_python(f"""
        with open({str(run_file)!r}, "a", encoding="utf-8") as f:
            f.write({lines!r})
    """, cwd=run_file.parent)


def serve_one_run(tmp: Path, experiment_id: str, run_id: str, events: list[dict]) -> Server:
    """A `reporter serve` over one experiment with one run, with run.html copied into --templates so a
    test can break and mend it; `server.logs` and `server.templates` say where they are."""
    import shutil

    from tests.logwriting import write_experiment, write_run

    from reporter.assets import templates_dir

    logs = tmp / "runs"
    write_run(write_experiment(logs, "live", experiment_id=experiment_id), run_id, events, name="training")
    templates = tmp / "templates"
    templates.mkdir()
    shutil.copy(templates_dir() / "run.html", templates / "run.html")
    server = Server(tmp, logs, "--templates", str(templates))
    server.wait_ready()
    server.logs, server.templates = logs, templates
    return server


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def static_server(folder: Path) -> Iterator[str]:
    """Python's plain HTTP server over folder on 127.0.0.1 (types by extension, as GitHub Pages picks them);
    yields its base URL, without a trailing slash."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
