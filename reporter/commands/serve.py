"""`reporter serve`: build, serve on localhost, and rebuild live while runs log (reporter/live does the work)."""

from __future__ import annotations

import errno
import signal
import socket
import sys
import threading

import click

from logger.mirror import is_url

from reporter.config import ConfigError
from reporter.live.report import RebuildReport
from reporter.live.server import (
    REQUEST_TIMEOUT_SECONDS,
    EventHub,
    free_port_near,
    make_server,
    start_watching,
    tell_pages,
)
from reporter.options import (
    default_log_dir,
    log_dir_argument,
    out_dir_options,
    quiet_option,
    site_config,
    site_options,
)
from reporter.remote import keep_synced, local_logs
from reporter.terminal import warn


@click.command()
@log_dir_argument
@out_dir_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port (0: any free port).")
@click.option("--watch/--no-watch", default=True, show_default=True, help="Rebuild when the logs or templates change.")
@click.option("--poll", is_flag=True, help="Poll for changes (network file systems, containers) instead of inotify.")
@click.option("--open", "open_browser", is_flag=True, help="Open the site in a web browser.")
@click.option("--request-timeout", type=click.FloatRange(0, min_open=True), default=REQUEST_TIMEOUT_SECONDS,
              show_default=True, metavar="SECONDS",
              help="Close a connection that takes longer than this to send its request.")
@site_options
@quiet_option
def serve(log_dir, out_dir, **options) -> None:
    """Build the site, serve it on http://HOST:PORT/ and rebuild it live as LOG_DIR grows."""
    sys.exit(run_serve(log_dir, out_dir, **options))


def run_serve(log_dir: str | None, out_dir: str, *, host: str = "127.0.0.1", port: int = 8000, watch: bool = True,
              poll: bool = False, open_browser: bool = False, force: bool = False,
              request_timeout: float = REQUEST_TIMEOUT_SECONDS, quiet: bool = False, **site) -> int:
    """Build, serve until Ctrl-C (or SIGTERM), rebuild on changes; returns the exit code (0 on Ctrl-C).

    The site options mean what they mean for `reporter build`: the same pages, masked the same way.
    `quiet` prints errors only (and that a failed rebuild works again)."""
    from reporter.live.rebuild import Rebuilder
    from reporter.site.writer import SiteError, SiteWriter

    given = log_dir or default_log_dir()
    url = given if is_url(given) else None
    try:
        log_dir = local_logs(log_dir, quiet=quiet)  # a URL: its local copy, synced below while serving
        config = site_config(log_dir, out_dir, site, force=force)
    except ConfigError as exc:
        click.echo(f"reporter serve: {exc}", err=True)
        return 2
    try:
        SiteWriter(config.out_dir, force=config.force).open()  # the foreign-folder check, before binding
    except SiteError as exc:
        click.echo(f"reporter serve: {exc}", err=True)
        return 1
    hub = EventHub()
    try:
        server = make_server(host, port, config.out_dir, hub, request_timeout)
    except OSError as exc:
        click.echo(f"reporter serve: {_bind_error(exc, host, port)}", err=True)
        return 1

    rebuilder = Rebuilder(config)
    report = RebuildReport(quiet=quiet)
    say = (lambda *args, **kwargs: None) if quiet else click.echo
    watcher = None
    stop_syncing = None
    previous_sigterm = signal.getsignal(signal.SIGTERM)
    try:
        first = rebuilder.rebuild(full=True)
        if not quiet:
            warn(first.problems)
        if first.redaction:
            say(f"warning: {first.redaction}", err=True)
        report.first_build(first)
        tell_pages(first, hub)
        if watch:
            watcher = start_watching(rebuilder, hub, report, poll=poll)
            if url is not None:
                stop_syncing = keep_synced(url, quiet=quiet)
            watcher.debouncer.add("logs")  # catch what was appended during the first build
        bound_host, bound_port = server.server_address[:2]
        url = f"http://{_url_host(str(bound_host))}:{bound_port}/"
        watching = f"; watching {config.log_dir}" + (" (polling)" if poll else "") if watch else ""
        say(f"Serving {config.out_dir} at {url}{watching}. Press Ctrl-C to stop.")
        # Said even with --quiet: other machines can read the site.
        if host not in ("127.0.0.1", "localhost", "::1"):
            click.echo(f"note: listening on {host}: other machines on the network can read this site", err=True)
        if open_browser:
            import webbrowser
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        signal.signal(signal.SIGTERM, _raise_interrupt)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        # Stop in order: no new rebuilds, the running one finished (its temp files renamed or removed),
        # every event stream ended, then the request threads joined and the socket closed.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if stop_syncing is not None:
            stop_syncing.set()
        if watcher is not None:
            watcher.stop()
        report.close()
        hub.close()
        server.server_close()
        signal.signal(signal.SIGTERM, previous_sigterm)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    say("Stopped.")
    return 0


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _bind_error(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        other = free_port_near(host, port)
        hint = f"; try --port {other}" if other else "; choose another --port"
        return f"port {port} on {host} is already in use{hint}"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"not allowed to use port {port} on {host} (ports below 1024 need privileges); try --port 8000"
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on host {host!r}: {exc.strerror or exc}"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
