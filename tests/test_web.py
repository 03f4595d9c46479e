"""HTTP tests of every web route, on SQLite and PostgreSQL, through Starlette's test client."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from starlette.testclient import TestClient

from calltracker.bootstrap import App, signing_key
from calltracker.config import load_settings
from calltracker.domain import Deadline, Region, Scope, ScrapedCall, Status
from calltracker.storage import MemberInput, MemberView, Store
from calltracker.tokens import make_token
from calltracker.web import create_app

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
BRUSSELS = ZoneInfo("Europe/Brussels")
ROME = ZoneInfo("Europe/Rome")
ATOM = "{http://www.w3.org/2005/Atom}"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Site:
    client: TestClient
    store: Store
    key: str
    clock: Clock
    calls: dict[str, int]

    def member(self, email: str) -> MemberView:
        return self.store.member(email)

    def link(self, purpose: str, email: str, *, at: datetime | None = None) -> str:
        m = self.member(email)
        token = make_token(self.key, purpose, m.id, m.token_version, at or self.clock())
        return f"/{'u' if purpose == 'unsubscribe' else 'p'}/{token}"

    def csrf(self, prefs_path: str) -> str:
        page = self.client.get(prefs_path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)


def call(source: str, ext: str, title: str, deadlines: tuple[Deadline, ...], **kw: object) -> ScrapedCall:
    return ScrapedCall(source=source, external_id=ext, title=title, url=f"https://example.org/{source}/{ext}",
                       deadlines=deadlines, **kw)  # type: ignore[arg-type]


def seed(store: Store) -> dict[str, int]:
    store.import_members("LAC", [MemberInput("alice@lac.example", "Alice", "Aero Srl", "lombardia", "it", ())], NOW)
    store.import_members("DAP", [MemberInput("bob@dap.example", "Bob", "Space SpA", "piemonte", "en",
                                             ("space_economy",))], NOW)
    earlier = NOW - timedelta(days=20)
    green = call("eu_ft", "GREEN-1", "Hydrogen propulsion for regional aircraft",
                 (Deadline(datetime(2026, 12, 10, 17, 0, tzinfo=BRUSSELS)),), identifier="HORIZON-CL5-GREEN-1",
                 scope=Scope.EU, status=Status.OPEN, summary="Zero-emission propulsion demonstrators.")
    store.save_calls("eu_ft", [green], run_id=None, now=earlier)
    moved = call("eu_ft", "GREEN-1", "Hydrogen propulsion for regional aircraft",
                 (Deadline(datetime(2026, 12, 15, 17, 0, tzinfo=BRUSSELS)),), identifier="HORIZON-CL5-GREEN-1",
                 scope=Scope.EU, status=Status.OPEN, summary="Zero-emission propulsion demonstrators.")
    store.save_calls("eu_ft", [moved], run_id=None, now=NOW - timedelta(days=2))
    cyber = call("lombardia", "CYB", "Voucher cybersicurezza PMI",
                 (Deadline(datetime(2027, 3, 1, tzinfo=ROME), date_only=True),), scope=Scope.REGIONAL,
                 status=Status.OPEN, regions=(Region.LOMBARDIA,))
    space = call("esa", "SPACE-7", "Downstream space applications",
                 (Deadline(datetime(2026, 12, 1, 12, 0, tzinfo=ZoneInfo("UTC"))),), status=Status.OPEN)
    old = call("piemonte", "OLD", "Industria 5.0 manifattura avanzata",
               (Deadline(datetime(2026, 10, 1, 12, 0, tzinfo=ROME)),), status=Status.CLOSED)
    for c in (cyber, space, old):
        store.save_calls(c.source, [c], run_id=None, now=earlier)
    ids = {v.external_id: v.id for v in store.find_calls()}
    classes = {
        "GREEN-1": ({"green_aviation": 0.9}, dict.fromkeys(("lombardia", "piemonte", "liguria"), True), 3,
                    {"themes": {"green_aviation": [
                        {"kind": "keyword", "rule": "hydrogen", "field": "title", "start": 0, "end": 8,
                         "matched": "Hydrogen", "weight": 2.0},
                        {"kind": "keyword", "rule": "propulsion", "field": "title", "weight": 1.5}]},
                     "consortium": [{"kind": "cue", "rule": r"\bdemonstrat\w*", "field": "text", "start": 25,
                                     "end": 38, "matched": "demonstrators"}]}),
        "CYB": ({"cybersecurity": 0.8}, {"lombardia": True, "piemonte": False, "liguria": False}, 1, {}),
        "SPACE-7": ({"space_economy": 0.7}, dict.fromkeys(("lombardia", "piemonte", "liguria"), True), 2, {}),
        "OLD": ({"industry_5_0": 0.6}, {"lombardia": False, "piemonte": True, "liguria": False}, 1, {}),
    }
    for ext, (themes, eligible, fit, evidence) in classes.items():
        store.save_classification(
            ids[ext], rules_version="t1", themes=themes, eligible=eligible, scope="eu", consortium="required",
            tri_regional_fit=fit == 3, fit_score=fit, fit_reason=f"fit {fit}: reason in English",
            fit_reason_it=f"adeguatezza {fit}: motivo in italiano", evidence=evidence, now=NOW)
    return ids


@pytest.fixture
def site(store: Store, config_file: Path) -> Iterator[Site]:
    settings = load_settings(config_file)
    clock = Clock(NOW)
    ids = seed(store)
    app = App(settings=settings, store=store, clock=clock)
    with TestClient(create_app(app), follow_redirects=False) as client:
        yield Site(client=client, store=store, key=signing_key(settings), clock=clock, calls=ids)


ONE_CLICK = {"List-Unsubscribe": "One-Click"}

# -- one-click unsubscribe ---------------------------------------------------------------------------------


def test_get_of_an_unsubscribe_link_only_asks(site: Site) -> None:
    path = site.link("unsubscribe", "alice@lac.example")
    for _ in range(3):
        page = site.client.get(path)
        assert page.status_code == 200
        assert 'name="List-Unsubscribe" value="One-Click"' in page.text and "alice@lac.example" in page.text
    assert site.client.head(path).status_code == 200
    assert site.member("alice@lac.example").receives_mail


def test_one_click_post_unsubscribes_at_once_without_redirect_or_cookie(site: Site) -> None:
    path = site.link("unsubscribe", "alice@lac.example")
    response = site.client.post(path, data=ONE_CLICK)
    assert response.status_code == 200
    assert "set-cookie" not in response.headers and "location" not in response.headers
    alice = site.member("alice@lac.example")
    assert alice.unsubscribed_at == NOW and not alice.receives_mail
    assert [m.email for m in site.store.members(receiving_only=True)] == ["bob@dap.example"]
    assert site.member("bob@dap.example").unsubscribed_at is None
    assert "/p/" in response.text  # a way back: the preferences page


def test_one_click_also_accepts_multipart_and_keeps_the_first_time(site: Site) -> None:
    path = site.link("unsubscribe", "alice@lac.example")
    assert site.client.post(path, files={"List-Unsubscribe": (None, "One-Click")}).status_code == 200
    site.clock.now = NOW + timedelta(hours=1)
    assert site.client.post(path, data=ONE_CLICK).status_code == 200
    assert site.member("alice@lac.example").unsubscribed_at == NOW


def test_a_post_without_the_one_click_body_changes_nothing(site: Site) -> None:
    path = site.link("unsubscribe", "alice@lac.example")
    assert site.client.post(path).status_code == 400
    assert site.client.post(path, data={"List-Unsubscribe": "yes"}).status_code == 400
    assert site.member("alice@lac.example").receives_mail


def _tamper(token_path: str) -> str:
    last = token_path[-1]
    return token_path[:-1] + ("A" if last != "A" else "B")


def test_forged_foreign_expired_and_revoked_unsubscribe_links_change_nothing(site: Site) -> None:
    alice = site.member("alice@lac.example")
    good = site.link("unsubscribe", "alice@lac.example")
    prefs_token = site.link("prefs", "alice@lac.example").split("/")[-1]
    foreign = make_token("another-key", "unsubscribe", alice.id, alice.token_version, NOW)
    expired = site.link("unsubscribe", "alice@lac.example", at=NOW - timedelta(days=401))
    cases = {
        _tamper(good): 400,
        "/u/not-a-token": 400,
        f"/u/{prefs_token}": 400,  # right member, wrong purpose
        f"/u/{foreign}": 400,
        expired: 400,
        f"/u/{make_token(site.key, 'unsubscribe', 999_999, 1, NOW)}": 404,
        f"/u/{make_token(site.key, 'unsubscribe', alice.id, alice.token_version + 1, NOW)}": 404,
    }
    for path, status in cases.items():
        assert site.client.get(path).status_code == status, path
        assert site.client.post(path, data=ONE_CLICK).status_code == status, path
    assert site.member("alice@lac.example").receives_mail
    site.store.update_member(alice.id, NOW, token_version=alice.token_version + 1)
    assert site.client.post(good, data=ONE_CLICK).status_code == 404  # revoked by bumping the version
    assert site.member("alice@lac.example").unsubscribed_at is None


def test_unsubscribe_pages_follow_the_member_language_unless_asked(site: Site) -> None:
    italian = site.client.get(site.link("unsubscribe", "alice@lac.example")).text
    assert "Vuoi smettere di ricevere" in italian and '<meta name="robots" content="noindex, nofollow">' in italian
    bob = site.link("unsubscribe", "bob@dap.example")
    assert "Stop receiving" in site.client.get(bob).text
    assert '<html lang="it">' in site.client.get(bob + "?lang=it").text
    alice = site.link("unsubscribe", "alice@lac.example")
    assert f'href="{alice}?lang=en"' in site.client.get(alice).text
    done = site.client.post(alice + "?lang=en", data=ONE_CLICK)
    assert done.status_code == 200 and "You are unsubscribed" in done.text


def test_oversized_posts_are_refused(site: Site) -> None:
    path = site.link("unsubscribe", "alice@lac.example")
    response = site.client.post(path, data={**ONE_CLICK, "padding": "x" * 200_000})
    assert response.status_code == 413
    assert site.member("alice@lac.example").receives_mail


# -- preferences ------------------------------------------------------------------------------------------


def prefs_form(csrf: str, **override: object) -> dict[str, object]:
    form: dict[str, object] = {"csrf": csrf, "themes": ["green_aviation", "cybersecurity"], "language": "en",
                               "min_fit": "2", "frequency": "monthly", "paused": "on", "action": "save"}
    form.update(override)
    return {k: v for k, v in form.items() if v is not None}


def test_preferences_page_shows_the_member_choices(site: Site) -> None:
    page = site.client.get(site.link("prefs", "bob@dap.example"))
    assert page.status_code == 200 and '<html lang="en">' in page.text
    assert re.search(r'value="space_economy"[^>]*checked', page.text)
    assert not re.search(r'value="green_aviation"[^>]*checked', page.text)
    assert site.member("bob@dap.example").feed_token in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "same-origin"


def test_saving_preferences_changes_only_the_linked_member(site: Site) -> None:
    path = site.link("prefs", "alice@lac.example")
    bob_before = site.member("bob@dap.example")
    response = site.client.post(path, data=prefs_form(site.csrf(path), member_id=str(bob_before.id),
                                                       email="bob@dap.example"))
    assert response.status_code == 303 and response.headers["location"].endswith(path + "?done=saved")
    alice = site.member("alice@lac.example")
    assert (alice.themes, alice.language, alice.min_fit, alice.frequency, alice.paused) == (
        ("green_aviation", "cybersecurity"), "en", 2, "monthly", True)
    assert not alice.receives_mail
    assert site.member("bob@dap.example") == bob_before
    assert "Preferences saved." in site.client.get(response.headers["location"]).text


def test_preferences_without_a_valid_form_token_change_nothing(site: Site) -> None:
    alice_path = site.link("prefs", "alice@lac.example")
    bob_path = site.link("prefs", "bob@dap.example")
    before = site.member("alice@lac.example")
    old_csrf = site.csrf(alice_path)
    site.clock.now = NOW + timedelta(days=2)
    alice_path = site.link("prefs", "alice@lac.example")
    attempts = [
        prefs_form(None),  # type: ignore[arg-type]
        prefs_form("garbage"),
        prefs_form(site.csrf(bob_path)),  # bob's form token on alice's link
        prefs_form(old_csrf),  # expired
        prefs_form(make_token(site.key, "prefs", before.id, before.token_version, site.clock())),  # wrong purpose
    ]
    for form in attempts:
        response = site.client.post(alice_path, data=form)
        assert response.status_code == 403 and "ricarica la pagina" in response.text
    for origin in ("https://evil.example", "null"):
        cross_site = site.client.post(alice_path, data=prefs_form(site.csrf(alice_path)), headers={"origin": origin})
        assert cross_site.status_code == 403
    assert site.member("alice@lac.example") == before


def test_bobs_link_with_bobs_token_never_touches_alice(site: Site) -> None:
    alice_before = site.member("alice@lac.example")
    bob_path = site.link("prefs", "bob@dap.example")
    assert site.client.post(bob_path, data=prefs_form(site.csrf(bob_path), action="revoke_feeds")).status_code == 303
    assert site.client.post(bob_path, data=prefs_form(site.csrf(bob_path))).status_code == 303
    assert site.member("alice@lac.example") == alice_before
    assert site.member("bob@dap.example").frequency == "monthly"


def test_invalid_preference_values_are_refused(site: Site) -> None:
    path = site.link("prefs", "alice@lac.example")
    before = site.member("alice@lac.example")
    for bad in ({"min_fit": "7"}, {"min_fit": "x"}, {"language": "fr"}, {"frequency": "hourly"},
                {"themes": ["green_aviation", "astrology"]}):
        response = site.client.post(path, data=prefs_form(site.csrf(path), **bad))
        assert response.status_code == 400, bad
    assert site.member("alice@lac.example") == before


def test_resubscribing_from_the_preferences_page(site: Site) -> None:
    site.client.post(site.link("unsubscribe", "alice@lac.example"), data=ONE_CLICK)
    path = site.link("prefs", "alice@lac.example")
    page = site.client.get(path)
    assert 'value="resubscribe"' in page.text
    response = site.client.post(path, data=prefs_form(site.csrf(path), action="resubscribe", paused=None))
    assert response.status_code == 303
    assert site.member("alice@lac.example").receives_mail


def test_forged_expired_or_revoked_preference_links_are_refused(site: Site) -> None:
    alice = site.member("alice@lac.example")
    good = site.link("prefs", "alice@lac.example")
    csrf = site.csrf(good)
    assert site.client.get(_tamper(good)).status_code == 400
    assert site.client.post(_tamper(good), data=prefs_form(csrf)).status_code == 400
    assert site.client.get(site.link("prefs", "alice@lac.example", at=NOW - timedelta(days=181))).status_code == 400
    unsubscribe_token = site.link("unsubscribe", "alice@lac.example").split("/")[-1]
    assert site.client.get(f"/p/{unsubscribe_token}").status_code == 400
    site.store.update_member(alice.id, NOW, token_version=alice.token_version + 1)
    assert site.client.post(good, data=prefs_form(csrf)).status_code == 404
    assert site.member("alice@lac.example").language == "it"


def test_regenerating_the_feed_token_revokes_the_old_feed_urls(site: Site) -> None:
    path = site.link("prefs", "bob@dap.example")
    old = site.member("bob@dap.example").feed_token
    assert site.client.get(f"/f/{old}/calls.atom").status_code == 200
    response = site.client.post(path, data={"csrf": site.csrf(path), "action": "revoke_feeds"})
    assert response.status_code == 303
    new = site.member("bob@dap.example").feed_token
    assert new != old
    assert site.client.get(f"/f/{old}/calls.atom").status_code == 404
    assert site.client.get(f"/f/{old}/deadlines.ics").status_code == 404
    assert site.client.get(f"/f/{new}/deadlines.ics").status_code == 200
    assert new in site.client.get(response.headers["location"]).text


# -- calls browser ----------------------------------------------------------------------------------------


def titles(html: str) -> list[str]:
    return re.findall(r'<h2><a href="/calls/\d+[^"]*">([^<]+)</a></h2>', html)


def test_the_browser_lists_open_calls_soonest_first(site: Site) -> None:
    page = site.client.get("/calls")
    assert page.status_code == 200 and '<html lang="it">' in page.text
    assert titles(page.text) == ["Downstream space applications", "Hydrogen propulsion for regional aircraft",
                                 "Voucher cybersicurezza PMI"]
    assert site.client.get("/").headers["location"] == "/calls"


@pytest.mark.parametrize(("query", "expected"), [
    ("theme=cybersecurity", ["Voucher cybersicurezza PMI"]),
    ("region=piemonte", ["Downstream space applications", "Hydrogen propulsion for regional aircraft"]),
    ("status=closed", ["Industria 5.0 manifattura avanzata"]),
    ("status=all&region=piemonte", ["Downstream space applications", "Hydrogen propulsion for regional aircraft",
                                    "Industria 5.0 manifattura avanzata"]),
    ("fit=2", ["Downstream space applications", "Hydrogen propulsion for regional aircraft"]),
    ("closing=10", ["Downstream space applications"]),
    ("closing=30&fit=3", ["Hydrogen propulsion for regional aircraft"]),
    ("q=HYDROGEN", ["Hydrogen propulsion for regional aircraft"]),
    ("q=horizon-cl5", ["Hydrogen propulsion for regional aircraft"]),
])
def test_browser_filters(site: Site, query: str, expected: list[str]) -> None:
    assert titles(site.client.get(f"/calls?{query}").text) == expected


def test_bad_filters_are_ignored_and_said(site: Site) -> None:
    page = site.client.get("/calls?theme=astrology&fit=9&closing=-3&lang=en")
    assert page.status_code == 200
    assert "Filter ignored: theme=astrology" in page.text and "fit=9" in page.text
    assert len(titles(page.text)) == 3


def test_the_browser_pages_by_twenty(site: Site) -> None:
    many = [call("incentivi", f"N{i:02}", f"Bando numero {i:02}", (Deadline(NOW + timedelta(days=60 + i)),))
            for i in range(25)]
    site.store.save_calls("incentivi", many, run_id=None, now=NOW)
    first = site.client.get("/calls?q=bando+numero")
    assert len(titles(first.text)) == 20 and 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = site.client.get("/calls?q=bando+numero&page=2")
    assert titles(second.text) == [f"Bando numero {i}" for i in range(20, 25)]
    assert 'rel="next"' not in second.text and 'rel="prev"' in second.text


def test_a_call_page_shows_classification_deadlines_and_history(site: Site) -> None:
    page = site.client.get(f"/calls/{site.calls['GREEN-1']}?lang=en")
    assert page.status_code == 200
    text = page.text
    assert "Hydrogen propulsion for regional aircraft" in text and "HORIZON-CL5-GREEN-1" in text
    assert "fit 3: reason in English" in text and "Green aviation" in text
    # evidence: the sentence of the call each decision rests on, never the classifier's rules
    assert "Theme: Green aviation</th><td>Hydrogen propulsion for regional aircraft</td>" in text
    assert "Consortium</th><td>Zero-emission propulsion demonstrators.</td>" in text
    assert "keyword" not in text and "«" not in text and "demonstrat\\w" not in text
    assert "Piedmont: <strong>eligible</strong>" in text
    # Brussels and Rome read the same: the zone is named, no second time is needed.
    assert "15 Dec 2026, 17:00 (Rome time, also in the official zone Europe/Brussels)" in text
    history = text[text.index('id="history"'):]
    assert re.search(r"Deadlines</td><td>10 Dec 2026, 17:00 [^<]*</td><td>15 Dec 2026, 17:00 ", history)
    italian = site.client.get(f"/calls/{site.calls['GREEN-1']}").text
    assert "adeguatezza 3: motivo in italiano" in italian
    assert "15 dic 2026, 17:00 (ora di Roma, anche nel fuso ufficiale Europe/Brussels)" in italian


def test_a_deadline_in_another_zone_shows_rome_time_and_the_official_one(site: Site) -> None:
    text = site.client.get(f"/calls/{site.calls['SPACE-7']}?lang=en").text
    assert "1 Dec 2026, 13:00 (Rome time); official time 1 Dec 2026, 12:00 UTC" in text
    date_only = site.client.get(f"/calls/{site.calls['CYB']}").text
    assert "1 mar 2027<" in date_only


def test_unknown_pages_are_404(site: Site) -> None:
    assert site.client.get("/calls/999999").status_code == 404
    assert site.client.get("/nowhere").status_code == 404
    assert site.client.get("/f/nope/calls.atom").status_code == 404
    assert site.client.post("/calls").status_code == 405


# -- feeds ------------------------------------------------------------------------------------------------


def test_the_atom_feed_follows_the_browser_filters(site: Site) -> None:
    response = site.client.get("/calls.atom?theme=green_aviation&lang=en")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Hydrogen propulsion for regional aircraft"]
    entry = entries[0]
    assert entry.findtext(f"{ATOM}id") == f"http://127.0.0.1:8080/calls/{site.calls['GREEN-1']}"
    assert "fit 3: reason in English" in (entry.findtext(f"{ATOM}summary") or "")
    assert feed.find(f"{ATOM}link[@rel='self']").get("href").endswith("/calls.atom?theme=green_aviation&lang=en")


def test_the_ics_feed_has_one_event_per_deadline_in_its_official_zone(site: Site) -> None:
    response = site.client.get("/calls.ics?status=all")
    assert response.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    events = {str(e["summary"]): e for e in cal.walk("VEVENT")}
    assert len(events) == 4
    green = events["Scadenza: Hydrogen propulsion for regional aircraft"]
    start = green.decoded("dtstart")
    assert start == datetime(2026, 12, 15, 17, 0, tzinfo=BRUSSELS) and str(start.tzinfo) == "Europe/Brussels"
    assert green["uid"] == f"call-{site.calls['GREEN-1']}-deadline-0@127.0.0.1:8080"
    cyber = events["Scadenza: Voucher cybersicurezza PMI"]
    assert cyber.decoded("dtstart") == datetime(2027, 3, 1).date()
    assert {c.get("tzid") for c in cal.walk("VTIMEZONE")} >= {"Europe/Brussels"}


def test_member_feeds_list_the_calls_matching_their_preferences(site: Site) -> None:
    bob = site.member("bob@dap.example")  # space_economy only
    feed = ET.fromstring(site.client.get(f"/f/{bob.feed_token}/calls.atom").content)
    assert [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")] == ["Downstream space applications"]
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    alice = site.member("alice@lac.example")  # every theme, any fit
    cal = Calendar.from_ical(site.client.get(f"/f/{alice.feed_token}/deadlines.ics").content)
    assert len(list(cal.walk("VEVENT"))) == 3
    site.store.update_member(alice.id, NOW, min_fit=3)
    cal = Calendar.from_ical(site.client.get(f"/f/{alice.feed_token}/deadlines.ics").content)
    assert [str(e["summary"]) for e in cal.walk("VEVENT")] == ["Scadenza: Hydrogen propulsion for regional aircraft"]


def test_every_page_carries_the_protective_headers(site: Site) -> None:
    for path in ("/calls", f"/calls/{site.calls['CYB']}", site.link("unsubscribe", "alice@lac.example")):
        response = site.client.get(path)
        assert response.headers["referrer-policy"] == "same-origin"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "cache-control" not in site.client.get("/calls").headers
