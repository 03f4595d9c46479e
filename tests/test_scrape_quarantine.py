"""A hostile record never blocks its source (issue #12, defect 2), end to end: replay server over a real
socket -> HTTP seam -> pipeline -> real Store (SQLite and PostgreSQL) -> the run's report and `status`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from click.testing import CliRunner

from calltracker.cli import cli
from calltracker.domain import Deadline, Region, ScrapedCall
from calltracker.http import HttpClient, HttpPolicy
from calltracker.pipeline import Pipeline, SourceJob
from calltracker.replay import ReplayServer, Reply, Route
from calltracker.scraping import Page, Request, Yield
from calltracker.storage import Store

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
FAST = HttpPolicy(user_agent="calltracker-test/1", timeout=2, max_retries=0, min_delay=0.0, allow_loopback=True)
LONG = "Contributi per la transizione digitale e sostenibile delle imprese aerospaziali liguri " * 7
ITEMS = [
    {"id": "ok-1", "title": "Bando PMI innovative", "regions": ["liguria"], "deadline": "2027-03-31T12:00:00+02:00"},
    {"id": "nul\u0000", "title": "Bando\u0000 con NUL", "regions": ["liguria"], "deadline": "2027-03-31T12:00:00+02:00",
     "programme": "PR FESR " * 50},
    {"id": "long", "title": LONG, "regions": ["liguria", "piemonte"], "deadline": "2027-03-31T12:00:00+02:00"},
    {"id": "impossible", "title": "Scadenza impossibile", "regions": ["liguria"],
     "deadline": "0001-01-01T00:30:00+02:00"},
    {"id": "ok-2", "title": "Bando ricerca", "regions": ["liguria"], "deadline": "2027-05-31T12:00:00+02:00"},
]


class ListScraper:
    """A JSON list of calls, one page."""

    name: ClassVar[str] = "liguria"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def start_requests(self) -> Iterable[Request]:
        return [Request(url=self.base_url + "/calls.json")]

    def parse(self, page: Page) -> Iterable[Yield]:
        for item in page.json():
            yield ScrapedCall(source=self.name, external_id=item["id"], title=item["title"], url=page.url,
                              programme=item.get("programme"), regions=tuple(Region(r) for r in item["regions"]),
                              deadlines=(Deadline(datetime.fromisoformat(item["deadline"])),))


def test_a_hostile_record_is_quarantined_reported_and_shown_in_status(store: Store, config_file: Path) -> None:
    body = json.dumps(ITEMS).encode()
    with ReplayServer([Route("/robots.txt", [Reply(404, b"")]),
                       Route("/calls.json", [Reply(200, body, {"Content-Type": "application/json"})])]) as srv, \
            HttpClient(FAST) as client:
        (report,) = Pipeline(store, client, clock=lambda: NOW).run([SourceJob("liguria", ListScraper(srv.base_url))])
    assert report.outcome == "ok", report.line()
    assert (report.seen, report.new, report.unchanged) == (5, 4, 0)
    assert [q.external_id for q in report.quarantined] == ["impossible"]
    assert report.line().endswith("1 quarantined")
    assert sorted(c.external_id for c in store.find_calls()) == ["long", "nul", "ok-1", "ok-2"]
    (kept,) = store.quarantined(run_id=report.run_id)
    assert kept.external_id == "impossible" and "OverflowError" in kept.error

    runner = CliRunner()
    data = json.loads(runner.invoke(cli, ["--config", str(config_file), "status", "--json"]).stdout)
    assert data["quarantine_counts"] == {"liguria": 1}
    assert [q["external_id"] for q in data["quarantined"]] == ["impossible"]
    table = runner.invoke(cli, ["--config", str(config_file), "status"])
    assert table.exit_code == 0, table.output
    assert "1 records quarantined" in table.stdout and "impossible" in table.stdout


def test_a_quarantined_record_stays_in_the_page_memo_until_the_page_changes(store: Store) -> None:
    """Issue #14: an unchanged page is not parsed again, and its quarantined record is neither lost from the
    page's calls (still seen, so never taken for vanished) nor quarantined again; a changed page is parsed."""
    body = json.dumps(ITEMS).encode()
    changed = json.dumps([*ITEMS, {"id": "ok-3", "title": "Bando nuovo", "regions": ["liguria"],
                                   "deadline": "2027-06-30T12:00:00+02:00"}]).encode()
    json_type = {"Content-Type": "application/json", "ETag": '"v1"'}
    with ReplayServer([Route("/robots.txt", [Reply(404, b"")] * 3),
                       Route("/calls.json", [Reply(200, body, json_type), Reply(200, body, json_type),
                                             Reply(200, changed, {"Content-Type": "application/json"})])]) as srv, \
            HttpClient(FAST) as client:
        pipeline = Pipeline(store, client, clock=lambda: NOW)
        job = SourceJob("liguria", ListScraper(srv.base_url))
        (first,) = pipeline.run([job])
        (again,) = pipeline.run([job])
        (later,) = pipeline.run([job])
    assert [q.external_id for q in first.quarantined] == ["impossible"]
    assert (again.outcome, again.seen, again.new, again.changed) == ("ok", 5, 0, 0)
    assert again.quarantined == () and store.quarantined(run_id=again.run_id) == []
    assert (later.seen, later.new) == (6, 1) and [q.external_id for q in later.quarantined] == ["impossible"]
