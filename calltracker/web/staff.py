"""Staff pages: sign-in and the board of interest (calls x regions), behind a session.

Accounts are made from the CLI (`calltracker staff add EMAIL`); passwords are argon2 hashes. A session is
a random secret in a cookie that is Secure, HttpOnly and SameSite=Strict; the database keeps its SHA-256.
Every form carries a CSRF token (before sign-in: one also set in a cookie, double-submit; after: the
session's own) and is refused from another origin. Failed sign-ins are counted per account and per client
address; past the limit the form is refused without looking at the password.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from calltracker.consortium import REGIONS, SORTS
from calltracker.introductions import staff_board
from calltracker.staff_auth import hash_password, needs_rehash, new_secret, secret_hash, verify_password
from calltracker.storage.staff import StaffSession
from calltracker.web.consortium_texts import ctext
from calltracker.web.i18n import pick_language
from calltracker.web.interest import NO_STORE
from calltracker.web.site import same_origin

if TYPE_CHECKING:
    from calltracker.web.site import Web

log = logging.getLogger(__name__)

SESSION_COOKIE = "ct_staff"
LOGIN_COOKIE = "ct_staff_login"
SESSION_HOURS = 12
#: Failed sign-ins allowed in LOGIN_WINDOW per account, and per client address.
LOGIN_LIMIT_ACCOUNT = 5
LOGIN_LIMIT_CLIENT = 20
LOGIN_WINDOW = timedelta(minutes=15)


def routes(web: Web) -> list[Route]:
    store = web.app.store
    path = web.prefix or "/"

    def cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(name, value, max_age=max_age, path=path, secure=True, httponly=True, samesite="strict")

    async def session_of(request: Request) -> StaffSession | None:
        secret = request.cookies.get(SESSION_COOKIE)
        if not secret:
            return None
        return await run_in_threadpool(store.staff_session, secret_hash(secret), web.now())

    def login_page(request: Request, status: int = 200, error: str | None = None) -> HTMLResponse:
        lang = pick_language(request.query_params.get("lang"))
        token = secrets.token_urlsafe(24)
        response = web.render("staff_login.html", lang, status, csrf=token, error=error,
                              action=f"{web.prefix}/staff/login")
        cookie(response, LOGIN_COOKIE, token, 3600)
        response.headers.update(NO_STORE)
        return response

    async def login(request: Request) -> Response:
        lang = pick_language(request.query_params.get("lang"))
        if request.method != "POST":
            return login_page(request)
        form = await request.form()
        sent, expected = form.get("csrf"), request.cookies.get(LOGIN_COOKIE)
        if (not same_origin(request, web.base_url) or not isinstance(sent, str) or not expected
                or not hmac.compare_digest(sent, expected)):
            return login_page(request, 403, ctext(lang, "staff_form_expired"))
        email = str(form.get("email") or "").strip().lower()[:320]
        password = str(form.get("password") or "")
        now = web.now()
        client = request.client.host if request.client else "unknown"
        keys = [f"account:{email}", f"client:{client}"]
        since = now - LOGIN_WINDOW
        account_failures = await run_in_threadpool(store.login_failures, keys[0], since)
        client_failures = await run_in_threadpool(store.login_failures, keys[1], since)
        if account_failures >= LOGIN_LIMIT_ACCOUNT or client_failures >= LOGIN_LIMIT_CLIENT:
            log.warning("staff sign-in refused for %s from %s: too many failures", email, client)
            limited = login_page(request, 429, ctext(lang, "staff_rate_limited"))
            limited.headers["retry-after"] = str(int(LOGIN_WINDOW.total_seconds()))
            return limited
        account = await run_in_threadpool(store.staff_account, email)
        ok = await run_in_threadpool(verify_password, account.password_hash if account else None, password)
        if account is None or not account.active or not ok:
            await run_in_threadpool(store.add_login_failure, keys, now)
            log.info("staff sign-in failed for %s from %s", email, client)
            return login_page(request, 401, ctext(lang, "staff_bad_login"))
        if needs_rehash(account.password_hash):
            await run_in_threadpool(store.set_staff_password_hash, account.id, hash_password(password), now)
        await run_in_threadpool(store.clear_login_failures, keys[0], now - LOGIN_WINDOW)
        secret = new_secret()
        await run_in_threadpool(store.add_staff_session, account.id, secret_hash(secret), secrets.token_urlsafe(24),
                                now, now + timedelta(hours=SESSION_HOURS))
        log.info("staff %s signed in", email)
        response = RedirectResponse(f"{web.prefix}/staff", status_code=303, headers=NO_STORE)
        cookie(response, SESSION_COOKIE, secret, SESSION_HOURS * 3600)
        response.delete_cookie(LOGIN_COOKIE, path=path, secure=True, httponly=True, samesite="strict")
        return response

    async def logout(request: Request) -> Response:
        session = await session_of(request)
        form = await request.form()
        sent = form.get("csrf")
        if (session is None or not same_origin(request, web.base_url) or not isinstance(sent, str)
                or not hmac.compare_digest(sent, session.csrf)):
            return RedirectResponse(f"{web.prefix}/staff/login", status_code=303, headers=NO_STORE)
        await run_in_threadpool(store.drop_staff_session, secret_hash(request.cookies[SESSION_COOKIE]))
        response = RedirectResponse(f"{web.prefix}/staff/login", status_code=303, headers=NO_STORE)
        response.delete_cookie(SESSION_COOKIE, path=path, secure=True, httponly=True, samesite="strict")
        return response

    async def board_page(request: Request) -> Response:
        session = await session_of(request)
        if session is None:
            return RedirectResponse(f"{web.prefix}/staff/login", status_code=303, headers=NO_STORE)
        lang = pick_language(request.query_params.get("lang"))
        sort = request.query_params.get("sort") or "deadline"
        if sort not in SORTS:
            sort = "deadline"
        rows = await run_in_threadpool(staff_board, web.app, sort)
        response = web.render("staff.html", lang, rows=rows, regions=REGIONS, sort=sort, sorts=SORTS,
                              session=session, csrf=session.csrf, logout=f"{web.prefix}/staff/logout",
                              base=f"{web.prefix}/staff")
        response.headers.update(NO_STORE)
        return response

    return [Route("/staff", board_page), Route("/staff/login", login, methods=["GET", "POST"]),
            Route("/staff/logout", logout, methods=["POST"])]
