"""The public calls browser: the list with its filters, one call's page, and any search as Atom or iCal."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
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
from calltracker.web import feeds
from calltracker.web.filters import FEED_LIMIT, PAGE_SIZE, REGIONS, STATUSES, THEMES, parse_query
from calltracker.web.i18n import (
    DISPLAY_ZONE,
    FIT_LABELS,
    REGION_LABELS,
    SCOPE_LABELS,
    STATUS_LABELS,
    THEME_LABELS,
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
        evidence=_evidence_items(c.evidence, lang) if c else [],
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
    shown = str(value)
    return shown if len(shown) <= 300 else shown[:299] + "…"


def _describe_evidence(item: Mapping[str, Any]) -> str:
    """One rule that fired (classify.Evidence.to_json): what matched, which rule, where."""
    matched = item.get("matched")
    rule = str(item.get("rule", ""))
    shown = f"«{matched}»" if matched not in (None, "", rule) else f"«{rule}»"
    details = [str(item["kind"])] if item.get("kind") else []
    if matched not in (None, "", rule) and rule:
        details.append(rule)
    if item.get("field"):
        details.append(str(item["field"]))
    if item.get("weight"):
        details.append(f"+{item['weight']:g}" if isinstance(item["weight"], int | float) else str(item["weight"]))
    text_ = f"{shown} ({', '.join(details)})" if details else shown
    return f"{text_}: {item['note']}" if item.get("note") else text_


def _evidence_items(evidence: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    """The classifier's evidence as (what, found) rows, whatever its nesting; rules that fired read as one line."""
    items: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping) and "rule" in value:
            items.append((prefix, _describe_evidence(value)))
        elif isinstance(value, Mapping):
            for k, v in value.items():
                name = label(THEME_LABELS, k, lang) if k in THEME_LABELS else str(k)
                walk(f"{prefix} · {name}" if prefix else name, v)
        elif isinstance(value, list | tuple):
            if all(isinstance(v, Mapping) and "rule" in v for v in value):
                items.append((prefix, "; ".join(_describe_evidence(v) for v in value)))
            elif all(not isinstance(v, Mapping | list | tuple) for v in value):
                items.append((prefix, ", ".join(str(v) for v in value)))
            else:
                for v in value:
                    walk(prefix, v)
        else:
            items.append((prefix, str(value)))

    walk("", evidence)
    return [(k, v if len(v) <= 600 else v[:599] + "…") for k, v in items if v]
