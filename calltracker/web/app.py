"""The web application (Starlette, pages rendered server-side with Jinja2).

Members arrive from a digest's signed links: `/u/<token>` (one-click unsubscribe, RFC 8058) and
`/p/<token>` (preferences). Anyone may browse the calls (`/calls`, `/calls/<id>`) and follow any search
as Atom or iCalendar; a member also has personal feeds behind their secret, revocable feed token.

Every change a request makes is keyed by the member id inside a signed token, never by anything else a
request carries, so nothing one member sends can touch another member's data.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calltracker.bootstrap import App, signing_key
from calltracker.domain import Deadline, next_deadline
from calltracker.errors import InputError
from calltracker.storage import CallView, ChangeView, MemberView
from calltracker.text import shorten
from calltracker.tokens import TokenClaims, TokenError, make_token, read_token
from calltracker.web import feeds
from calltracker.web import interest as consortium_web
from calltracker.web import staff as staff_web
from calltracker.web.evidence import evidence_rows
from calltracker.web.filters import (
    FEED_LIMIT,
    PAGE_SIZE,
    REGIONS,
    STATUSES,
    THEMES,
    BrowseQuery,
    member_calls,
    parse_query,
)
from calltracker.web.i18n import (
    CONSORTIUM_LABELS,
    DISPLAY_ZONE,
    FIELD_LABELS,
    FIT_LABELS,
    FREQUENCY_LABELS,
    LANGUAGES,
    REGION_LABELS,
    SCOPE_LABELS,
    SCORE_LABELS,
    STATUS_LABELS,
    THEME_LABELS,
    format_date,
    format_datetime,
    format_deadline,
    format_deadline_key,
    label,
    pick_language,
    text,
)

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "_templates" / "web"  # see mailtemplates.py
FREQUENCIES = tuple(FREQUENCY_LABELS)
#: An unsubscribe link must keep working long after the digest that carried it (RFC 8058 asks for it).
UNSUBSCRIBE_MAX_AGE_DAYS = 400
PREFS_MAX_AGE_DAYS = 180
#: A preferences form must be sent within this long of being shown.
CSRF_MAX_AGE_DAYS = 1
MAX_BODY_BYTES = 64 * 1024

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    # Member links carry their token in the path: never leak it to the sites a page links to. Not
    # "no-referrer": with it browsers send `Origin: null` on our own form posts, defeating the origin check.
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy",
     b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
     b"frame-ancestors 'none'; base-uri 'none'"),
]


class SecurityHeaders:
    """Adds the same protective headers to every response; token pages are also kept out of caches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = str(scope.get("path", "")).startswith(("/u/", "/p/", "/f/"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if private:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LinkError(Exception):
    """A member link that cannot be honoured: `status` 400 (forged, malformed, expired) or 404 (revoked)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True)
class Web:
    """What the request handlers share: the app's adapters, the signing key and the template engine."""

    app: App
    key: str
    env: Environment

    @property
    def base_url(self) -> str:
        return self.app.settings.web.base_url

    @property
    def prefix(self) -> str:
        return urlsplit(self.base_url).path.rstrip("/")

    def now(self) -> datetime:
        return self.app.clock()

    def render(self, name: str, lang: str, status: int = 200, **context: Any) -> HTMLResponse:
        template = self.env.get_template(name)
        html = template.render(
            lang=lang, t=partial(text, lang), prefix=self.prefix, now=self.now(),
            theme_label=lambda k: label(THEME_LABELS, k, lang),
            region_label=lambda k: label(REGION_LABELS, k, lang),
            status_label=lambda k: label(STATUS_LABELS, k, lang),
            fit_label=lambda k: label(FIT_LABELS, k, lang),
            score_label=lambda k: label(SCORE_LABELS, k, lang),
            scope_label=lambda k: label(SCOPE_LABELS, k, lang),
            consortium_label=lambda k: label(CONSORTIUM_LABELS, k, lang),
            frequency_label=lambda k: label(FREQUENCY_LABELS, k, lang),
            field_label=lambda k: label(FIELD_LABELS, k, lang),
            deadline=lambda d: format_deadline(d.at, d.date_only, lang),
            fmt_datetime=lambda at: format_datetime(at.astimezone(DISPLAY_ZONE), lang),
            fmt_date=lambda at: format_date(at, lang),
            **context)
        return HTMLResponse(html, status_code=status)

    def member_link(self, purpose: str, token: str, max_age_days: int) -> tuple[TokenClaims, MemberView]:
        """Verify a member link and load its member; raises LinkError."""
        try:
            claims = read_token(self.key, purpose, token, self.now(), max_age_days=max_age_days)
        except TokenError as exc:
            log.info("refused %s link: %s", purpose, exc)
            raise LinkError(400) from None
        member = self.app.store.member_for_link(claims.member_id, claims.version)
        if member is None:
            raise LinkError(404)
        return claims, member

    def token_for(self, purpose: str, member: MemberView) -> str:
        return make_token(self.key, purpose, member.id, member.token_version, self.now())


def _lang_param(request: Request) -> str | None:
    value = request.query_params.get("lang")
    return value if value in LANGUAGES else None


def _same_origin(request: Request, base_url: str) -> bool:
    """A browser's form post names where it came from; refuse one from another site (CSRF defence in depth)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    public = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))
    return origin in (own, public)


def _format_change(field: str, value: Any, lang: str) -> str:
    """One side of a recorded change, in words: deadlines and dates on Rome's clock, labels translated."""
    if value is None or value == "" or value == []:
        return "—"
    if field == "deadlines" and isinstance(value, list):
        value = [format_deadline_key(str(v), lang) for v in value]
    elif field == "opening_date" and isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = format_datetime(datetime.fromisoformat(value).astimezone(DISPLAY_ZONE), lang)
    elif field == "status":
        value = label(STATUS_LABELS, value, lang)
    elif field == "scope":
        value = label(SCOPE_LABELS, value, lang)
    elif field == "regions" and isinstance(value, list):
        value = [label(REGION_LABELS, v, lang) for v in value]
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    return shorten(str(value), 300)


def create_app(app: App, *, debug: bool = False) -> Starlette:
    """The ASGI application over an App (settings, store, clock)."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    web = Web(app=app, key=signing_key(app.settings), env=env)
    env.filters["next_deadline"] = lambda deadlines: _next_deadline(deadlines, web.now())
    store = app.store

    async def home(request: Request) -> Response:
        lang = _lang_param(request)
        return RedirectResponse(f"{web.prefix}/calls" + (f"?lang={lang}" if lang else ""), status_code=307)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    # -- calls browser -------------------------------------------------------------------------------------

    async def calls_page(request: Request) -> Response:
        lang = pick_language(request.query_params.get("lang"))
        query = parse_query(request.query_params)
        offset = (query.page - 1) * PAGE_SIZE
        found = await run_in_threadpool(store.find_calls, query.call_filter(limit=PAGE_SIZE + 1, offset=offset),
                                        now=web.now())
        lang_param = _lang_param(request)
        return web.render(
            "calls.html", lang, query=query, calls=found[:PAGE_SIZE], has_next=len(found) > PAGE_SIZE,
            themes=THEMES, regions=REGIONS, statuses=STATUSES, fits=tuple(FIT_LABELS),
            prev_url=(f"{web.prefix}/calls{query.query_string(page=query.page - 1, lang=lang_param)}"
                      if query.page > 1 else None),
            next_url=f"{web.prefix}/calls{query.query_string(page=query.page + 1, lang=lang_param)}",
            atom_url=f"{web.prefix}/calls.atom{query.query_string(lang=lang_param)}",
            ics_url=f"{web.prefix}/calls.ics{query.query_string(lang=lang_param)}",
            other_lang_url=f"{web.prefix}/calls{query.query_string(page=query.page, lang=_other(lang))}",
            lang_param=lang_param)

    async def call_page(request: Request) -> Response:
        lang = pick_language(request.query_params.get("lang"))
        call_id = int(request.path_params["call_id"])
        try:
            call = await run_in_threadpool(store.get_call, call_id)
        except InputError:
            return web.render("error.html", lang, 404, heading=text(lang, "not_found_heading"),
                              message=text(lang, "not_found"))
        history: list[ChangeView] = await run_in_threadpool(store.changes, call.id)
        lang_param = _lang_param(request)
        c = call.classification
        reason = None
        if c is not None:
            reason = (c.fit_reason_it or c.fit_reason) if lang == "it" else c.fit_reason
        return web.render(
            "call.html", lang, call=call, history=list(reversed(history)), reason=reason,
            evidence=evidence_rows(call, c.evidence, lang) if c else [],
            format_value=lambda field, value: _format_change(field, value, lang),
            back_url=f"{web.prefix}/calls" + (f"?lang={lang_param}" if lang_param else ""),
            other_lang_url=f"{web.prefix}/calls/{call.id}?lang={_other(lang)}", lang_param=lang_param)

    def call_url(call: CallView) -> str:
        return f"{web.base_url}/calls/{call.id}"

    async def calls_atom(request: Request) -> Response:
        lang = pick_language(request.query_params.get("lang"))
        query = parse_query(request.query_params)
        found = await run_in_threadpool(store.find_calls, query.call_filter(limit=FEED_LIMIT), now=web.now())
        self_url = f"{web.base_url}/calls.atom{query.query_string(lang=_lang_param(request))}"
        body = feeds.atom_feed(found, feed_id=self_url, title=text(lang, "calls_heading"), self_url=self_url,
                               call_url=call_url, lang=lang, now=web.now())
        return Response(body, media_type=feeds.ATOM_TYPE)

    async def calls_ics(request: Request) -> Response:
        lang = pick_language(request.query_params.get("lang"))
        query = parse_query(request.query_params)
        found = await run_in_threadpool(store.find_calls, query.call_filter(limit=FEED_LIMIT), now=web.now())
        body = feeds.ical_feed(found, name=text(lang, "calls_heading"), host=urlsplit(web.base_url).netloc,
                               call_url=call_url, lang=lang, now=web.now())
        return Response(body, media_type=feeds.ICS_TYPE,
                        headers={"content-disposition": 'inline; filename="deadlines.ics"'})

    # -- personal feeds ------------------------------------------------------------------------------------

    async def _feed_member(request: Request) -> tuple[MemberView, list[CallView], str]:
        member = await run_in_threadpool(store.member_by_feed_token, request.path_params["feed_token"])
        if member is None:
            raise HTTPException(404)
        lang = pick_language(request.query_params.get("lang"), member.language)
        found = await run_in_threadpool(store.find_calls, BrowseQuery().call_filter(limit=None), now=web.now())
        return member, member_calls(found, member)[:FEED_LIMIT], lang

    async def member_atom(request: Request) -> Response:
        member, found, lang = await _feed_member(request)
        self_url = f"{web.base_url}/f/{member.feed_token}/calls.atom"
        body = feeds.atom_feed(found, feed_id=f"{web.base_url}/f/member-{member.id}",
                               title=text(lang, "calls_heading"), self_url=self_url, call_url=call_url,
                               lang=lang, now=web.now())
        return Response(body, media_type=feeds.ATOM_TYPE)

    async def member_ics(request: Request) -> Response:
        member, found, lang = await _feed_member(request)
        body = feeds.ical_feed(found, name=text(lang, "calls_heading"), host=urlsplit(web.base_url).netloc,
                               call_url=call_url, lang=lang, now=web.now())
        return Response(body, media_type=feeds.ICS_TYPE,
                        headers={"content-disposition": 'inline; filename="deadlines.ics"'})

    # -- one-click unsubscribe (RFC 8058) ------------------------------------------------------------------

    async def unsubscribe(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            claims, member = await run_in_threadpool(web.member_link, "unsubscribe", token,
                                                     UNSUBSCRIBE_MAX_AGE_DAYS)
        except LinkError as exc:
            return _link_error(request, exc.status)
        lang = pick_language(request.query_params.get("lang"), member.language)
        if request.method != "POST":
            # Mail scanners follow links: a GET only asks, it never unsubscribes.
            lang_param = _lang_param(request)
            return web.render("unsubscribe.html", lang, member=member,
                              action=f"{web.prefix}/u/{token}" + (f"?lang={lang_param}" if lang_param else ""),
                              prefs_url=f"{web.prefix}/p/{web.token_for('prefs', member)}",
                              other_lang_url=f"{web.prefix}/u/{token}?lang={_other(lang)}")
        form = await request.form()
        if form.get("List-Unsubscribe") != "One-Click":
            return PlainTextResponse("expected List-Unsubscribe=One-Click", status_code=400)
        done = await run_in_threadpool(store.unsubscribe_member, claims.member_id, claims.version, web.now())
        if not done:
            return _link_error(request, 404)
        log.info("member %s unsubscribed through a one-click link", claims.member_id)
        return web.render("unsubscribed.html", lang, member=member,
                          prefs_url=f"{web.prefix}/p/{web.token_for('prefs', member)}")

    # -- preferences --------------------------------------------------------------------------------------

    def prefs_response(member: MemberView, token: str, lang: str, *, status: int = 200, notice: str | None = None,
                       error: str | None = None, values: Mapping[str, Any] | None = None) -> HTMLResponse:
        shown = dict(values or {})
        return web.render(
            "prefs.html", lang, status, member=member, action=f"{web.prefix}/p/{token}",
            csrf=web.token_for("csrf", member), notice=notice, error=error,
            chosen_themes=shown.get("themes", member.themes), chosen_language=shown.get("language", member.language),
            chosen_min_fit=shown.get("min_fit", member.min_fit),
            chosen_frequency=shown.get("frequency", member.frequency), chosen_paused=shown.get("paused", member.paused),
            themes=THEMES, languages=LANGUAGES, fits=tuple(FIT_LABELS), frequencies=FREQUENCIES,
            atom_url=f"{web.base_url}/f/{member.feed_token}/calls.atom",
            ics_url=f"{web.base_url}/f/{member.feed_token}/deadlines.ics",
            other_lang_url=f"{web.prefix}/p/{token}?lang={_other(lang)}")

    async def prefs(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            claims, member = await run_in_threadpool(web.member_link, "prefs", token, PREFS_MAX_AGE_DAYS)
        except LinkError as exc:
            return _link_error(request, exc.status)
        lang = pick_language(request.query_params.get("lang"), member.language)
        if request.method != "POST":
            done = request.query_params.get("done")
            notice = {"saved": "prefs_saved", "resubscribed": "resubscribed",
                      "revoked": "feeds_revoked"}.get(done or "")
            return prefs_response(member, token, lang, notice=text(lang, notice) if notice else None)
        form = await request.form()
        if not _valid_csrf(web, request, form, claims):
            return prefs_response(member, token, lang, status=403, error=text(lang, "form_expired"))
        action = form.get("action") or "save"
        if action == "revoke_feeds":
            await run_in_threadpool(store.regenerate_feed_token, claims.member_id, claims.version, web.now())
            return RedirectResponse(f"{web.prefix}/p/{token}?done=revoked", status_code=303)
        values, problems = _read_prefs(form)
        if problems:
            return prefs_response(member, token, lang, status=400, values=values,
                                  error=text(lang, "invalid_input", what=", ".join(problems)))
        resubscribe = action == "resubscribe"
        saved = await run_in_threadpool(partial(store.save_preferences, claims.member_id, claims.version, web.now(),
                                                resubscribe=resubscribe, **values))
        if not saved:
            return _link_error(request, 404)
        log.info("member %s saved preferences%s", claims.member_id, " and resubscribed" if resubscribe else "")
        return RedirectResponse(f"{web.prefix}/p/{token}?done={'resubscribed' if resubscribe else 'saved'}",
                                status_code=303)

    def _link_error(request: Request, status: int) -> HTMLResponse:
        lang = pick_language(request.query_params.get("lang"))
        return web.render("error.html", lang, status, heading=text(lang, "error_heading"),
                          message=text(lang, "bad_link"))

    async def not_found(request: Request, exc: Exception) -> Response:
        lang = pick_language(request.query_params.get("lang"))
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 405:
            return PlainTextResponse("method not allowed", status_code=405)
        return web.render("error.html", lang, status, heading=text(lang, "not_found_heading"),
                          message=text(lang, "not_found"))

    routes = [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/calls", calls_page),
        Route("/calls.atom", calls_atom),
        Route("/calls.ics", calls_ics),
        Route("/calls/{call_id:int}", call_page),
        Route("/f/{feed_token}/calls.atom", member_atom),
        Route("/f/{feed_token}/deadlines.ics", member_ics),
        Route("/u/{token}", unsubscribe, methods=["GET", "POST"]),
        Route("/p/{token}", prefs, methods=["GET", "POST"]),
    ]
    routes += [*consortium_web.routes(web), *staff_web.routes(web)]  # the consortium builder (issue 17)
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {404: not_found, 405: not_found}
    starlette = Starlette(debug=debug, routes=routes, exception_handlers=handlers, max_body_size=MAX_BODY_BYTES)
    starlette.add_middleware(SecurityHeaders)
    return starlette


def _next_deadline(deadlines: Sequence[Deadline], now: datetime) -> Deadline:
    """The first deadline still ahead, else the last one (a closed call shows when it closed)."""
    return next_deadline(deadlines, now) or deadlines[-1]


def _other(lang: str) -> str:
    return "en" if lang == "it" else "it"


def _valid_csrf(web: Web, request: Request, form: FormData, link: TokenClaims) -> bool:
    """The form token must be ours, fresh, and minted for the very member (and link version) of the URL."""
    if not _same_origin(request, web.base_url):
        return False
    value = form.get("csrf")
    if not isinstance(value, str):
        return False
    try:
        claims = read_token(web.key, "csrf", value, web.now(), max_age_days=CSRF_MAX_AGE_DAYS)
    except TokenError:
        return False
    return (claims.member_id, claims.version) == (link.member_id, link.version)


def _read_prefs(form: FormData) -> tuple[dict[str, Any], list[str]]:
    """Validate the preferences form. Returns the values to store and the names of bad fields."""
    problems: list[str] = []
    themes: list[str] = []
    for value in form.getlist("themes"):
        if value in THEMES and value not in themes:
            themes.append(str(value))
        elif value not in THEMES:
            problems.append("themes")
    language = form.get("language")
    if language not in LANGUAGES:
        problems.append("language")
    try:
        min_fit = int(str(form.get("min_fit", "")))
    except ValueError:
        min_fit = -1
    if not 0 <= min_fit <= 3:
        problems.append("min_fit")
    frequency = form.get("frequency")
    if frequency not in FREQUENCIES:
        problems.append("frequency")
    values = {"themes": tuple(t for t in THEMES if t in themes), "language": str(language),
              "min_fit": max(0, min(3, min_fit)), "frequency": str(frequency), "paused": form.get("paused") == "on"}
    return values, sorted(set(problems))

