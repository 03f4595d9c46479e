"""End to end over real sockets: replay server -> HTTP seam -> eu_ft scraper -> pipeline -> real Store.

Runs on SQLite and PostgreSQL (the `store` fixture). Every fault ends with nothing lost and the other
source unaffected.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest

from calltracker.domain import ScrapedCall
from calltracker.http import HttpClient, HttpPolicy
from calltracker.pipeline import Pipeline, SourceJob, SourceReport
from calltracker.replay import ReplayServer, Reply, Route, json_parts, load_manifest
from calltracker.scraping import Page, Request, Yield
from calltracker.storage import Store
from scrapers.eu_ft import LANGUAGES, QUERY, SEARCH_PATH, SORT, EuFtScraper

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "eu_ft" / "search_response_page1_pageSize100.json"
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
FAST = HttpPolicy(user_agent="calltracker-test/1", timeout=0.5, max_retries=3, retry_max_wait=3.0,
                  backoff_base=0.01, min_delay=0.0, allow_loopback=True)
CURRENT = {"HORIZON-CL3-2026-02-CS-ECCC-01", "HORIZON-CL4-2027-04-DIGITAL-EMERGING-10", "HORIZON-CL5-2027-03-D5-05",
           "HORIZON-CL6-2026-04-GOVERNANCE-01", "HORIZON-JU-CBE-2026-IAFlag-02",
           "HORIZON-MISS-2027-05-SOIL-01-two-stage"}
JSON = {"Content-Type": "application/json"}


def pages() -> tuple[bytes, bytes]:
    """The real recorded page split in two pages of 5, as the API pages a longer result."""
    data: dict[str, Any] = json.loads(FIXTURE.read_bytes())
    first = {**data, "pageSize": 5, "results": data["results"][:5]}
    second = {**data, "pageSize": 5, "pageNumber": 2, "results": data["results"][5:]}
    return json.dumps(first).encode(), json.dumps(second).encode()


def search_route(page_number: int, replies: list[Reply]) -> Route:
    return Route(SEARCH_PATH, replies, method="POST", query={"pageNumber": str(page_number)},
                 body=json_parts({"query": QUERY, "languages": LANGUAGES, "sort": SORT}))


class OtherScraper:
    """A second, independent source on another host."""

    name: ClassVar[str] = "other"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def start_requests(self) -> Iterable[Request]:
        return [Request(url=self.base_url + "/calls.json")]

    def parse(self, page: Page) -> Iterable[Yield]:
        for item in page.json():
            yield ScrapedCall(source=self.name, external_id=item["id"], title=item["title"], url=page.url)


@pytest.fixture
def eu() -> Iterator[ReplayServer]:
    first, second = pages()
    with ReplayServer([search_route(1, [Reply(200, first, JSON)]), search_route(2, [Reply(200, second, JSON)]),
                       Route(SEARCH_PATH, [Reply(500, b'{"type":"throwable"}', JSON)], method="POST")]) as srv:
        yield srv


@pytest.fixture
def other() -> Iterator[ReplayServer]:
    body = json.dumps([{"id": "o1", "title": "Other call"}]).encode()
    with ReplayServer([Route("/calls.json", [Reply(200, body, JSON)])]) as srv:
        yield srv


def scrape(store: Store, eu: ReplayServer, other: ReplayServer | None = None,
           policy: HttpPolicy = FAST) -> dict[str, SourceReport]:
    jobs = [SourceJob("eu_ft", EuFtScraper({"base_url": eu.base_url, "page_size": 5}))]
    if other is not None:
        jobs.append(SourceJob("other", OtherScraper(other.base_url)))
    with HttpClient(policy) as client:
        reports = Pipeline(store, client, clock=lambda: NOW).run(jobs)
    return {r.source: r for r in reports}


def eu_ids(store: Store) -> set[str]:
    return {c.external_id for c in store.find_calls() if c.source == "eu_ft"}


def test_exactly_the_current_topics_are_stored(store: Store, eu: ReplayServer) -> None:
    report = scrape(store, eu)["eu_ft"]
    assert (report.outcome, report.seen, report.new) == ("ok", 6, 6)
    assert eu_ids(store) == CURRENT
    soil = store.get_call("eu_ft:HORIZON-MISS-2027-05-SOIL-01-two-stage")
    assert soil.identifier == "HORIZON-MISS-2027-05-SOIL-01-two-stage"
    assert soil.title.startswith("Living labs to enhance soil health")
    assert (soil.status, soil.programme, soil.scope) == ("forthcoming", "Horizon Europe (HORIZON)", "eu")
    assert soil.url.endswith("/topic-details/HORIZON-MISS-2027-05-SOIL-01-two-stage")
    assert [(d.day.isoformat(), d.date_only, d.label) for d in soil.deadlines] == [
        ("2027-04-08", True, "stage 1"), ("2027-09-14", True, "stage 2")]
    assert all(d.at.tzinfo == ZoneInfo("Europe/Brussels") for d in soil.deadlines)
    assert (soil.description or "").startswith("Expected Outcome:")
    # Open in the API, but its deadline (15 September) has passed: stored as closed, not dropped.
    assert store.get_call("eu_ft:HORIZON-CL3-2026-02-CS-ECCC-01").status == "closed"
    run = store.runs("eu_ft")[0]
    assert (run.outcome, run.seen, run.new) == ("ok", 6, 6)


def test_a_second_scrape_of_unchanged_content_writes_nothing(store: Store, eu: ReplayServer) -> None:
    scrape(store, eu)
    before = {c.external_id: c.last_seen_at for c in store.find_calls()}
    changes_before = len(store.changes())
    report = scrape(store, eu)["eu_ft"]
    assert (report.outcome, report.seen, report.new, report.changed, report.unchanged) == ("ok", 6, 0, 0, 6)
    assert report.http_stats["unchanged_pages"] == 2
    assert {c.external_id: c.last_seen_at for c in store.find_calls()} == before  # not even touched
    assert len(store.changes()) == changes_before
    assert len(eu.requests_to(SEARCH_PATH)) == 4  # both pages were still asked for


def test_a_moved_deadline_is_recorded_as_a_change(store: Store, eu: ReplayServer) -> None:
    scrape(store, eu)
    first, second = pages()
    moved = first.replace(b"2027-03-18T00:00:00.000+0000", b"2027-03-25T17:00:00.000+0000")
    assert moved != first
    eu.add(search_route(1, [Reply(200, moved, JSON)]))
    report = scrape(store, eu)["eu_ft"]
    assert (report.outcome, report.new, report.changed, report.unchanged) == ("ok", 0, 1, 5)
    call = store.get_call("eu_ft:HORIZON-CL4-2027-04-DIGITAL-EMERGING-10")
    assert [(d.at.isoformat(), d.date_only) for d in call.deadlines] == [("2027-03-25T17:00:00+01:00", False)]
    assert [c.field for c in store.changes(call.id)] == ["deadlines"]


def test_the_demo_manifest_serves_the_eu_source(store: Store) -> None:
    with ReplayServer(load_manifest(ROOT / "calltracker" / "data" / "replay" / "eu_ft")) as srv, \
            HttpClient(FAST) as client:
        report = Pipeline(store, client, clock=lambda: NOW).run(
            [SourceJob("eu_ft", EuFtScraper({"base_url": srv.base_url}))])[0]
    assert (report.outcome, report.new) == ("ok", 6)


# --- faults: each ends as a user would expect, with nothing lost and the other source unaffected ------------


def assert_other_fine(reports: dict[str, SourceReport], store: Store) -> None:
    assert (reports["other"].outcome, reports["other"].seen) == ("ok", 1)
    assert store.get_call("other:o1").title == "Other call"


def test_a_500_burst_then_success_is_a_normal_run(store: Store, eu: ReplayServer, other: ReplayServer) -> None:
    _, second = pages()
    eu.add(search_route(2, [Reply(500), Reply(503), Reply(200, second, JSON)]))
    reports = scrape(store, eu, other)
    assert (reports["eu_ft"].outcome, reports["eu_ft"].seen) == ("ok", 6)
    assert reports["eu_ft"].http_stats["retries"] == 2
    assert_other_fine(reports, store)


@pytest.mark.parametrize("fault", [
    pytest.param(Reply(200, b"{}", JSON, delay=2.0), id="timeout"),
    pytest.param(Reply(reset=True), id="connection-reset"),
    pytest.param(Reply(200, b'{"results": [' + b" " * 400 + b"]}", JSON, truncate_at=50), id="truncated-body"),
    pytest.param(Reply(503), id="server-down"),
])
def test_a_page_that_keeps_failing_fails_the_run_and_loses_nothing(
        store: Store, eu: ReplayServer, other: ReplayServer, fault: Reply) -> None:
    scrape(store, eu)
    assert eu_ids(store) == CURRENT
    eu.add(search_route(2, [fault]))
    reports = scrape(store, eu, other)
    report = reports["eu_ft"]
    assert report.outcome == "failed" and report.failed == 1
    assert "after 4 attempts" in (report.error or "")
    assert eu_ids(store) == CURRENT  # page 1 still counted, nothing deleted
    assert {c.status for c in store.find_calls() if c.external_id == "HORIZON-CL5-2027-03-D5-05"} == {"forthcoming"}
    assert store.consecutive_failures("eu_ft") == 1
    assert_other_fine(reports, store)


def test_a_transient_reset_timeout_or_truncation_is_retried(store: Store, eu: ReplayServer) -> None:
    first, second = pages()
    eu.add(search_route(1, [Reply(reset=True), Reply(200, first, JSON)]))
    eu.add(search_route(2, [Reply(200, second, JSON, truncate_at=100), Reply(200, b"{}", JSON, delay=2.0),
                            Reply(200, second, JSON)]))
    report = scrape(store, eu)["eu_ft"]
    assert (report.outcome, report.seen) == ("ok", 6)
    assert report.http_stats["transport_errors"] == 2 and report.http_stats["timeouts"] == 1


def test_a_429_with_retry_after_is_waited_out(store: Store, eu: ReplayServer, other: ReplayServer) -> None:
    _, second = pages()
    eu.add(search_route(2, [Reply(429, headers={"Retry-After": "1"}), Reply(200, second, JSON)]))
    reports = scrape(store, eu, other)
    assert (reports["eu_ft"].outcome, reports["eu_ft"].seen) == ("ok", 6)
    assert reports["eu_ft"].http_stats["wait_seconds"] >= 1
    assert_other_fine(reports, store)


def test_a_robots_disallow_is_reported_and_nothing_is_fetched(
        store: Store, eu: ReplayServer, other: ReplayServer) -> None:
    scrape(store, eu)
    eu.add(Route("/robots.txt", [Reply(200, b"User-agent: *\nDisallow: /search-api/\n")]))
    searches = len(eu.requests_to(SEARCH_PATH))
    reports = scrape(store, eu, other)
    assert reports["eu_ft"].outcome == "failed"
    assert "robots.txt" in (reports["eu_ft"].error or "") and "disallows" in (reports["eu_ft"].error or "")
    assert len(eu.requests_to(SEARCH_PATH)) == searches
    assert eu_ids(store) == CURRENT
    assert_other_fine(reports, store)


def test_a_malformed_json_page_is_a_parse_error(store: Store, eu: ReplayServer, other: ReplayServer) -> None:
    scrape(store, eu)
    eu.add(search_route(2, [Reply(200, b'{"totalResults": 9, "results": [{"metadata": ', JSON)]))
    reports = scrape(store, eu, other)
    assert reports["eu_ft"].outcome == "failed"
    assert "ParseError" in (reports["eu_ft"].error or "") and "not valid JSON" in (reports["eu_ft"].error or "")
    assert eu_ids(store) == CURRENT
    assert_other_fine(reports, store)


def test_a_source_that_suddenly_shrinks_is_suspect(store: Store, eu: ReplayServer) -> None:
    scrape(store, eu)
    data = json.loads(FIXTURE.read_bytes())
    tiny = json.dumps({**data, "totalResults": 1, "results": data["results"][:1]}).encode()
    eu.add(search_route(1, [Reply(200, tiny, JSON)]))
    report = scrape(store, eu)["eu_ft"]
    assert report.outcome == "suspect" and "1 calls against 6" in (report.error or "")
    assert eu_ids(store) == CURRENT
    assert store.last_good_seen("eu_ft") == 6
