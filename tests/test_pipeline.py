"""The pipeline through its ports: an in-memory store and a plain function standing in for HTTP."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from calltracker.domain import ScrapedCall, Status
from calltracker.errors import FetchError, ParseError
from calltracker.http import Fetched, HostLimits, HttpStats, Validators
from calltracker.pipeline import Pipeline, SourceJob, request_from_json, request_key, request_to_json
from calltracker.scraping import Page, Part, Request, Yield
from calltracker.storage import FieldChange, PageMemo, SaveResult

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@dataclass
class FakeStore:
    """Just enough of calltracker.storage.Store, in memory, counting writes."""

    calls: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    ids: dict[tuple[str, str], int] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    memos: dict[str, PageMemo] = field(default_factory=dict)
    writes: int = 0

    def start_run(self, source: str, started_at: datetime, *, holder: str | None = None) -> int:
        self.runs.append({"source": source, "outcome": "running"})
        return len(self.runs)

    def finish_run(self, run_id: int, *, outcome: str, finished_at: datetime, seen: int, new: int, changed: int,
                   unchanged: int, failed: int, http_stats: dict[str, Any], error: str | None) -> None:
        self.runs[run_id - 1].update(outcome=outcome, seen=seen, new=new, changed=changed, unchanged=unchanged,
                                     failed=failed, error=error, http_stats=http_stats)

    def save_calls(self, source: str, calls: Sequence[ScrapedCall], *, run_id: int | None,
                   now: datetime) -> SaveResult:
        new, changed, unchanged, changes = [], [], 0, []
        for call in calls:
            key = (source, call.external_id)
            fields = call.comparable()
            old = self.calls.get(key)
            if old is None:
                self.calls[key] = fields
                self.ids[key] = len(self.ids) + 1
                self.writes += 1
                new.append(self.ids[key])
            elif old != fields:
                changes += [FieldChange(self.ids[key], k, old[k], v) for k, v in fields.items() if old[k] != v]
                self.calls[key] = fields
                self.writes += 1
                changed.append(self.ids[key])
            else:
                unchanged += 1
        return SaveResult(new_ids=new, changed_ids=changed, unchanged=unchanged, changes=changes)

    def close_expired(self, now: datetime) -> int:
        return 0

    def last_good_seen(self, source: str) -> int | None:
        good = [r["seen"] for r in self.runs if r["source"] == source and r["outcome"] == "ok"]
        return good[-1] if good else None

    def consecutive_failures(self, source: str) -> int:
        count = 0
        for r in reversed([r for r in self.runs if r["source"] == source]):
            if r["outcome"] == "ok":
                break
            count += r["outcome"] in ("failed", "suspect")
        return count

    def get_page_memo(self, key: str) -> PageMemo | None:
        return self.memos.get(key)

    def put_page_memo(self, key: str, memo: PageMemo, now: datetime | None = None) -> None:
        self.memos[key] = replace(memo, fetched_at=now)
        self.writes += 1

    def touch_page_memo(self, key: str, *, etag: str | None, last_modified: str | None, now: datetime) -> None:
        self.memos[key] = replace(self.memos[key], etag=etag, last_modified=last_modified, fetched_at=now)
        self.writes += 1


Handler = Callable[[Request], bytes]


class FunctionFetcher:
    """The HTTP seam as a plain function of the request (raise FetchError to fail)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.urls: list[str] = []

    def fetch(self, request: Request, *, validators: Validators | None = None, limits: HostLimits | None = None,
              stats: HttpStats | None = None) -> Fetched:
        self.urls.append(request.url)
        body = self.handler(request)
        return Fetched(url=request.url, status=200, headers={}, body=body, text=body.decode())


