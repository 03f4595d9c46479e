"""A member's personal feeds (Atom, iCal), behind their secret, revocable feed token."""

from __future__ import annotations

from functools import partial
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from calltracker.storage import CallView, MemberView
from calltracker.web import feeds
from calltracker.web.filters import FEED_LIMIT, BrowseQuery, member_calls
from calltracker.web.i18n import pick_language, text
from calltracker.web.routes.calls import call_url
from calltracker.web.site import Web


def routes(web: Web) -> list[Route]:
    return [
        Route("/f/{feed_token}/calls.atom", partial(member_atom, web)),
        Route("/f/{feed_token}/deadlines.ics", partial(member_ics, web)),
    ]


async def _feed_member(web: Web, request: Request) -> tuple[MemberView, list[CallView], str]:
    store = web.app.store
    member = await run_in_threadpool(store.member_by_feed_token, request.path_params["feed_token"])
    if member is None:
        raise HTTPException(404)
    lang = pick_language(request.query_params.get("lang"), member.language)
    found = await run_in_threadpool(store.find_calls, BrowseQuery().call_filter(limit=None), now=web.now())
    return member, member_calls(found, member)[:FEED_LIMIT], lang


async def member_atom(web: Web, request: Request) -> Response:
    member, found, lang = await _feed_member(web, request)
    self_url = f"{web.base_url}/f/{member.feed_token}/calls.atom"
    body = feeds.atom_feed(found, feed_id=f"{web.base_url}/f/member-{member.id}",
                           title=text(lang, "calls_heading"), self_url=self_url, call_url=partial(call_url, web),
                           lang=lang, now=web.now())
    return Response(body, media_type=feeds.ATOM_TYPE)


async def member_ics(web: Web, request: Request) -> Response:
    member, found, lang = await _feed_member(web, request)
    body = feeds.ical_feed(found, name=text(lang, "calls_heading"), host=urlsplit(web.base_url).netloc,
                           call_url=partial(call_url, web), lang=lang, now=web.now())
    return Response(body, media_type=feeds.ICS_TYPE,
                    headers={"content-disposition": 'inline; filename="deadlines.ics"'})
