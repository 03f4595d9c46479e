"""Liguria / FILSE, tested on SYNTHESISED payloads built from SOURCES.md §4 (no recording exists)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from calltracker.domain import Region, Scope, ScrapedCall, Status
from calltracker.errors import ParseError
from calltracker.normalize import ROME
from calltracker.scraping import Page, Request
from scrapers.liguria import LiguriaScraper

CONFIG = {"enabled": True, "base_url": "https://www.filse.it"}
FETCHED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def filse_page(fixtures: Path, request: Request | None = None, fetched_at: datetime | None = FETCHED) -> Page:
    body = (fixtures / "liguria" / "filse_ajaxLoadBandi_SYNTHESISED.json").read_bytes()
    request = request or LiguriaScraper(CONFIG).filse_request(0)
    recorded = Page.recorded(body, url=request.url, request=request)
    return Page(request=request, url=request.url, status=200, body=recorded.body, text=recorded.text,
                fetched_at=fetched_at)


def filse_calls(fixtures: Path) -> dict[str, ScrapedCall]:
    out = list(LiguriaScraper(CONFIG).parse(filse_page(fixtures)))
    return {c.external_id: c for c in out if isinstance(c, ScrapedCall)}


def test_the_filse_request_is_the_documented_multipart_xhr_post() -> None:
    requests = list(LiguriaScraper(CONFIG).start_requests())
    filse, regione = requests
    assert filse.method == "POST" and filse.url == "https://www.filse.it/index.php"
    assert filse.headers == {"X-Requested-With": "XMLHttpRequest"}
    parts = {p.name: p.content.decode() for p in filse.parts}
    assert parts["option"] == "com_publiccompetitions" and parts["task"] == "display.ajaxLoadBandi"
    assert parts["format"] == "json" and parts["limitstart"] == "0" and parts["limit"] == "50"
    assert all(p.filename is None for p in filse.parts)  # plain form fields, not file parts
    assert regione.method == "POST" and regione.callback == "parse_regione"
    assert regione.url == "https://www.regione.liguria.it/homepage-bandi-e-avvisi/publiccompetitions.html"
    assert regione.form == {"quicksearch_beneficiari_list": "2", "quicksearch_stato": "1",
                            "quicksearch_OrderField[]": "2", "quicksearch_OrderDir[]": "1"}


def test_the_regione_list_can_be_switched_off() -> None:
    assert len(list(LiguriaScraper({**CONFIG, "regione_list": False}).start_requests())) == 1


def test_every_filse_item_becomes_a_liguria_call(fixtures: Path) -> None:
    calls = filse_calls(fixtures)
    assert sorted(calls) == ["filse-447", "filse-812", "filse-905"]
    assert all(c.regions == (Region.LIGURIA,) and c.scope is Scope.REGIONAL for c in calls.values())


def test_a_full_filse_record(fixtures: Path) -> None:
    call = filse_calls(fixtures)["filse-812"]
    assert call.title == "Bando Innovazione PMI liguri - Aerospazio e mobilità aerea"
    assert call.url == ("https://www.filse.it/it/bandi-avvisi-gare/bandi-attivi/publiccompetition/"
                        "812:bando-innovazione-pmi-liguri-aerospazio.html")
    assert call.opening_date == datetime(2026, 10, 1, 9, 0, tzinfo=ROME)
    assert [d.at for d in call.deadlines] == [datetime(2027, 1, 29, 12, 0, tzinfo=ROME)]
    assert call.status is Status.OPEN
    assert call.programme == "PR FESR 2021-2027"
    assert call.description == "Contributi a fondo perduto per progetti di innovazione delle PMI liguri.\n" \
                               "Dotazione: € 5.000.000"
    assert call.raw["Beneficiari"] == "Imprese"


def test_day_first_dates_lists_and_a_missing_url(fixtures: Path) -> None:
    call = filse_calls(fixtures)["filse-447"]
    assert call.deadlines[0].date_only and call.deadlines[0].day.isoformat() == "2026-12-14"
    assert call.deadline_text == "proroghe: Termine prorogato al 14/12/2026"
    assert call.programme == "PR FESR 2021-2027"
    assert call.url.startswith("https://www.filse.it/it/bandi-avvisi-gare/bandi-attivi/publiccompetition/447:")


def test_an_unreadable_deadline_is_kept_as_text(fixtures: Path) -> None:
    call = filse_calls(fixtures)["filse-905"]
    assert call.deadlines == ()
    assert call.deadline_text == "publish_down: fino ad esaurimento risorse"
    assert call.status is Status.OPEN


def test_filse_pages_on_while_count_says_so(fixtures: Path) -> None:
    scraper = LiguriaScraper({**CONFIG, "page_size": 3})
    page = filse_page(fixtures, scraper.filse_request(0))
    assert not any(isinstance(r, Request) for r in scraper.parse(page))  # 3 items, count 3: done
    body = page.text.replace('"count": 3', '"count": 7')
    more = Page(request=page.request, url=page.url, status=200, body=body.encode(), text=body)
    (nxt,) = [r for r in scraper.parse(more) if isinstance(r, Request)]
    assert {p.name: p.content for p in nxt.parts}["limitstart"] == b"3"


@pytest.mark.parametrize("body", ['{"html": "<p>Errore</p>"}', '{"items": [], "count": 259}', "<html></html>",
                                  '{"items": [{"title": "no id"}], "count": 1}'])
def test_a_changed_filse_answer_raises(body: str) -> None:
    with pytest.raises(ParseError):
        list(LiguriaScraper(CONFIG).parse(Page.recorded(body)))


def test_the_regione_list_yields_one_open_call_per_detail_link(fixtures: Path) -> None:
    html = (fixtures / "liguria" / "regione_publiccompetitions_SYNTHESISED.html").read_text(encoding="utf-8")
    scraper = LiguriaScraper(CONFIG)
    page = Page.recorded(html, url=scraper.regione_request().url, request=scraper.regione_request())
    calls = list(scraper.parse_regione(page))
    assert [c.external_id for c in calls if isinstance(c, ScrapedCall)] == ["regione-3836", "regione-3901"]
    first = calls[0]
    assert isinstance(first, ScrapedCall)
    assert first.url == ("https://www.regione.liguria.it/homepage-bandi-e-avvisi/publiccompetition/"
                         "3836:os-1-3-e-os-2-1-sostegno-all-accesso-al-credito.html")
    assert first.status is Status.OPEN and first.regions == (Region.LIGURIA,)


def test_a_regione_list_without_call_links_raises() -> None:
    with pytest.raises(ParseError, match="no links"):
        list(LiguriaScraper(CONFIG).parse_regione(Page.recorded("<html><body><p>Nessun risultato</p></body></html>")))