class ListingScraper:
    """A listing of ids (JSON) with one detail page per id; the listing's call is the detail's fallback."""

    name: ClassVar[str] = "listing"
    parsed: int = 0

    def __init__(self, name: str = "listing") -> None:
        self.name = name  # type: ignore[misc]

    def start_requests(self) -> Iterable[Request]:
        return [Request(url=f"http://{self.name}.test/list")]

    def parse(self, page: Page) -> Iterable[Yield]:
        self.parsed += 1
        data = page.json()
        for item in data["items"]:
            call = ScrapedCall(source=self.name, external_id=item["id"], title=item["title"], url=page.url,
                               status=Status(item.get("status", "open")))
            if item.get("detail"):
                yield Request(url=f"http://{self.name}.test/detail/{item['id']}", callback="parse_detail",
                              fallback=(call,), meta={"id": item["id"]})
            else:
                yield call

    def parse_detail(self, page: Page) -> Iterable[Yield]:
        self.parsed += 1
        data = page.json()
        if "title" not in data:
            raise ParseError(f"{page.url}: no title")
        yield ScrapedCall(source=self.name, external_id=page.request.meta["id"], title=data["title"], url=page.url,
                          description=data.get("description"))


def listing(n: int, *, detail: bool = False) -> bytes:
    return json.dumps({"items": [{"id": f"c{i}", "title": f"Call {i}", "detail": detail} for i in range(n)]}).encode()


def run(store: FakeStore, fetcher: FunctionFetcher, *scrapers: ListingScraper, dry_run: bool = False,
        broken_after: int = 3, refresh_after: float = 86400.0) -> dict[str, Any]:
    pipeline = Pipeline(store, fetcher, clock=lambda: NOW, broken_after=broken_after, refresh_after=refresh_after)
    reports = pipeline.run([SourceJob(s.name, s) for s in scrapers], dry_run=dry_run)
    return {r.source: r for r in reports}


def test_it_stores_new_calls_and_records_the_run() -> None:
    store = FakeStore()
    report = run(store, FunctionFetcher(lambda r: listing(3)), ListingScraper())["listing"]
    assert (report.outcome, report.seen, report.new, report.changed, report.failed) == ("ok", 3, 3, 0, 0)
    assert store.runs == [{"source": "listing", "outcome": "ok", "seen": 3, "new": 3, "changed": 0, "unchanged": 0,
                           "failed": 0, "error": None, "http_stats": {"statuses": {}, "bytes": 0,
                                                                      "wait_seconds": 0.0}}]


def test_one_failing_source_does_not_stop_the_others() -> None:
    def handler(request: Request) -> bytes:
        if "broken.test" in request.url:
            raise FetchError("HTTP 503 after 5 attempts", url=request.url, status=503)
        return listing(2)

    store = FakeStore()
    reports = run(store, FunctionFetcher(handler), ListingScraper("broken"), ListingScraper("fine"))
    assert reports["broken"].outcome == "failed" and "503" in (reports["broken"].error or "")
    assert (reports["fine"].outcome, reports["fine"].new) == ("ok", 2)
    assert {k[0] for k in store.calls} == {"fine"}


def test_an_unexpected_exception_is_contained_too() -> None:
    class Exploding(ListingScraper):
        def parse(self, page: Page) -> Iterable[Yield]:
            raise KeyError("boom")

    reports = run(FakeStore(), FunctionFetcher(lambda r: listing(1)), Exploding("bad"), ListingScraper("good"))
    assert reports["bad"].outcome == "failed" and "KeyError" in (reports["bad"].error or "")
    assert reports["good"].outcome == "ok"


def test_an_unchanged_page_is_not_parsed_and_writes_no_call_but_still_counts() -> None:
    store = FakeStore()
    scraper = ListingScraper()
    fetcher = FunctionFetcher(lambda r: json.dumps({"title": "Detailed"}).encode() if "/detail/" in r.url
                              else listing(3, detail=True))
    first = run(store, fetcher, scraper)["listing"]
    assert (first.new, scraper.parsed) == (3, 4)
    calls, fetched = dict(store.calls), len(fetcher.urls)
    second = run(store, fetcher, scraper)["listing"]
    assert (second.outcome, second.seen, second.new, second.changed, second.unchanged) == ("ok", 3, 0, 0, 3)
    assert scraper.parsed == 4  # nothing parsed again
    assert store.calls == calls
    # The listing is unchanged and its details were fetched within the refresh age: only the listing is asked.
    assert fetcher.urls[fetched:] == ["http://listing.test/list"]
    assert (second.http_stats["unchanged_pages"], second.http_stats["fresh_pages"]) == (1, 3)


