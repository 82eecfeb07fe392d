"""`reporter serve`: build the site, serve it over HTTP, and with --watch rebuild and reload pages as logs grow.

    python -m reporter serve runs -o site --port 8000

Three threads of interest: the HTTP server (main thread, one thread per request), the watchdog
observer, and the rebuild worker (reporter/live/watch.py). The worker publishes what each rebuild changed
on an `EventHub`; every open page holds a server-sent-events stream from it and updates itself in place
when a file it uses changed (reporter/live/reload.js). That script is added to HTML responses here,
never to files on disk. What the terminal shows of the rebuilds is reporter/live/report.py's.
"""

from __future__ import annotations

import http.server
import json
import queue
import socket
import sys
import threading
from functools import cache, partial
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

import click

from reporter.live.guard import HostRule, path_refusal
from reporter.live.report import RebuildReport
from reporter.terminal import warn

EVENTS_PATH = "/__flowsheet__/events"
SCRIPT_PATH = "/__flowsheet__/reload.js"
SCRIPT_TAG = f'<script src="{SCRIPT_PATH}"></script>'.encode()
KEEPALIVE_SECONDS = 20.0  # a comment line on idle streams, so a dead browser tab is noticed
REQUEST_TIMEOUT_SECONDS = 20.0  # a connection silent this long while sending its request is closed


class EventHub:
    """Fan-out of server-sent events: each subscriber gets its own queue; newcomers get the current error."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: set[queue.Queue] = set()
        self._closed = False
        self.error: str | None = None  # the last rebuild's failure, until a rebuild succeeds

    def subscribe(self) -> queue.Queue:
        q: queue.Queue = queue.Queue()
        with self._lock:
            if self._closed:
                q.put(None)
            elif self.error is not None:
                q.put(("build-error", {"message": self.error}))
            self._clients.add(q)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            self._clients.discard(q)

    def publish(self, event: str, data: dict) -> None:
        with self._lock:
            if event == "build-error":
                self.error = data.get("message")
            elif event == "build-ok":
                self.error = None
            for q in self._clients:
                q.put((event, data))

    def close(self) -> None:
        """End every stream (None is the stop signal), so server_close() can join the request threads."""
        with self._lock:
            self._closed = True
            for q in self._clients:
                q.put(None)


class SiteRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Serves OUT_DIR; HTML gets the reload script; the event stream and the script live under /__flowsheet__/.

    Every request, whatever its method, passes `refusal` first (see parse_request)."""

    hub: EventHub  # these three are set on the subclass made by make_server
    host_rule: HostRule
    timeout = REQUEST_TIMEOUT_SECONDS  # socketserver sets it on each connection: reads and writes give up after it
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(message)s: %(explain)s\n"

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False  # http.server already answered (a malformed or too long request line)
        refused = self.refusal()
        if refused is not None:
            status, reason = refused
            self.send_error(status, explain=reason)
            return False
        return True

    def refusal(self) -> tuple[HTTPStatus, str] | None:
        """Why this request gets no file: a foreign Host (DNS rebinding), or a path no file of the site can have."""
        return self.host_rule.refusal(self.headers.get_all("Host", [])) or path_refusal(urlsplit(self.path).path)

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        path = urlsplit(self.path).path
        if path == EVENTS_PATH:
            return self._events()
        if path == SCRIPT_PATH:
            return self._send(200, reload_script(), "text/javascript; charset=utf-8")
        # Every response is fresh (no-store below); a 304 from a 1-second Last-Modified could hide a rebuild.
        del self.headers["If-Modified-Since"]
        html = self._html_file(path)
        if html is None:
            return super().do_GET()
        try:
            # Files are replaced by rename, so one read sees one complete version of the page.
            body = html.read_bytes()
        except OSError:
            return self.send_error(404)
        self._send(200, inject_script(body), "text/html; charset=utf-8")

    def _html_file(self, url_path: str) -> Path | None:
        """The HTML file a GET would serve (a folder's index.html), or None to let http.server decide."""
        target = Path(self.translate_path(url_path))
        if target.is_dir():
            if not url_path.endswith("/"):
                return None  # http.server redirects to the slash form
            target = target / "index.html"
        if target.suffix.lower() in (".html", ".htm") and target.is_file():
            return target
        return None

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        q = self.hub.subscribe()
        try:
            self.wfile.write(b"retry: 1000\n\n")
            self.wfile.flush()
            while True:
                try:
                    item = q.get(timeout=KEEPALIVE_SECONDS)
                except queue.Empty:
                    self.wfile.write(b": keepalive\n\n")
                    self.wfile.flush()
                    continue
                if item is None:
                    break
                event, data = item
                self.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()
        except OSError:
            pass  # the page went away
        finally:
            self.hub.unsubscribe(q)
            self.close_connection = True

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args) -> None:  # noqa: A002 - http.server's signature
        pass  # one line per request would drown the rebuild messages


