"""What a request to `reporter serve` must be to be answered: its own host name, and a path a site file can have.

Checked before a request reaches the file system or the event stream (SiteRequestHandler.parse_request).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from http import HTTPStatus
from urllib.parse import unquote

MAX_PATH_BYTES = 2048  # no page or artifact of a site has a longer URL path (Linux allows 4096 for a file)
MAX_NAME_BYTES = 255  # nor a longer file name (the limit of common file systems)
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::"})
# A host name or an IP address (IPv6 in brackets), then an optional port; nothing else is a Host header.
HOST_HEADER = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\[\]:/@\s]+)(?::[0-9]{1,5})?")


def path_refusal(url_path: str) -> tuple[HTTPStatus, str] | None:
    """The status for a URL path that names no file of the site, before it reaches the file system.

    Refused: bytes that are not UTF-8 or a NUL (os calls raise on them), paths and names longer than
    any the site has (ENAMETOOLONG), and hidden names (the site's marker, the writer's temporary files).
    """
    try:
        path = unquote(url_path, errors="strict")
    except UnicodeDecodeError:
        return HTTPStatus.BAD_REQUEST, "the path is not UTF-8"
    if "\0" in path:
        return HTTPStatus.BAD_REQUEST, "the path holds a NUL character"
    if len(path.encode()) > MAX_PATH_BYTES:
        return HTTPStatus.REQUEST_URI_TOO_LONG, f"paths are at most {MAX_PATH_BYTES} bytes"
    parts = path.split("/")
    if any(len(part.encode()) > MAX_NAME_BYTES or part.startswith(".") for part in parts):
        return HTTPStatus.NOT_FOUND, "no such file"
    return None


class HostRule:
    """Which Host headers the server answers: its own address and the loopback names, with any port.

    A web page on another site can point its own domain at 127.0.0.1 (DNS rebinding) and read what
    we serve; its requests still carry that domain as Host, so they are refused. Listening on every
    interface (0.0.0.0, ::) also accepts any IP address and this machine's name: none can be rebound.
    """

    def __init__(self, *addresses: str):
        names = {_bare(a) for a in addresses} - {""}
        self.any_address = bool(names & WILDCARD_ADDRESSES)
        if self.any_address:
            names.add(socket.gethostname().lower())
        self.names = frozenset((names - WILDCARD_ADDRESSES) | LOOPBACK_NAMES)

    def refusal(self, host_headers: list[str]) -> tuple[HTTPStatus, str] | None:
        """421 unless the request has exactly one Host header and it names this server."""
        if len(host_headers) == 1 and self.allows(host_headers[0]):
            return None
        return HTTPStatus.MISDIRECTED_REQUEST, f"this server answers only to {self.describe()}"

    def allows(self, header: str) -> bool:
        match = HOST_HEADER.fullmatch(header)
        if match is None:
            return False
        name = _bare(match.group(1))
        return name in self.names or (self.any_address and _is_ip(name))

    def describe(self) -> str:
        return ", ".join(sorted(self.names)) + (" or an IP address" if self.any_address else "")


def _bare(host: str) -> str:
    return host.strip("[]").lower()


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