def test_details_under_an_unchanged_listing_are_fetched_again_after_the_refresh_age() -> None:
    store = FakeStore()
    fetcher = FunctionFetcher(lambda r: json.dumps({"title": "Detailed"}).encode() if "/detail/" in r.url
                              else listing(2, detail=True))
    Pipeline(store, fetcher, clock=lambda: NOW).run([SourceJob("listing", ListingScraper())])
    later = NOW + timedelta(hours=25)
    (report,) = Pipeline(store, fetcher, clock=lambda: later).run([SourceJob("listing", ListingScraper())])
    assert len(fetcher.urls) == 6 and report.http_stats["unchanged_pages"] == 3
    assert all(m.fetched_at == later for m in store.memos.values())  # checked now: fresh again for a day
    (report,) = Pipeline(store, fetcher, clock=lambda: later).run(
        [SourceJob("listing", ListingScraper(), refresh_after=0)])
    assert len(fetcher.urls) == 9, "a per-source refresh age of 0 always fetches the details"


def test_a_changed_detail_page_is_parsed_and_recorded_as_a_change() -> None:
    store = FakeStore()
    detail = {"title": "Detailed", "description": "v1"}

    def handler(r: Request) -> bytes:
        return json.dumps(detail).encode() if "/detail/" in r.url else listing(2, detail=True)

    run(store, FunctionFetcher(handler), ListingScraper())
    detail["description"] = "v2"
    # (under an unchanged listing, details are fetched again once older than the refresh age: here at once)
    report = run(store, FunctionFetcher(handler), ListingScraper(), refresh_after=0)["listing"]
    assert (report.new, report.changed, report.unchanged) == (0, 2, 0)
    assert {(c.field, c.old, c.new) for c in report.changes} == {("description", "v1", "v2")}


def test_a_failed_detail_page_keeps_the_call_from_the_listing() -> None:
    def handler(r: Request) -> bytes:
        if r.url.endswith("/c1"):
            raise FetchError("timeout after 5 attempts", url=r.url)
        return json.dumps({"title": "Detailed"}).encode() if "/detail/" in r.url else listing(2, detail=True)

    store = FakeStore()
    report = run(store, FunctionFetcher(handler), ListingScraper())["listing"]
    assert (report.outcome, report.seen, report.new, report.failed) == ("ok", 2, 2, 1)
    assert store.calls[("listing", "c1")]["title"] == "Call 1"  # the fallback
    assert store.calls[("listing", "c0")]["title"] == "Detailed"


def test_a_parse_error_fails_the_source_loudly_and_keeps_the_rest() -> None:
    def handler(r: Request) -> bytes:
        if r.url.endswith("/c1"):
            return b'{"renamed": "layout changed"}'
        return json.dumps({"title": "Detailed"}).encode() if "/detail/" in r.url else listing(2, detail=True)

    store = FakeStore()
    report = run(store, FunctionFetcher(handler), ListingScraper())["listing"]
    assert report.outcome == "failed" and "ParseError" in (report.error or "")
    assert ("listing", "c0") in store.calls
    assert store.calls[("listing", "c1")]["title"] == "Call 1", "the listing's call is kept (its fallback)"


def test_a_source_that_shrinks_is_suspect_and_keeps_everything() -> None:
    store = FakeStore()
    run(store, FunctionFetcher(lambda r: listing(10)), ListingScraper())
    report = run(store, FunctionFetcher(lambda r: listing(3)), ListingScraper())["listing"]
    assert report.outcome == "suspect" and "3 calls against 10" in (report.error or "")
    assert len(store.calls) == 10  # nothing deleted
    assert store.last_good_seen("listing") == 10


def test_consecutive_failures_mark_a_source_broken() -> None:
    store = FakeStore()

    def handler(r: Request) -> bytes:
        raise FetchError("connection refused", url=r.url)

    reports = [run(store, FunctionFetcher(handler), ListingScraper(), broken_after=2)["listing"] for _ in range(2)]
    assert [(r.consecutive_failures, r.broken) for r in reports] == [(1, False), (2, True)]
    recovered = run(store, FunctionFetcher(lambda r: listing(1)), ListingScraper(), broken_after=2)["listing"]
    assert recovered.broken is False