def inject_script(html: bytes) -> bytes:
    """The page with the reload script before its last </body> (or at the end when it has none)."""
    at = html.lower().rfind(b"</body>")
    if at < 0:
        return html + SCRIPT_TAG
    return html[:at] + SCRIPT_TAG + html[at:]


class SiteServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True  # server_close() waits for request threads (streams end through EventHub.close)

    def handle_error(self, request, client_address) -> None:
        """One line instead of socketserver's traceback; a client that hung up or went quiet is no error."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            click.echo(f"reporter serve: could not answer a request: {type(exc).__name__}: {exc}", err=True)


def make_server(host: str, port: int, out_dir: Path, hub: EventHub,
                request_timeout: float = REQUEST_TIMEOUT_SECONDS) -> SiteServer:
    """Bind (raises OSError, e.g. EADDRINUSE) a server for out_dir; port 0 picks a free port."""
    handler = type("Handler", (SiteRequestHandler,), {"hub": hub, "timeout": request_timeout})
    server = SiteServer((host, port), partial(handler, directory=str(out_dir)))
    handler.host_rule = HostRule(host, str(server.server_address[0]))  # type: ignore[attr-defined]
    return server


def free_port_near(host: str, port: int, tries: int = 20) -> int | None:
    """The first port after `port` that can be bound on host, to suggest when `port` is taken."""
    for candidate in range(port + 1, min(port + 1 + tries, 65536)):
        with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, candidate))
            except OSError:
                continue
            return candidate
    return None


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# ------------------------------------------------------------------------------------ the command


def start_watching(rebuilder, hub: EventHub, report: RebuildReport, poll: bool = False):
    """Watch the config's logs and templates; each settled batch of changes rebuilds, reports and notifies."""
    from reporter.assets import templates_dir
    from reporter.live.watch import FLUSH, Watcher
    from reporter.site.ignore import IGNORE_FILE

    config = rebuilder.config
    roots = {"logs": config.log_root, "templates": templates_dir()}
    if config.templates_dir is not None:
        roots["user-templates"] = config.templates_dir
    # What may be published changed: only a full rebuild removes the files it now leaves out.
    rules = {"publish-rules": config.log_root / IGNORE_FILE}

    def on_batch(kinds: set[str]) -> float | None:
        outcome = rebuilder.rebuild(full=bool(kinds & set(rules)),
                                    templates_changed=bool(kinds - {"logs", FLUSH, *rules}))
        if not report.quiet:
            warn(outcome.problems)
        report.add(outcome)
        tell_pages(outcome, hub)
        return outcome.retry_in

    def on_error(exc: BaseException) -> None:
        click.echo(f"reporter serve: rebuild crashed: {type(exc).__name__}: {exc}", err=True)

    watcher = Watcher(roots, on_batch, ignore=[config.out_dir], files=rules, poll=poll, on_error=on_error)
    watcher.start()
    return watcher


def tell_pages(outcome, hub: EventHub) -> None:
    """The event open pages get for a rebuild: the files it changed, or why it failed, or that it works again."""
    if outcome.error:
        hub.publish("build-error", {"message": outcome.error})
        return
    if not outcome.scope:
        return
    if hub.error is not None:
        hub.publish("build-ok", {})
    if outcome.changed:
        hub.publish("reload", {"paths": outcome.changed})


@cache
def reload_script() -> bytes:
    """The script every served HTML page gets (read once, when first asked for)."""
    return (Path(__file__).parent / "reload.js").read_bytes()
