"""Hostile or unlucky requests never get an unauthenticated 500; every response carries the security
headers, 500s included; an unsubscribe link never mints a fresh long-lived preferences link."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from starlette.testclient import TestClient

from calltracker.bootstrap import App
from calltracker.config import load_settings
from calltracker.domain import Deadline, Status
from calltracker.storage import Store
from calltracker.tokens import read_token
from calltracker.web import create_app
from calltracker.web.routes.members import PREFS_MAX_AGE_DAYS
from tests.test_web import ATOM, BRUSSELS, NOW, Clock, Site, call, seed
from tests.test_web import site as site  # noqa: F401  (the fixture)

HEADERS = ("x-content-type-options", "referrer-policy", "x-frame-options", "content-security-policy")


def has_security_headers(response: object) -> bool:
    return all(h in response.headers for h in HEADERS)  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/u/é.é", "/p/é.é", "/u/%C3%A9abc.%E2%82%AC", "/p/x.%F0%9F%98%80"])
def test_a_non_ascii_token_is_a_400_not_a_500(site: Site, path: str) -> None:
    response = site.client.get(path)
    assert response.status_code == 400
    assert has_security_headers(response)


def test_a_non_ascii_csrf_value_is_refused_with_403(site: Site) -> None:
    path = site.link("prefs", "alice@lac.example")
    response = site.client.post(path, data={"csrf": "é€.ü", "language": "it", "min_fit": "0",
                                            "frequency": "weekly"})
    assert response.status_code == 403


@pytest.mark.parametrize("call_id", ["99999999999999999999", str(2**63), "9223372036854775807"])
def test_a_huge_call_id_is_a_404(site: Site, call_id: str) -> None:
    response = site.client.get(f"/calls/{call_id}")
    assert response.status_code == 404
    assert has_security_headers(response)


@pytest.mark.parametrize("query", ["q=%00", "q=a%00b", "q=%1b%5b31m", "q=%ef%bf%bf"])
def test_control_characters_in_a_search_are_dropped_on_both_engines(site: Site, query: str) -> None:
    for path in ("/calls", "/calls.atom", "/calls.ics"):
        response = site.client.get(f"{path}?{query}")
        assert response.status_code == 200, (path, response.text[:300])


def test_a_server_error_is_a_plain_500_with_the_security_headers(store: Store, config_file: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(config_file)
    seed(store)
    app = App(settings=settings, store=store, clock=Clock(NOW))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire: postgresql://calltracker:hunter2@db/calltracker")

    monkeypatch.setattr(app.store, "find_calls", broken)
    with TestClient(create_app(app), raise_server_exceptions=False) as client:
        response = client.get("/calls")
    assert response.status_code == 500
    assert has_security_headers(response)
    assert "hunter2" not in response.text and "Traceback" not in response.text


def test_an_unsubscribe_page_offers_a_preferences_link_no_younger_than_its_own_link(site: Site) -> None:
    issued = NOW - timedelta(days=100)
    path = site.link("unsubscribe", "alice@lac.example", at=issued)
    page = site.client.get(path)
    assert page.status_code == 200
    (prefs,) = set(re.findall(r'href="/p/([^"]+)"', page.text))
    claims = read_token(site.key, "prefs", prefs, NOW)
    assert claims.issued_at == int(issued.timestamp())

    # Once the link is older than a preferences link may be, the page offers none.
    old = site.link("unsubscribe", "alice@lac.example", at=NOW - timedelta(days=PREFS_MAX_AGE_DAYS + 1))
    page = site.client.get(old)
    assert page.status_code == 200
    assert "/p/" not in page.text



def test_control_characters_and_unsafe_links_from_a_scraped_call_never_reach_any_output(site: Site) -> None:
    hostile = call("eu_ft", "EVIL", "Bando\x08 spazio\x1b[0m \ufffe finale",
                   (Deadline(datetime(2027, 1, 15, 17, 0, tzinfo=BRUSSELS)),), status=Status.OPEN,
                   summary="Riassunto\x0b con\x1f controlli")
    hostile = replace(hostile, url="javascript:alert(document.cookie)")
    other = replace(call("eu_ft", "DATA", "Bando con link data", (Deadline(datetime(2027, 1, 16, 17, 0,
                                                                                   tzinfo=BRUSSELS)),),
                         status=Status.OPEN), url="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==")
    site.store.save_calls("eu_ft", [hostile, other], run_id=None, now=NOW - timedelta(days=1))

    atom = site.client.get("/calls.atom?status=all")
    assert atom.status_code == 200
    feed = ET.fromstring(atom.content)  # well-formed XML
    titles = [e.text for e in feed.iter(f"{ATOM}title")]
    assert "Bando spazio[0m finale" in titles
    hrefs = [e.get("href", "") for e in feed.iter(f"{ATOM}link")]
    assert not [h for h in hrefs if h.startswith(("javascript:", "data:"))]
    assert "javascript:" not in atom.text and "data:text" not in atom.text

    ics = site.client.get("/calls.ics?status=all")
    assert ics.status_code == 200
    assert "javascript:" not in ics.text and "data:text" not in ics.text
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", ics.text)
    Calendar.from_ical(ics.content)

    ids = {v.external_id: v.id for v in site.store.find_calls()}
    for ext in ("EVIL", "DATA"):
        page = site.client.get(f"/calls/{ids[ext]}")
        assert page.status_code == 200
        assert "javascript:" not in page.text and "data:text" not in page.text
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", page.text)
    listing = site.client.get("/calls?status=all")
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", listing.text)
