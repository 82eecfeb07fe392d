"""A real S3-compatible server on 127.0.0.1 (moto's server mode) that counts what it serves.

The server speaks HTTP to s3fs like any S3 endpoint; nothing in the client is patched. The counter
wraps the server's WSGI application: the bytes of each response body and the requests by method.
"""

from __future__ import annotations

import collections
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


class _Quiet(MotoRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


class Traffic:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: collections.Counter[str] = collections.Counter()
        self.bytes_out = 0  # response bodies: what clients fetched
        self.object_gets: list[tuple[str, str | None, int]] = []  # (path, Range header, body bytes) of GETs of objects

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.bytes_out = 0
            self.object_gets.clear()


class S3Server:
    """start() on a free port (or `port`), stop(), start() again on the same port: moto keeps its buckets
    in the process, so a restarted server serves what the stopped one held."""

    def __init__(self) -> None:
        self.traffic = Traffic()
        self.port = 0
        self._server = None
        self._thread: threading.Thread | None = None
        self._app = DomainDispatcherApplication(create_backend_app)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _counted(self, environ, start_response):
        traffic = self.traffic
        with traffic.lock:
            traffic.requests[environ["REQUEST_METHOD"]] += 1
        # The body is counted before any of it is sent, so a client that has it sees it counted.
        response = self._app(environ, start_response)
        try:
            body = list(response)
        finally:
            if hasattr(response, "close"):
                response.close()
        size = sum(map(len, body))
        with traffic.lock:
            traffic.bytes_out += size
            query = environ.get("QUERY_STRING", "")
            if environ["REQUEST_METHOD"] == "GET" and "list-type" not in query and "location" not in query:
                traffic.object_gets.append((environ["PATH_INFO"], environ.get("HTTP_RANGE"), size))
        return body

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self._counted, threaded=True, request_handler=_Quiet)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
