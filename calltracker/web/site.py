"""What every web route shares: the `Web` context (app, signing key, templates), member links, headers."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment
from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calltracker.bootstrap import App
from calltracker.storage import MemberView
from calltracker.tokens import TokenClaims, TokenError, make_token, read_token
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
    label,
    pick_language,
    text,
)

log = logging.getLogger(__name__)

#: What XML 1.0, HTML and iCalendar TEXT cannot carry: C0 controls but tab and newline, DEL, C1 controls,
#: U+FFFE/U+FFFF and lone surrogates. Every page and feed passes scraped text through `strip_unsafe`.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def strip_unsafe(value: str) -> str:
    return _UNSAFE.sub("", value)


def finalize(value: Any) -> Any:
    """Jinja's last step before any `{{ value }}` is written: text loses what no page may carry."""
    if isinstance(value, Markup):
        return Markup(_UNSAFE.sub("", value))
    if isinstance(value, str):
        return _UNSAFE.sub("", value)
    return value

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


access_log = logging.getLogger("calltracker.access")
_SECRET_PATH = re.compile(r"^(?P<prefix>/(?:u|p|f))/[^/]*")


def loggable_path(path: str) -> str:
    """A request path fit for a log: member and feed tokens are replaced by "…" (they are credentials)."""
    return _SECRET_PATH.sub(r"\g<prefix>/…", path)


class AccessLog:
    """One log line per request (`calltracker.access`, INFO): client, method, path without tokens, status,
    bytes and milliseconds. Query strings are left out: nothing a member needs to find is in them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        size = 0

        async def send_counting(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            client = scope.get("client") or ("-", 0)
            access_log.info('%s "%s %s HTTP/%s" %d %d %.1fms', client[0], scope.get("method", "-"),
                            loggable_path(str(scope.get("path", ""))), scope.get("http_version", "1.1"), status,
                            size, (time.perf_counter() - started) * 1000)


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

    def link_error(self, request: Request, status: int) -> HTMLResponse:
        lang = pick_language(request.query_params.get("lang"))
        return self.render("error.html", lang, status, heading=text(lang, "error_heading"),
                           message=text(lang, "bad_link"))


def lang_param(request: Request) -> str | None:
    """The `lang` the URL asked for explicitly, if it is one we speak."""
    value = request.query_params.get("lang")
    return value if value in LANGUAGES else None


def other_lang(lang: str) -> str:
    return "en" if lang == "it" else "it"


#: How long a member form's CSRF token stays valid.
CSRF_MAX_AGE_DAYS = 1


def same_origin(request: Request, base_url: str) -> bool:
    """A browser's form post names where it came from; refuse one from another site (CSRF defence in depth)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    public = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))
    return origin in (own, public)


def valid_member_csrf(web: Web, request: Request, form: FormData, link: TokenClaims) -> bool:
    """The form token must be ours, fresh, and minted for the very member (and link version) of the URL."""
    if not same_origin(request, web.base_url):
        return False
    value = form.get("csrf")
    if not isinstance(value, str):
        return False
    try:
        claims = read_token(web.key, "csrf", value, web.now(), max_age_days=CSRF_MAX_AGE_DAYS)
    except TokenError:
        return False
    return (claims.member_id, claims.version) == (link.member_id, link.version)
