"""The public calls browser: the list with its filters, one call's page, and any search as Atom or iCal."""

from __future__ import annotations

import contextlib
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from calltracker.errors import InputError
from calltracker.storage import CallView, ChangeView
from calltracker.text import shorten
from calltracker.web import feeds
from calltracker.web.evidence import evidence_rows
from calltracker.web.filters import FEED_LIMIT, PAGE_SIZE, REGIONS, STATUSES, THEMES, parse_query
from calltracker.web.i18n import (
    DISPLAY_ZONE,
    FIT_LABELS,
    REGION_LABELS,
    SCOPE_LABELS,
    STATUS_LABELS,
    format_datetime,
    format_deadline_key,
    label,
    pick_language,
    text,
)
from calltracker.web.site import Web, lang_param, other_lang

#: Ids are 32-bit integers in the database: a bigger one names no call (and would overflow the query).
MAX_ID = 2**31 - 1


def routes(web: Web) -> list[Route]:
    return [
        Route("/", partial(home, web)),
        Route("/healthz", healthz),
        Route("/calls", partial(calls_page, web)),
        Route("/calls.atom", partial(calls_atom, web)),
        Route("/calls.ics", partial(calls_ics, web)),
        Route("/calls/{call_id:int}", partial(call_page, web)),
    ]


def call_url(web: Web, call: CallView) -> str:
    return f"{web.base_url}/calls/{call.id}"


async def home(web: Web, request: Request) -> Response:
    lang = lang_param(request)
    return RedirectResponse(f"{web.prefix}/calls" + (f"?lang={lang}" if lang else ""), status_code=307)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def calls_page(web: Web, request: Request) -> Response:
    lang = pick_language(request.query_params.get("lang"))
    query = parse_query(request.query_params)
    offset = (query.page - 1) * PAGE_SIZE
    found = await run_in_threadpool(web.app.store.find_calls, query.call_filter(limit=PAGE_SIZE + 1, offset=offset),
                                    now=web.now())
    asked = lang_param(request)
    return web.render(
        "calls.html", lang, query=query, calls=found[:PAGE_SIZE], has_next=len(found) > PAGE_SIZE,
        themes=THEMES, regions=REGIONS, statuses=STATUSES, fits=tuple(FIT_LABELS),
        prev_url=(f"{web.prefix}/calls{query.query_string(page=query.page - 1, lang=asked)}"
                  if query.page > 1 else None),
        next_url=f"{web.prefix}/calls{query.query_string(page=query.page + 1, lang=asked)}",
        atom_url=f"{web.prefix}/calls.atom{query.query_string(lang=asked)}",
        ics_url=f"{web.prefix}/calls.ics{query.query_string(lang=asked)}",
        other_lang_url=f"{web.prefix}/calls{query.query_string(page=query.page, lang=other_lang(lang))}",
        lang_param=asked)


async def call_page(web: Web, request: Request) -> Response:
    lang = pick_language(request.query_params.get("lang"))
    call_id = int(request.path_params["call_id"])
    try:
        if call_id > MAX_ID:
            raise InputError(f"no call {call_id}")
        call = await run_in_threadpool(web.app.store.get_call, call_id)
    except InputError:
        return web.render("error.html", lang, 404, heading=text(lang, "not_found_heading"),
                          message=text(lang, "not_found"))
    history: list[ChangeView] = await run_in_threadpool(web.app.store.changes, call.id)
    asked = lang_param(request)
    c = call.classification
    reason = None
    if c is not None:
        reason = (c.fit_reason_it or c.fit_reason) if lang == "it" else c.fit_reason
    return web.render(
        "call.html", lang, call=call, history=list(reversed(history)), reason=reason,
        evidence=evidence_rows(call, c.evidence, lang) if c else [],
        format_value=lambda field, value: _format_change(field, value, lang),
        back_url=f"{web.prefix}/calls" + (f"?lang={asked}" if asked else ""),
        other_lang_url=f"{web.prefix}/calls/{call.id}?lang={other_lang(lang)}", lang_param=asked)


async def calls_atom(web: Web, request: Request) -> Response:
    lang = pick_language(request.query_params.get("lang"))
    query = parse_query(request.query_params)
    found = await run_in_threadpool(web.app.store.find_calls, query.call_filter(limit=FEED_LIMIT), now=web.now())
    self_url = f"{web.base_url}/calls.atom{query.query_string(lang=lang_param(request))}"
    body = feeds.atom_feed(found, feed_id=self_url, title=text(lang, "calls_heading"), self_url=self_url,
                           call_url=partial(call_url, web), lang=lang, now=web.now())
    return Response(body, media_type=feeds.ATOM_TYPE)


async def calls_ics(web: Web, request: Request) -> Response:
    lang = pick_language(request.query_params.get("lang"))
    query = parse_query(request.query_params)
    found = await run_in_threadpool(web.app.store.find_calls, query.call_filter(limit=FEED_LIMIT), now=web.now())
    body = feeds.ical_feed(found, name=text(lang, "calls_heading"), host=urlsplit(web.base_url).netloc,
                           call_url=partial(call_url, web), lang=lang, now=web.now())
    return Response(body, media_type=feeds.ICS_TYPE,
                    headers={"content-disposition": 'inline; filename="deadlines.ics"'})


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


