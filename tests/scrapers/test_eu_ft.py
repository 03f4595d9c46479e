"""EU Funding & Tenders (SEDIA search API) on real recorded responses."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from calltracker.domain import Scope, ScrapedCall, Status
from calltracker.errors import ParseError
from calltracker.scraping import Page, Request
from scrapers.eu_ft import EuFtScraper

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eu_ft"
BRUSSELS = ZoneInfo("Europe/Brussels")
TOPIC_URL = "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/"


def load(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def parse(body: bytes | str, page_number: int = 1) -> tuple[list[ScrapedCall], list[Request]]:
    scraper = EuFtScraper({"base_url": "http://sedia.test"})
    page = Page.recorded(body, url=scraper.base_url + "/search", request=scraper.search_request(page_number))
    out = list(scraper.parse(page))
    return [c for c in out if isinstance(c, ScrapedCall)], [r for r in out if isinstance(r, Request)]


def by_id(calls: list[ScrapedCall]) -> dict[str, ScrapedCall]:
    return {c.external_id: c for c in calls}


def test_it_keeps_exactly_the_current_topics() -> None:
    calls, follow = parse(load("search_response_page1_pageSize100"))
    assert sorted(c.external_id for c in calls) == [
        "HORIZON-CL3-2026-02-CS-ECCC-01",
        "HORIZON-CL4-2027-04-DIGITAL-EMERGING-10",
        "HORIZON-CL5-2027-03-D5-05",
        "HORIZON-CL6-2026-04-GOVERNANCE-01",
        "HORIZON-JU-CBE-2026-IAFlag-02",
        "HORIZON-MISS-2027-05-SOIL-01-two-stage",
    ]  # 9 rows: the two stale SEDIA_PRD_CENTRICITY topics (one of them twice) are gone
    assert follow == []  # totalResults 9 fits on one page


def test_a_two_stage_topic_keeps_both_deadlines_as_brussels_dates() -> None:
    soil = by_id(parse(load("search_response_page1_pageSize100"))[0])["HORIZON-MISS-2027-05-SOIL-01-two-stage"]
    assert soil.title == ("Living labs to enhance soil health in Continental, Black Sea, Pannonian and Steppic "
                          "biogeographical regions")
    assert soil.identifier == "HORIZON-MISS-2027-05-SOIL-01-two-stage"
    assert soil.status is Status.FORTHCOMING
    assert soil.scope is Scope.EU
    assert soil.programme == "Horizon Europe (HORIZON)"
    assert soil.url == TOPIC_URL + "HORIZON-MISS-2027-05-SOIL-01-two-stage"
    assert [(d.day.isoformat(), d.date_only, d.label, str(d.at.tzinfo)) for d in soil.deadlines] == [
        ("2027-04-08", True, "stage 1", "Europe/Brussels"), ("2027-09-14", True, "stage 2", "Europe/Brussels")]
    assert soil.opening_date == datetime(2027, 2, 4, tzinfo=BRUSSELS)
    assert soil.description is not None
    assert soil.description.startswith("Expected Outcome:\nActivities under this topic respond directly")
    assert "<" not in soil.description and "&nbsp;" not in soil.description


def test_an_open_topic_is_open() -> None:
    cs = by_id(parse(load("search_response_page1_pageSize100"))[0])["HORIZON-CL3-2026-02-CS-ECCC-01"]
    assert cs.status is Status.OPEN
    assert cs.title == "Approaches and tools for security in software and hardware development and assessment"


def test_a_cut_budget_overview_is_unknown_and_a_whole_one_is_the_topics_share() -> None:
    calls = by_id(parse(load("search_response_page1_pageSize100"))[0])
    assert calls["HORIZON-CL5-2027-03-D5-05"].budget_eur is None  # budgetOverview clipped mid-JSON
    gov = calls["HORIZON-CL6-2026-04-GOVERNANCE-01"]
    assert gov.budget_eur == 60_000_000
    assert gov.budget_text == "EUR 60,000,000; 1 grant expected; EUR 60,000,000 per grant"


def test_curated_topics_with_whole_budgets() -> None:
    curated = json.loads(load("curated_open_and_closed_topics_PARTIAL"))
    body = json.dumps({"totalResults": 2, "results": [curated["open"], curated["closed"]]})
    calls = by_id(parse(body)[0])
    ihi = calls["HORIZON-JU-IHI-2026-13-two-stage-01"]
    assert (ihi.status, ihi.budget_eur) == (Status.OPEN, 53_200_000)
    assert ihi.budget_text == "EUR 53,200,000; 1 grant expected; EUR 35,000,000 per grant"
    assert calls["HORIZON-CL5-2026-04-Two-Stage-D3-02"].status is Status.CLOSED


def test_cascade_calls_sharing_a_topic_and_url_stay_apart() -> None:
    calls = by_id(parse(load("search_cascade_type8_digital_multicutoff_PARTIAL"))[0])
    assert sorted(calls) == ["cascade:11143COMPETITIVE_CALL", "cascade:11145COMPETITIVE_CALL",
                             "cascade:11264COMPETITIVE_CALL", "cascade:11265COMPETITIVE_CALL"]
    metu = calls["cascade:11143COMPETITIVE_CALL"]
    assert metu.title == "METU Internships Offer"
    assert metu.identifier == "DIGITAL-2023-SKILLS-05-SPECIALEDU"
    assert metu.programme == "Digital Europe Programme (DIGITAL)"
    assert metu.url.endswith("/competitive-calls-cs/46214053")
    assert metu.budget_eur == 30_500
    assert len(metu.deadlines) == 7 and not any(d.date_only for d in metu.deadlines)
    assert metu.deadlines[0].at == datetime(2025, 9, 2, 3, 59, tzinfo=BRUSSELS)
    assert calls["cascade:11265COMPETITIVE_CALL"].description is None  # empty description list


def test_it_asks_for_the_remaining_pages_from_the_first() -> None:
    data: dict[str, Any] = json.loads(load("search_topics_horizon_cl5_cbe_reduced_fields_PARTIAL"))
    data["totalResults"] = 250
    calls, follow = parse(json.dumps(data))
    assert len(calls) == 4
    assert [r.params["pageNumber"] if r.params else None for r in follow] == ["2", "3"]
    assert parse(json.dumps(data), page_number=2)[1] == []  # later pages ask for nothing more


def test_the_search_request_sends_json_file_parts() -> None:
    request = EuFtScraper({}).search_request(1)
    assert request.url == "https://api.tech.ec.europa.eu/search-api/prod/rest/search"
    assert request.method == "POST"
    parts = {p.name: p for p in request.parts}
    assert set(parts) == {"query", "languages", "sort"}
    assert all(p.content_type == "application/json" and p.filename for p in parts.values())
    query = json.loads(parts["query"].content)
    assert {"terms": {"type": ["1", "2", "8"]}} in query["bool"]["must"]
    assert {"terms": {"status": ["31094501", "31094502"]}} in query["bool"]["must"]
    assert json.loads(parts["languages"].content) == ["en"]
    assert json.loads(parts["sort"].content) == {"field": "identifier", "order": "ASC"}


@pytest.mark.parametrize("body", [
    '{"totalResults": 3, "items": []}',
    '{"results": []}',
    '{"totalResults": 1, "results": [{"metadata": {"type": ["1"], "title": ["No id"]}}]}',
    '{"totalResults": 1, "results": [{"reference": "x"}]}',
    '{"totalResults": 1, "results": [',
])
def test_a_changed_layout_raises_parse_error(body: str) -> None:
    with pytest.raises(ParseError):
        parse(body)
