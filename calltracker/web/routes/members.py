"""Member links from a digest: one-click unsubscribe (RFC 8058, `/u/<token>`) and preferences (`/p/<token>`).

Every change a request makes is keyed by the member id inside a signed token, never by anything else a
request carries, so nothing one member sends can touch another member's data.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from calltracker.storage import MemberView
from calltracker.tokens import TokenClaims, make_token
from calltracker.web.filters import THEMES
from calltracker.web.i18n import FIT_LABELS, FREQUENCY_LABELS, LANGUAGES, pick_language, text
from calltracker.web.site import LinkError, Web, lang_param, other_lang, valid_member_csrf

log = logging.getLogger(__name__)

FREQUENCIES = tuple(FREQUENCY_LABELS)
#: An unsubscribe link must keep working long after the digest that carried it (RFC 8058 asks for it).
UNSUBSCRIBE_MAX_AGE_DAYS = 400
PREFS_MAX_AGE_DAYS = 180
#: A preferences form must be sent within this long of being shown.


def routes(web: Web) -> list[Route]:
    return [
        Route("/u/{token}", partial(unsubscribe, web), methods=["GET", "POST"]),
        Route("/p/{token}", partial(prefs, web), methods=["GET", "POST"]),
    ]


async def unsubscribe(web: Web, request: Request) -> Response:
    token = request.path_params["token"]
    try:
        claims, member = await run_in_threadpool(web.member_link, "unsubscribe", token, UNSUBSCRIBE_MAX_AGE_DAYS)
    except LinkError as exc:
        return web.link_error(request, exc.status)
    lang = pick_language(request.query_params.get("lang"), member.language)
    if request.method != "POST":
        # Mail scanners follow links: a GET only asks, it never unsubscribes.
        asked = lang_param(request)
        return web.render("unsubscribe.html", lang, member=member,
                          action=f"{web.prefix}/u/{token}" + (f"?lang={asked}" if asked else ""),
                          prefs_url=_prefs_url(web, member, claims),
                          other_lang_url=f"{web.prefix}/u/{token}?lang={other_lang(lang)}")
    form = await request.form()
    if form.get("List-Unsubscribe") != "One-Click":
        return PlainTextResponse("expected List-Unsubscribe=One-Click", status_code=400)
    done = await run_in_threadpool(web.app.store.unsubscribe_member, claims.member_id, claims.version, web.now())
    if not done:
        return web.link_error(request, 404)
    log.info("member %s unsubscribed through a one-click link", claims.member_id)
    return web.render("unsubscribed.html", lang, member=member, prefs_url=_prefs_url(web, member, claims))


def _prefs_url(web: Web, member: MemberView, link: TokenClaims) -> str | None:
    """The preferences link an unsubscribe page offers: dated like the unsubscribe link itself, so following
    (or replaying) a 400-day unsubscribe link never mints a fresh 180-day preferences link. None once a
    preferences link of that age would have expired."""
    issued = datetime.fromtimestamp(link.issued_at, UTC)
    if web.now() - issued > timedelta(days=PREFS_MAX_AGE_DAYS):
        return None
    return f"{web.prefix}/p/{make_token(web.key, 'prefs', member.id, member.token_version, issued)}"


def _prefs_response(web: Web, member: MemberView, token: str, lang: str, *, status: int = 200,
                    notice: str | None = None, error: str | None = None,
                    values: Mapping[str, Any] | None = None) -> HTMLResponse:
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
        other_lang_url=f"{web.prefix}/p/{token}?lang={other_lang(lang)}")


async def prefs(web: Web, request: Request) -> Response:
    token = request.path_params["token"]
    try:
        claims, member = await run_in_threadpool(web.member_link, "prefs", token, PREFS_MAX_AGE_DAYS)
    except LinkError as exc:
        return web.link_error(request, exc.status)
    lang = pick_language(request.query_params.get("lang"), member.language)
    if request.method != "POST":
        done = request.query_params.get("done")
        notice = {"saved": "prefs_saved", "resubscribed": "resubscribed", "revoked": "feeds_revoked"}.get(done or "")
        return _prefs_response(web, member, token, lang, notice=text(lang, notice) if notice else None)
    form = await request.form()
    if not valid_member_csrf(web, request, form, claims):
        return _prefs_response(web, member, token, lang, status=403, error=text(lang, "form_expired"))
    store = web.app.store
    action = form.get("action") or "save"
    if action == "revoke_feeds":
        await run_in_threadpool(store.regenerate_feed_token, claims.member_id, claims.version, web.now())
        return RedirectResponse(f"{web.prefix}/p/{token}?done=revoked", status_code=303)
    values, problems = _read_prefs(form)
    if problems:
        return _prefs_response(web, member, token, lang, status=400, values=values,
                               error=text(lang, "invalid_input", what=", ".join(problems)))
    resubscribe = action == "resubscribe"
    saved = await run_in_threadpool(partial(store.save_preferences, claims.member_id, claims.version, web.now(),
                                            resubscribe=resubscribe, **values))
    if not saved:
        return web.link_error(request, 404)
    log.info("member %s saved preferences%s", claims.member_id, " and resubscribed" if resubscribe else "")
    return RedirectResponse(f"{web.prefix}/p/{token}?done={'resubscribed' if resubscribe else 'saved'}",
                            status_code=303)


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

