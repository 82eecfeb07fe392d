"""`reporter serve` publishes what `reporter build` publishes, answers only its own host, and survives odd requests.

A real server on 127.0.0.1 per module; raw sockets send what a browser never would. Waits poll with a
deadline; nothing here asserts how fast.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys

import pytest

from tests.helpers import clean_env
from tests.logwriting import artifact, metric, param, tag, write_artifact, write_experiment, write_run
from tests.serving import DEADLINE, EventStream, Server, append_from_another_process, wait_for

EXP = "audit-00000004"
RUN = "a" * 32
TOKEN = "ghp_" + "A1b2C3d4" * 5
LATER_TOKEN = "ghp_" + "Z9y8X7w6" * 5
RUN_PAGE = f"runs/{RUN}/index.html"
TIMEOUT = 0.5  # --request-timeout for these servers


def request(server: Server, path: str, host: str | None = "127.0.0.1", method: str = "GET") -> tuple[int, bytes]:
    """Status and body of one request sent as given: `path` unquoted by us, `host` None sends no Host line."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=DEADLINE)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def served_logs(tmp, events, ignore: str):
    logs = tmp / "runs"
    run = write_run(write_experiment(logs, "audit", experiment_id=EXP), RUN, events, name="leaky")
    (logs / ".flowsheetignore").write_text(ignore, encoding="utf-8")
    return logs, run


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve-audit")
    logs, _ = served_logs(tmp, [param("lr", 0.1), metric("loss", 1.0, 0)], ignore="")
    server = Server(tmp, logs, "--request-timeout", str(TIMEOUT))
    server.wait_ready()
    server.logs = logs
    yield server
    assert server.stop() == 0, server.text()
    assert "Traceback" not in server.text()


# ------------------------------------------------------------------------------------------ Host header


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example", "localhost.evil",
                                  "", None])
def test_a_foreign_host_is_refused_so_dns_rebinding_cannot_read_the_site(served, host):
    host = host.format(port=served.port) if host else host
    for path in ("/", "/" + RUN_PAGE, "/__flowsheet__/reload.js", "/__flowsheet__/events"):
        status, body = request(served, path, host=host)
        assert status == 421, (path, status)
        assert b"leaky" not in body and b"EventSource" not in body
    status, _ = request(served, "/", host=host, method="HEAD")
    assert status == 421


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:{port}", "localhost", "LocalHost:{port}", "[::1]",
                                  "[::1]:{port}"])
def test_the_bound_address_and_the_loopback_names_are_served(served, host):
    status, body = request(served, "/" + RUN_PAGE, host=host.format(port=served.port))
    assert status == 200 and b"leaky" in body


# ------------------------------------------------------------------------------------------ odd paths


@pytest.mark.parametrize("path, statuses", [
    ("/runs/%00", {400}),
    ("/%ff", {400}),
    ("/%ed%a0%80", {400}),
    ("/index.html%00.txt", {400}),
    ("/" + "n" * 5000, {404, 414}),
    ("/runs/" + "n" * 300 + "/index.html", {404, 414}),
    ("/a" * 3000, {414}),
])
def test_odd_paths_get_a_status_and_no_traceback(served, path, statuses):
    for method in ("GET", "HEAD"):
        status, _ = request(served, path, method=method)
        assert status in statuses, (method, path[:40], status)
    assert request(served, "/")[0] == 200  # still serving
    assert "Traceback" not in served.text() and "Exception" not in served.text()


def test_a_half_sent_request_is_closed_after_the_timeout_and_event_streams_live_on(served):
    stream = EventStream(served.url)
    try:
        with socket.create_connection(("127.0.0.1", served.port), timeout=DEADLINE * 2) as idle:
            idle.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line: the request never ends
            assert idle.recv(4096) == b""  # the server hung up (a socket.timeout here means it never did)
        # The event stream outlived the request timeout: an append still reaches it.
        append_from_another_process(served.logs / EXP / RUN / "run.jsonl", metric("loss", 0.3125, 1))
        stream.wait_for("reload", lambda data: RUN_PAGE in data["paths"])
    finally:
        stream.close()
    assert "Traceback" not in served.text()


