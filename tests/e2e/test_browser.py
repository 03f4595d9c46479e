"""End-to-end: the real `calltracker serve` in a subprocess, driven by headless Chromium (Playwright).

A member opens the links a digest carries (built with tokens.make_token exactly as the digest does),
unsubscribes, comes back, changes preferences, and browses the calls. Screenshots go to
tests/artifacts/ for a person to look at. Without /usr/bin/chromium these tests skip, except in CI.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from calltracker.bootstrap import signing_key
from calltracker.config import load_settings
from calltracker.domain import Deadline, Scope, ScrapedCall, Status
from calltracker.storage import MemberInput, Store
from calltracker.tokens import make_token
from tests.process_support import serving

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOW = datetime.now(UTC)
ROME = ZoneInfo("Europe/Rome")


def _need_chromium() -> None:
    problem = None
    if not os.path.exists(CHROMIUM):
        problem = f"{CHROMIUM} is missing (apt-get install -y chromium; scripts/test installs it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed (pip install playwright; never `playwright install`)"
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run: {problem}")
    pytest.skip(f"browser tests skipped: {problem}")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(store: Store) -> None:
    store.import_members("LAC", [MemberInput("alice@lac.example", "Alice", "Aero Srl", "lombardia", "it", ())], NOW)
    store.import_members("DAP", [MemberInput("bob@dap.example", "Bob", "Space SpA", "piemonte", "en",
                                             ("space_economy",))], NOW)
    specs = [
        ("eu_ft", "GREEN-1", "Hydrogen propulsion for regional aircraft", 20, "green_aviation", 3,
         Scope.EU, "Europe/Brussels"),
        ("lombardia", "CYB", "Voucher cybersicurezza per le PMI lombarde", 60, "cybersecurity", 1,
         Scope.REGIONAL, "Europe/Rome"),
        ("esa", "SPACE-7", "Downstream space applications for Earth observation", 6, "space_economy", 2,
         Scope.OTHER, "UTC"),
        ("piemonte", "AI-2", "Intelligenza artificiale per la manifattura aerospaziale", 35,
         "artificial_intelligence", 2, Scope.REGIONAL, "Europe/Rome"),
    ]
    for source, ext, title, days, theme, fit, scope, zone in specs:
        at = (NOW + timedelta(days=days)).astimezone(ZoneInfo(zone)).replace(hour=17, minute=0, second=0,
                                                                             microsecond=0)
        call = ScrapedCall(source=source, external_id=ext, title=title, url=f"https://example.org/{ext}",
                           identifier=f"{source.upper()}-{ext}", scope=scope, status=Status.OPEN,
                           deadlines=(Deadline(at),), summary=f"{title}: summary of the call.")
        store.save_calls(source, [call], run_id=None, now=NOW - timedelta(days=3))
        moved = ScrapedCall(**{**{f: getattr(call, f) for f in call.__dataclass_fields__},
                               "deadlines": (Deadline(at + timedelta(days=2)),)})
        store.save_calls(source, [moved], run_id=None, now=NOW - timedelta(days=1))
        call_id = store.get_call(f"{source}:{ext}").id
        store.save_classification(
            call_id, rules_version="e2e", themes={theme: 0.8}, scope=scope.value, consortium="required",
            eligible={"lombardia": True, "piemonte": fit >= 2, "liguria": fit == 3}, tri_regional_fit=fit == 3,
            fit_score=fit, fit_reason=f"Fit {fit}: open to partners from the regions ticked below.",
            fit_reason_it=f"Adeguatezza {fit}: aperto ai partner delle regioni indicate sotto.",
            evidence={theme: [title.split()[0].lower()]}, now=NOW)


@dataclass
class Server:
    base_url: str
    store: Store
    key: str

    def link(self, purpose: str, email: str) -> str:
        m = self.store.member(email)
        token = make_token(self.key, purpose, m.id, m.token_version, datetime.now(UTC))
        return f"{self.base_url}/{'u' if purpose == 'unsubscribe' else 'p'}/{token}"


@pytest.fixture
def server(store: Store, config_file: Path, tmp_path: Path) -> Iterator[Server]:
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    config = tmp_path / "web.toml"
    config.write_text(config_file.read_text(encoding="utf-8") + f'[web]\nbase_url = "{base_url}"\n', "utf-8")
    key = signing_key(load_settings(config))  # made before the server starts, so both read the same file
    seed(store)
    with serving(config, tmp_path / "serve.log", "--port", str(port)):
        yield Server(base_url=base_url, store=store, key=key)


def shot(page: object, request: pytest.FixtureRequest, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    engine = re.sub(r"\W+", "", request.node.callspec.id) if hasattr(request.node, "callspec") else "x"
    page.screenshot(path=str(ARTIFACTS / f"{name}-{engine}.png"), full_page=True)  # type: ignore[attr-defined]


def test_a_member_unsubscribes_and_comes_back(browser: object, server: Server,
                                              request: pytest.FixtureRequest) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server.link("unsubscribe", "alice@lac.example"))
    assert page.get_by_role("heading", level=1).inner_text() == "Annulla l'iscrizione"
    shot(page, request, "unsubscribe-confirm")
    assert server.store.member("alice@lac.example").receives_mail  # opening the link changed nothing
    with page.expect_navigation():
        page.get_by_role("button", name="Annulla l'iscrizione").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Iscrizione annullata"
    shot(page, request, "unsubscribe-done")
    assert server.store.member("alice@lac.example").unsubscribed_at is not None
    assert server.store.member("bob@dap.example").receives_mail

    page.get_by_role("link", name="Gestisci le preferenze").click()
    assert "Sei disiscritto" in page.locator("#state").inner_text()
    page.get_by_role("button", name="Iscriviti di nuovo").click()
    page.wait_for_url(re.compile(r"done=resubscribed"))
    assert page.get_by_role("status").inner_text() == "Sei di nuovo iscritto."
    assert server.store.member("alice@lac.example").receives_mail
    context.close()


def test_a_member_changes_preferences(browser: object, server: Server, request: pytest.FixtureRequest) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server.link("prefs", "alice@lac.example"))
    shot(page, request, "prefs-before")
    page.get_by_label("Aviazione sostenibile").check()
    page.get_by_label("Cybersicurezza").check()
    page.get_by_label("Lingua delle email e delle pagine").select_option("en")
    page.get_by_label("Adeguatezza minima dei bandi (0-3)").select_option("2")
    page.get_by_label("Frequenza del riepilogo").select_option("fortnightly")
    page.get_by_label("Sospendi gli invii per ora").check()
    page.get_by_role("button", name="Salva le preferenze").click()
    page.wait_for_url(re.compile(r"done=saved"))
    assert page.get_by_role("status").inner_text() == "Preferences saved."  # now in English
    assert page.locator("html").get_attribute("lang") == "en"
    shot(page, request, "prefs-saved")
    alice = server.store.member("alice@lac.example")
    assert (alice.themes, alice.language, alice.min_fit, alice.frequency, alice.paused) == (
        ("green_aviation", "cybersecurity"), "en", 2, "fortnightly", True)
    bob = server.store.member("bob@dap.example")
    assert (bob.themes, bob.min_fit, bob.paused) == (("space_economy",), 0, False)

    old_feed = alice.feed_token
    page.get_by_role("button", name=re.compile("Make new addresses")).click()
    page.wait_for_url(re.compile(r"done=revoked"))
    new_feed = server.store.member("alice@lac.example").feed_token
    assert new_feed != old_feed and new_feed in page.locator("#atom-url").inner_text()
    assert httpx.get(f"{server.base_url}/f/{old_feed}/calls.atom").status_code == 404
    feed = httpx.get(f"{server.base_url}/f/{new_feed}/calls.atom").text
    assert "Hydrogen propulsion" in feed and "Voucher" not in feed  # green or cyber, fit >= 2
    context.close()


def test_browsing_and_filtering_the_calls(browser: object, server: Server, request: pytest.FixtureRequest) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{server.base_url}/calls")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Vai al contenuto"
    cards = page.locator("li.card h2")
    assert cards.count() == 4
    assert cards.first.inner_text() == "Downstream space applications for Earth observation"
    shot(page, request, "calls-all")

    page.get_by_label("Tema").select_option("artificial_intelligence")
    page.get_by_label("Scadenza entro (giorni)").fill("60")
    page.get_by_role("button", name="Applica i filtri").click()
    page.wait_for_url(re.compile(r"theme=artificial_intelligence"))
    assert cards.all_inner_texts() == ["Intelligenza artificiale per la manifattura aerospaziale"]
    atom = page.get_by_role("link", name="Feed Atom dei bandi").get_attribute("href") or ""
    assert "theme=artificial_intelligence" in atom and "closing=60" in atom

    page.get_by_label("Tema").select_option("")
    page.get_by_label("Cerca nel testo").fill("space")
    page.get_by_label("Adeguatezza minima").select_option("2")
    page.get_by_role("button", name="Applica i filtri").click()
    page.wait_for_url(re.compile(r"q=space"))
    assert cards.all_inner_texts() == ["Downstream space applications for Earth observation"]
    shot(page, request, "calls-filtered")

    page.get_by_role("link", name="Downstream space applications for Earth observation").click()
    assert "Roma" in page.locator("#deadlines").inner_text() and "UTC" in page.locator("#deadlines").inner_text()
    assert page.locator("#history tbody tr").count() >= 1
    assert "Adeguatezza 2" in page.locator("#fit-reason").inner_text()
    shot(page, request, "call-page")
    page.get_by_role("link", name="English").click()
    assert page.locator("#deadlines").inner_text().find("Rome time") >= 0
    context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    mobile = phone.new_page()
    mobile.goto(f"{server.base_url}/calls?lang=en")
    width = mobile.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    shot(mobile, request, "calls-phone")
    phone.close()
