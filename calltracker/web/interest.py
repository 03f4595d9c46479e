"""Member routes of the consortium builder: "I'm interested" links and the sharing preference.

`/i/<token>` comes from a digest: the token is signed like the unsubscribe links and names the member and
the call. A GET only shows the question (mail scanners follow links); a POST records or withdraws the
interest, then queues the introductions that became due. `/p/<token>/sharing` stores the member's choice
to be suggested to partners (off until they say so).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from calltracker.consortium import fits_joint_bid, interest_counts, partners
from calltracker.errors import InputError
from calltracker.introductions import queue_introductions
from calltracker.tokens import TokenError, read_token
from calltracker.web.consortium_texts import ctext
from calltracker.web.i18n import pick_language, text
from calltracker.web.site import valid_member_csrf

if TYPE_CHECKING:
    from calltracker.web.site import Web

log = logging.getLogger(__name__)

#: An interest link must work as long as the call it came with may be open.
INTEREST_MAX_AGE_DAYS = 400
PREFS_MAX_AGE_DAYS = 180
NO_STORE = {"cache-control": "no-store"}


def routes(web: Web) -> list[Route]:
    """The consortium's member routes; also lets call.html and prefs.html show counts and sharing."""
    app = web.app
    store = app.store
    web.env.globals["ct"] = ctext
    web.env.globals["interest_counts"] = lambda call_id: interest_counts(store.interests(call_id))

    def error(request: Request, status: int) -> HTMLResponse:
        lang = pick_language(request.query_params.get("lang"))
        response = web.render("error.html", lang, status, heading=text(lang, "error_heading"),
                              message=text(lang, "bad_link"))
        response.headers.update(NO_STORE)
        return response

    async def interest(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            claims = read_token(web.key, "interest", token, web.now(), max_age_days=INTEREST_MAX_AGE_DAYS)
        except TokenError as exc:
            log.info("refused interest link: %s", exc)
            return error(request, 400)
        if claims.subject is None:
            return error(request, 400)
        call_id = claims.subject
        member = await run_in_threadpool(store.member_for_link, claims.member_id, claims.version)
        if member is None:
            return error(request, 404)
        try:
            call = await run_in_threadpool(store.get_call, call_id)
        except InputError:
            return error(request, 404)
        lang = pick_language(request.query_params.get("lang"), member.language)
        if request.method == "POST":
            form = await request.form()
            if not valid_member_csrf(web, request, form, claims):
                return error(request, 403)
            action = form.get("action")
            if action == "withdraw":
                done = await run_in_threadpool(store.withdraw_interest, member.id, claims.version, call_id)
            elif action == "add":
                done = await run_in_threadpool(store.add_interest, member.id, claims.version, call_id, web.now())
            else:
                return error(request, 400)
            if not done:
                return error(request, 404)
            log.info("member %s %s interest in call %s", member.id,
                     "withdrew" if action == "withdraw" else "declared", call_id)
            if action == "add":
                try:  # the interest is stored: introductions not queued now are queued by the next run
                    await run_in_threadpool(queue_introductions, app, call_id)
                except Exception:
                    log.exception("call %s: introductions not queued", call_id)
            return RedirectResponse(f"{web.prefix}/i/{token}?done={'withdrawn' if action == 'withdraw' else 'added'}",
                                    status_code=303, headers=NO_STORE)
        interested = await run_in_threadpool(store.is_interested, member.id, call_id)
        found = []
        if interested and fits_joint_bid(call):
            region = await run_in_threadpool(store.member_region, member.id)
            candidates = await run_in_threadpool(store.partner_candidates)
            ids = [i.member.id for i in await run_in_threadpool(store.interests, call_id)]
            found = partners(call, candidates, interested_ids=ids, for_region=region)
        notice = {"added": "interest_recorded", "withdrawn": "interest_withdrawn"}.get(
            request.query_params.get("done") or "")
        response = web.render(
            "interest.html", lang, call=call, member=member, interested=interested, partners=found,
            next_deadline=call.next_deadline(web.now()), csrf=web.token_for("csrf", member),
            action=f"{web.prefix}/i/{token}", call_url=f"{web.prefix}/calls/{call.id}",
            prefs_url=f"{web.prefix}/p/{web.token_for('prefs', member)}",
            notice=ctext(lang, notice) if notice else None, error=None)
        response.headers.update(NO_STORE)
        return response

    async def sharing(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            claims = read_token(web.key, "prefs", token, web.now(), max_age_days=PREFS_MAX_AGE_DAYS)
        except TokenError:
            return error(request, 400)
        form = await request.form()
        if not valid_member_csrf(web, request, form, claims):
            return error(request, 403)
        saved = await run_in_threadpool(lambda: store.save_sharing(
            claims.member_id, claims.version, web.now(), share_profile=form.get("share_profile") == "on",
            share_contact=form.get("share_contact") == "on"))
        if not saved:
            return error(request, 404)
        log.info("member %s saved sharing preferences", claims.member_id)
        return RedirectResponse(f"{web.prefix}/p/{token}?done=saved", status_code=303)

    return [Route("/i/{token}", interest, methods=["GET", "POST"]),
            Route("/p/{token}/sharing", sharing, methods=["POST"])]
