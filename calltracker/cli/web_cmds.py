"""`calltracker serve`: the web application (unsubscribe, preferences, calls browser, feeds)."""

from __future__ import annotations

import click

from calltracker.cli.context import state


@click.command()
@click.option("--host", help="Address to listen on (default: web.host from config).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on (default: web.port from config).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the web pages that digests link to: unsubscribe, preferences, calls browser and feeds."""
    import uvicorn

    from calltracker.web import create_app

    st = state()
    settings = st.settings
    asgi = create_app(st.app, debug=st.debug)
    host = host or settings.web.host
    port = port or settings.web.port
    click.echo(f"serving on http://{host}:{port} (links in digests use {settings.web.base_url})", err=True)
    # calltracker's own access log (one line per request, tokens hidden) replaces uvicorn's, which would
    # write every member link's token into the log.
    uvicorn.run(asgi, host=host, port=port, log_level="debug" if st.debug else "warning",
                proxy_headers=True, server_header=False, access_log=False, log_config=None)
