"""`calltracker serve`: the web application (unsubscribe, preferences, calls browser, feeds)."""

from __future__ import annotations

import errno
import socket

import click

from calltracker.cli.context import state
from calltracker.errors import CalltrackerError


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; a busy port or a bad address is one line, not uvicorn's traceback."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CalltrackerError(f"cannot serve on {host}:{port}: unknown address ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        why = "the port is already in use (another `calltracker serve`?); choose one with --port" \
            if exc.errno == errno.EADDRINUSE else exc.strerror
        raise CalltrackerError(f"cannot serve on {host}:{port}: {why}") from None
    return sock


@click.command()
@click.option("--host", help="Address to listen on (default: web.host from config).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on (default: web.port from config).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the web pages that digests link to: unsubscribe, preferences, calls browser and feeds."""
    import uvicorn

    from calltracker.web import create_app

    st = state()
    settings = st.settings
    host = host or settings.web.host
    port = port or settings.web.port
    sock = bind(host, port)  # before anything else: a busy port fails fast and says so
    asgi = create_app(st.app, debug=st.debug)
    click.echo(f"serving on http://{host}:{port} (links in digests use {settings.web.base_url})", err=True)
    # calltracker's own access log (one line per request, tokens hidden) replaces uvicorn's, which would
    # write every member link's token into the log.
    config = uvicorn.Config(asgi, host=host, port=port, log_level="debug" if st.debug else "warning",
                            proxy_headers=True, server_header=False, access_log=False, log_config=None)
    uvicorn.Server(config).run(sockets=[sock])
