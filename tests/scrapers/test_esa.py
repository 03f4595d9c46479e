"""ESA-STAR: three real items of the answer recorded on 2026-08-31, in the API's envelope."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from calltracker.domain import Region, Scope, ScrapedCall, Status
from calltracker.errors import ParseError
from calltracker.scraping import Page, Request
from scrapers.esa import PARIS, EsaScraper

BASE = "https://esastar-publication-ext.sso.esa.int"
CONFIG = {"base_url": BASE}
RECORDED = "tenderAction_filter_3_real_items.json"
ON_THE_DAY = datetime(2026, 8, 31, 14, 9, tzinfo=UTC)  # when the answer was recorded


def parse(body: bytes, when: datetime | None = ON_THE_DAY, config: dict[str, object] | None = None,
          request: Request | None = None) -> list[object]:
    scraper = EsaScraper(config or CONFIG)
    request = request or scraper.request(0)
    page = Page(request=request, url=request.url, status=200, body=body, text=body.decode(), fetched_at=when)
    return list(scraper.parse(page))


def test_the_request_is_the_recorded_one() -> None:
    (first,) = EsaScraper(CONFIG).start_requests()
    assert first.url == f"{BASE}/api/tenderAction/filter/50"
    assert first.params == {"all": "true", "sortBy": "FirstPublicationDate", "sortDir": "1"}
    assert EsaScraper(CONFIG).request(50).url == f"{BASE}/api/tenderAction/filter/50/50"


def test_real_items_become_calls_with_their_status_and_zone_less_dates(fixtures: Path) -> None:
    body = (fixtures / "esa" / RECORDED).read_bytes()
    calls = {c.external_id: c for c in parse(body, config={**CONFIG, "keep_closed": True})
             if isinstance(c, ScrapedCall)}
    assert sorted(calls) == ["187959", "191920", "193775"]

    wae = calls["187959"]  # issued open competition, closing 2 September 13:00
    assert wae.title == "WORLD AGENTIC ENGINE - WAE" and wae.identifier == "1-13547"
    assert wae.status is Status.OPEN and wae.programme == "ESA Open Competition"
    assert wae.deadlines[0].at == datetime(2026, 9, 2, 13, 0, tzinfo=PARIS) and not wae.deadlines[0].date_only
    assert wae.opening_date == datetime(2026, 6, 25, 11, 58, 44, tzinfo=PARIS)
    assert wae.url == f"{BASE}/ESATenderActions/details/187959"
    assert wae.scope is Scope.OTHER and set(wae.regions) == {Region.LOMBARDIA, Region.PIEMONTE, Region.LIGURIA}
    assert "World Agentic Engine" in (wae.description or "") and len(wae.raw["country_ids"]) == 27

    rydberg = calls["193775"]  # intended: no closing date until it is issued
    assert rydberg.status is Status.FORTHCOMING and rydberg.deadlines == ()
    assert rydberg.deadline_text and "Intended" in rydberg.deadline_text

    sysnova = calls["191920"]  # issued call for proposals that closed at 13:00 on the day of the recording
    assert sysnova.status is Status.CLOSED and sysnova.description is None
    assert sysnova.programme == "ESA Call for Proposals"


def test_closed_actions_are_left_out_by_default(fixtures: Path) -> None:
    body = (fixtures / "esa" / RECORDED).read_bytes()
    ids = sorted(c.external_id for c in parse(body) if isinstance(c, ScrapedCall))
    assert ids == ["187959", "193775"]
    later = sorted(c.external_id for c in parse(body, when=datetime(2026, 9, 3, tzinfo=UTC))
                   if isinstance(c, ScrapedCall))
    assert later == ["193775"]  # the open competition closed on 2 September


def test_it_pages_until_total(fixtures: Path) -> None:
    real = json.loads((fixtures / "esa" / RECORDED).read_bytes())
    body = json.dumps({**real, "total": 5}).encode()
    scraper = EsaScraper({**CONFIG, "page_size": 3})
    out = parse(body, config={**CONFIG, "page_size": 3}, request=scraper.request(0))
    (nxt,) = [r for r in out if isinstance(r, Request)]
    assert nxt.url == f"{BASE}/api/tenderAction/filter/3/3"
    last = parse(body, config={**CONFIG, "page_size": 3}, request=nxt)
    assert not [r for r in last if isinstance(r, Request)]  # 3 + 3 >= 5


@pytest.mark.parametrize("body", [b'{"items": []}', b'{"total": 3, "items": []}', b"<html></html>",
                                  b'{"total": 1, "items": [{"id": 1, "title": "x", "closingDate": "2 Sept"}]}'])
def test_a_changed_answer_raises(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse(body)