def test_a_dry_run_fetches_and_parses_but_writes_nothing() -> None:
    store = FakeStore()
    scraper = ListingScraper()
    report = run(store, FunctionFetcher(lambda r: listing(4)), scraper, dry_run=True)["listing"]
    assert (report.outcome, report.seen, scraper.parsed) == ("ok", 4, 1)
    assert store.writes == 0 and store.runs == [] and store.memos == {}


def test_it_logs_one_line_per_source(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="calltracker.pipeline")
    run(FakeStore(), FunctionFetcher(lambda r: listing(2)), ListingScraper())
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert lines[0].startswith("listing: 2 seen, 2 new, 0 changed, 0 failed in ")


def test_duplicates_across_pages_keep_the_richest_record() -> None:
    class TwoPages(ListingScraper):
        def start_requests(self) -> Iterable[Request]:
            return [Request(url="http://listing.test/1"), Request(url="http://listing.test/2")]

        def parse(self, page: Page) -> Iterable[Yield]:
            rich = page.url.endswith("/2")
            yield ScrapedCall(source=self.name, external_id="same", title="T", url=page.url,
                              description="full text" if rich else None)

    store = FakeStore()
    report = run(store, FunctionFetcher(lambda r: b"{}"), TwoPages())["listing"]
    assert (report.seen, store.calls[("listing", "same")]["description"]) == (1, "full text")


def test_requests_survive_the_memo_round_trip() -> None:
    request = Request(url="http://x.test/s", method="POST", params={"page": "2"}, callback="parse_detail",
                      parts=(Part("query", b'{"a":1}', "application/json", "query.json"),), meta={"page": 2},
                      fallback=(ScrapedCall(source="s", external_id="e1", title="t", url="u"),))
    back = request_from_json(json.loads(json.dumps(request_to_json(request))))
    assert back == request  # the fallback calls too: a memo can restore them
    assert request_key("s", back) == request_key("s", request)
    assert request_key("s", request) != request_key("s", replace(request, params={"page": "3"}))


def test_a_stop_request_saves_what_was_fetched_and_is_not_a_failure() -> None:
    store = FakeStore()
    fetched: list[str] = []

    def handler(request: Request) -> bytes:
        fetched.append(request.url)
        if request.url.endswith("/list"):
            return listing(5, detail=True)
        return json.dumps({"title": "Detail"}).encode()

    stop_after_listing = lambda: len(fetched) >= 1  # noqa: E731 - a stop that arrives after the first page
    pipeline = Pipeline(store, FunctionFetcher(handler), clock=lambda: NOW, should_stop=stop_after_listing)
    (report,) = pipeline.run([SourceJob("listing", ListingScraper())])
    assert report.outcome == "stopped"
    assert fetched == ["http://listing.test/list"]  # no detail page was started after the stop
    assert store.runs[0]["outcome"] == "stopped" and "stopped on request" in store.runs[0]["error"]
    assert store.consecutive_failures("listing") == 0


def test_a_source_past_its_deadline_stops_keeps_its_listings_calls_and_fails() -> None:
    store = FakeStore()
    slow = threading.Event()

    def handler(request: Request) -> bytes:
        if request.url.endswith("/list"):
            slow.wait(0.3)  # a slow listing: the source's deadline passes meanwhile
            return listing(3, detail=True)
        return json.dumps({"title": "Detailed"}).encode()

    fetcher = FunctionFetcher(handler)
    (report,) = Pipeline(store, fetcher, clock=lambda: NOW, source_deadline=0.1).run(
        [SourceJob("listing", ListingScraper())])
    assert report.outcome == "failed" and "source deadline of 0.1s passed" in (report.error or "")
    assert fetcher.urls == ["http://listing.test/list"]  # no detail page was started after the deadline
    assert {k[1]: v["title"] for k, v in store.calls.items()} == {"c0": "Call 0", "c1": "Call 1", "c2": "Call 2"}
    assert store.memos == {}, "the listing's memo waits until its details are done"
