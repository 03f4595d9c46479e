"""ESA-STAR, tested on a SYNTHESISED answer built from SOURCES.md §6 (no recording exists)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from calltracker.domain import Region, Scope, ScrapedCall, Status
from calltracker.errors import ParseError
from calltracker.scraping import Page, Request
from scrapers.esa import PARIS, EsaScraper

BASE = "https://esastar-publication-ext.sso.esa.int"
CONFIG = {"enabled": True, "base_url": BASE}
FETCHED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def calls(fixtures: Path, config: dict[str, object] | None = None) -> list[ScrapedCall | Request]:
    scraper = EsaScraper(config or CONFIG)
    request = scraper.request(5, 0)
    body = (fixtures / "esa" / "tenderAction_filter_SYNTHESISED.json").read_bytes()
    recorded = Page.recorded(body, url=request.url, request=request)
    page = Page(request=request, url=request.url, status=200, body=body, text=recorded.text, fetched_at=FETCHED)
    return list(scraper.parse(page))


def test_one_request_per_tender_type() -> None:
    requests = list(EsaScraper(CONFIG).start_requests())
    assert [r.url for r in requests] == [f"{BASE}/api/tenderAction/filter/50/0"] * 2
    assert [r.params["tType"] for r in requests if r.params] == ["5", "7"]


def test_items_become_calls_with_status_dates_and_regions(fixtures: Path) -> None:
    out = calls(fixtures)
    assert len(out) == 3 and all(isinstance(c, ScrapedCall) for c in out)
    by_id = {c.external_id: c for c in out if isinstance(c, ScrapedCall)}
    open_call = by_id["5012"]
    assert open_call.identifier == "1-12345"
    assert open_call.url == f"{BASE}/ESATenderActions/details/5012"
    assert open_call.status is Status.OPEN
    assert open_call.deadlines[0].at == datetime(2027, 1, 20, 13, 0, tzinfo=PARIS)
    assert open_call.deadlines[0].at.tzinfo is PARIS
    assert open_call.opening_date == datetime(2026, 10, 15, 0, 0, tzinfo=PARIS)  # UTC midnight: a bare day
    assert open_call.description == "The activity will design and test a hydrogen propulsion demonstrator."
    assert open_call.programme == "ESA Open Competition"
    assert open_call.scope is Scope.OTHER and open_call.language == "en"
    assert open_call.regions == (Region.LOMBARDIA, Region.PIEMONTE, Region.LIGURIA)
    assert open_call.raw["clarification_deadline"] == "2027-01-06T13:00:00+01:00"
    intended = by_id["5013"]
    assert intended.status is Status.FORTHCOMING and intended.deadlines == ()
    assert intended.programme == "ESA Call for Proposals"
    cancelled = by_id["4870"]
    assert cancelled.status is Status.CLOSED and cancelled.regions == ()


def test_it_pages_until_total(fixtures: Path) -> None:
    out = calls(fixtures, {**CONFIG, "page_size": 3})
    assert not any(isinstance(r, Request) for r in out)
    scraper = EsaScraper({**CONFIG, "page_size": 2})
    request = scraper.request(7, 0)
    body = '{"total": 5, "items": [{"id": 1, "title": "a"}, {"id": 2, "title": "b"}]}'
    (nxt,) = [r for r in scraper.parse(Page.recorded(body, request=request)) if isinstance(r, Request)]
    assert nxt.url == f"{BASE}/api/tenderAction/filter/2/2" and nxt.params and nxt.params["tType"] == "7"


@pytest.mark.parametrize("body", ["[]", '{"items": []}', '{"total": 1, "items": [{"title": "no id"}]}', "<html>"])
def test_a_changed_answer_raises(body: str) -> None:
    with pytest.raises(ParseError):
        list(EsaScraper(CONFIG).parse(Page.recorded(body)))