def test_request_timeout_must_be_positive(tmp_path):
    logs, _ = served_logs(tmp_path, [metric("loss", 1.0, 0)], ignore="")
    done = subprocess.run([sys.executable, "-m", "reporter", "serve", str(logs), "-o", str(tmp_path / "site"),
                           "--request-timeout", "0"], cwd=tmp_path, env=clean_env(), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "--request-timeout" in done.stderr and "Traceback" not in done.stderr


# ------------------------------------------------------------------------------------------ what is published


def build_run_page(tmp, logs, *options: str) -> str:
    out = tmp / f"built-{len(list(tmp.glob('built-*')))}"
    done = subprocess.run([sys.executable, "-m", "reporter", "build", str(logs), "-o", str(out), "-q", *options],
                          cwd=tmp, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return (out / RUN_PAGE).read_text(encoding="utf-8")


def test_a_served_site_is_masked_and_filtered_exactly_like_the_built_one(tmp_path):
    options = ("--redact", "^team_code$", "--max-artifact-mb", "0.001")
    logs, run = served_logs(tmp_path, [param("password", "hunter2"), param("team_code", "falcon"),
                                       tag("note", f"pushed with {TOKEN}"), artifact("weights.ckpt", 5),
                                       artifact("big.txt", 4096), artifact("notes.txt", 5), metric("loss", 1.0, 0)],
                            ignore="*.ckpt\n")
    write_artifact(run, "weights.ckpt", b"model")
    write_artifact(run, "big.txt", b"x" * 4096)
    write_artifact(run, "notes.txt", b"hello")
    server = Server(tmp_path, logs, *options)
    try:
        server.wait_ready()
        site = server.out_dir
        page = server.get(RUN_PAGE)
        for secret in ("hunter2", "falcon", TOKEN):
            assert secret not in page
        assert "[redacted]" in page and "redaction:" in server.text()
        assert (site / RUN_PAGE).read_text(encoding="utf-8") == build_run_page(tmp_path, logs, *options)
        assert not (site / f"runs/{RUN}/artifacts/weights.ckpt").exists()
        assert not (site / f"runs/{RUN}/artifacts/big.txt").exists()  # over --max-artifact-mb
        assert (site / f"runs/{RUN}/artifacts/notes.txt").is_file()

        # An incremental rebuild publishes the same way.
        write_artifact(run, "later.ckpt", b"model2")
        append_from_another_process(run / "run.jsonl", param("db_password", "swordfish"),
                                    tag("later", LATER_TOKEN), artifact("later.ckpt", 6), metric("loss", 0.4375, 1))
        wait_for(lambda: "0.4375" in server.get(RUN_PAGE), "the run page to show the appended point")
        page = server.get(RUN_PAGE)
        for secret in ("hunter2", "swordfish", TOKEN, LATER_TOKEN):
            assert secret not in page
        site_text = "\n".join(p.read_text(errors="replace") for p in site.rglob("*") if p.is_file())
        for secret in ("hunter2", "swordfish", "falcon", TOKEN, LATER_TOKEN):
            assert secret not in site_text
        assert not list(site.rglob("*.ckpt"))
        assert (site / RUN_PAGE).read_text(encoding="utf-8") == build_run_page(tmp_path, logs, *options)

        # A new .flowsheetignore rule takes effect while serving.
        with open(logs / ".flowsheetignore", "a", encoding="utf-8") as rules:
            rules.write("notes.txt\n")
        wait_for(lambda: not (site / f"runs/{RUN}/artifacts/notes.txt").exists(),
                 "the newly ignored artifact to leave the site")
        assert "notes.txt" not in server.get(RUN_PAGE)
    finally:
        assert server.stop() == 0, server.text()
    assert "Traceback" not in server.text()


def test_serve_no_redact_publishes_values_as_logged(tmp_path):
    logs, _ = served_logs(tmp_path, [param("password", "hunter2"), metric("loss", 1.0, 0)], ignore="")
    server = Server(tmp_path, logs, "--no-redact")
    try:
        server.wait_ready()
        assert "hunter2" in server.get(RUN_PAGE)
    finally:
        assert server.stop() == 0, server.text()


# ------------------------------------------------------------------------------------------ in-process


def test_pages_cannot_be_planned_from_the_readers_data(tmp_path):
    from reporter.config import BuildConfig
    from reporter.site.build import gather, plan_home, plan_run, publishable, read_data

    logs, _ = served_logs(tmp_path, [param("password", "hunter2"), metric("loss", 1.0, 0)], ignore="")
    config = BuildConfig.from_options(logs, tmp_path / "site")
    raw = read_data(config.log_dir)
    for plan in (lambda d: gather(d, config), lambda d: plan_home(d, config, frozenset()),
                 lambda d: plan_run(d, RUN, config, frozenset())):
        with pytest.raises(TypeError, match="publishable"):
            plan(raw)
    safe, _ = publishable(raw, config)
    assert "hunter2" not in repr(gather(safe, config).pages)


def test_listening_on_every_interface_accepts_ip_addresses_and_this_machines_name_only():
    from reporter.live.guard import HostRule

    rule = HostRule("0.0.0.0", "0.0.0.0")
    assert rule.allows("192.168.1.20:8000") and rule.allows("[fe80::1]:8000") and rule.allows("localhost")
    assert rule.allows(socket.gethostname())
    assert not rule.allows("evil.example") and not rule.allows("192.168.1.20.nip.io")
    assert rule.refusal(["localhost", "evil.example"])  # two Host headers: which one would a proxy believe?
    assert not HostRule("127.0.0.1").allows("192.168.1.20")
