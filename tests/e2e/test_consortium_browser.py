"""End-to-end in headless Chromium: members say "Mi interessa" from their digest links, staff sign in and read
the board. Uses the server and browser fixtures of test_browser.py (the real `calltracker serve`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from calltracker.introductions import INTRO_KIND
from calltracker.staff_auth import hash_password
from calltracker.tokens import make_token
from tests.e2e.test_browser import Server, browser, server, shot  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e


def interest_link(at: Server, email: str, call_ref: str) -> str:
    m = at.store.member(email)
    call = at.store.get_call(call_ref)
    token = make_token(at.key, "interest", m.id, m.token_version, datetime.now(UTC), subject=call.id)
    return f"{at.base_url}/i/{token}"


def test_members_declare_interest_and_staff_read_the_board(browser: object, server: Server,  # noqa: F811
                                                            request: pytest.FixtureRequest) -> None:
    server.store.save_staff_account("staff@lac.example", hash_password("a long staff password"), datetime.now(UTC))
    joint = server.store.get_call("eu_ft:GREEN-1")
    context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(interest_link(server, "alice@lac.example", "eu_ft:GREEN-1"))
    assert page.get_by_role("heading", level=1).inner_text() == "Ti interessa questo bando?"
    shot(page, request, "interest-ask")
    assert server.store.interests() == []  # opening the link changed nothing
    page.get_by_role("button", name="Mi interessa").click()
    page.wait_for_url(re.compile(r"done=added"))
    assert page.get_by_role("status").inner_text() == "Abbiamo registrato il tuo interesse."
    shot(page, request, "interest-recorded")

    page.goto(interest_link(server, "bob@dap.example", "eu_ft:GREEN-1"))
    page.get_by_role("button", name="I'm interested").click()
    page.wait_for_url(re.compile(r"done=added"))
    assert page.get_by_role("status").inner_text() == "Your interest is recorded."
    assert sorted(i.member.email for i in server.store.interests(joint.id)) == ["alice@lac.example",
                                                                                 "bob@dap.example"]
    assert sorted(d.email for d in server.store.deliveries(INTRO_KIND)) == ["alice@lac.example", "bob@dap.example"]
    page.get_by_role("button", name="I'm no longer interested").click()
    page.wait_for_url(re.compile(r"done=withdrawn"))
    assert [i.member.email for i in server.store.interests(joint.id)] == ["alice@lac.example"]
    page.goto(interest_link(server, "bob@dap.example", "eu_ft:GREEN-1"))
    page.get_by_role("button", name="I'm interested").click()
    page.wait_for_url(re.compile(r"done=added"))
    assert len(server.store.deliveries(INTRO_KIND)) == 2  # introduced once, not again

    page.goto(f"{server.base_url}/calls/{joint.id}")
    counts = page.locator("#interest-counts")
    assert counts.locator('[data-region="lombardia"]').inner_text() == "1"
    assert counts.locator('[data-region="piemonte"]').inner_text() == "1"
    context.close()

    staff = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    board = staff.new_page()
    board.goto(f"{server.base_url}/staff")
    assert board.url.endswith("/staff/login")  # anonymous: sent to sign in, no board
    assert board.locator("#board").count() == 0
    board.get_by_label("Email").fill("staff@lac.example")
    board.get_by_label("Password").fill("a long staff password")
    board.get_by_role("button", name="Accedi").click()
    board.wait_for_url(re.compile(r"/staff$"))
    row = board.locator(f'#board tr[data-call="{joint.id}"]')
    assert row.locator('[data-region="lombardia"]').inner_text() == "1"
    assert row.locator('[data-region="liguria"]').inner_text() == "0"
    cookie = next(c for c in staff.cookies() if c["name"] == "ct_staff")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    shot(board, request, "staff-board")
    board.get_by_role("button", name="Esci").click()
    board.wait_for_url(re.compile(r"/staff/login$"))
    board.goto(f"{server.base_url}/staff")
    assert board.url.endswith("/staff/login")
    staff.close()
