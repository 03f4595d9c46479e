"""The web application (Starlette, pages rendered server-side with Jinja2).

Members arrive from a digest's signed links: `/u/<token>` (one-click unsubscribe, RFC 8058) and
`/p/<token>` (preferences). Anyone may browse the calls (`/calls`, `/calls/<id>`) and follow any search
as Atom or iCalendar; a member also has personal feeds behind their secret, revocable feed token.
The routes live in `calltracker.web.routes`, one module per audience; `site` holds what they share.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp

from calltracker.bootstrap import App, signing_key
from calltracker.domain import shown_deadline
from calltracker.text import safe_url
from calltracker.web import interest as consortium_web
from calltracker.web import staff as staff_web
from calltracker.web.i18n import pick_language, text
from calltracker.web.routes import calls, members, personal
from calltracker.web.routes.members import FREQUENCIES
from calltracker.web.site import AccessLog, SecurityHeaders, Web, finalize

__all__ = ["FREQUENCIES", "create_app"]

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "_templates" / "web"  # see mailtemplates.py
MAX_BODY_BYTES = 64 * 1024


class _Site(Starlette):
    """Starlette with the security headers outside everything, its error middleware included: a 500 is
    answered with the same headers as any other response, and logged like any other request."""

    def build_middleware_stack(self) -> ASGIApp:
        return AccessLog(SecurityHeaders(super().build_middleware_stack()))


def create_app(app: App, *, debug: bool = False) -> Starlette:
    """The ASGI application over an App (settings, store, clock)."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, finalize=finalize)
    env.globals["safe_url"] = safe_url  # one rule for every link to a scraped address
    web = Web(app=app, key=signing_key(app.settings), env=env)
    env.filters["next_deadline"] = lambda deadlines: shown_deadline(deadlines, web.now())

    async def server_error(request: Request, exc: Exception) -> Response:
        # The details go to the log (redacted by the CLI's handlers), never to the client.
        lang = pick_language(request.query_params.get("lang"))
        return web.render("error.html", lang, 500, heading=text(lang, "server_error_heading"),
                          message=text(lang, "server_error"))

    async def not_found(request: Request, exc: Exception) -> Response:
        lang = pick_language(request.query_params.get("lang"))
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 405:
            return PlainTextResponse("method not allowed", status_code=405)
        return web.render("error.html", lang, status, heading=text(lang, "not_found_heading"),
                          message=text(lang, "not_found"))

    routes = [*calls.routes(web), *personal.routes(web), *members.routes(web),
              *consortium_web.routes(web), *staff_web.routes(web)]  # the consortium builder (issue 17)
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        404: not_found, 405: not_found, 500: server_error}
    return _Site(debug=debug, routes=routes, exception_handlers=handlers, max_body_size=MAX_BODY_BYTES)
