"""Scraping that keeps working through upgrades, silent sources and killed holders (real sockets, both engines)."""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from calltracker.bootstrap import report_broken_sources
from calltracker.cli import CalltrackerGroup, cli
from calltracker.cli.scrape_cmds import scrape as scrape_command
from calltracker.domain import ScrapedCall
from calltracker.http import HttpClient, HttpPolicy
from calltracker.locks import holder_is_gone, job_lock
from calltracker.page_memos import _SOURCES, options_text, parser_fingerprint
from calltracker.pipeline import Pipeline, SourceJob, SourceReport
from calltracker.replay import ReplayServer, Reply, Route, load_manifest
from calltracker.scraping import Page, Request
from calltracker.storage import Store
from scrapers.lombardia import LombardiaScraper
from tests.opsjobs import make_app, make_runner
from tests.process_support import wait_for_line
from tests.smtp_sink import SmtpSink

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
JSON = {"Content-Type": "application/json"}
POLICY = HttpPolicy(user_agent="calltracker-test/1", timeout=2.0, max_retries=1, backoff_base=0.01, min_delay=0.0,
                    allow_loopback=True, respect_robots=False)
ROWS = [{"id": f"c{i}", "name": f"Call {i}", "label": f"Bando {i}"} for i in range(3)]

# A scraper module as it is shipped; version 2 is "the same scraper after an upgrade": it reads `label`.
SCRAPER_V1 = '''
from calltracker.domain import ScrapedCall
from calltracker.scraping import Request

class ListScraper:
    name = "plain"

    def __init__(self, base_url):
        self.base_url = base_url

    def start_requests(self):
        return [Request(url=self.base_url + "/calls.json")]

    def parse(self, page):
        for row in page.json():
            yield ScrapedCall(source="plain", external_id=row["id"], title=row["name"], url=page.url)
'''
SCRAPER_V2 = SCRAPER_V1.replace('title=row["name"]', 'title=row["label"]')


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def run_jobs(store: Store, *jobs: SourceJob, clock: datetime = NOW, **options: Any) -> dict[str, SourceReport]:
    with HttpClient(POLICY) as client:
        reports = Pipeline(store, client, clock=lambda: clock, **options).run(list(jobs))
    return {r.source: r for r in reports}


# -- defect 4: an upgraded scraper never fails on pages answering 304 ---------------------------------------

@pytest.fixture
def modules(tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    (tmp_path / "plain_v1.py").write_text(SCRAPER_V1, encoding="utf-8")
    (tmp_path / "plain_v2.py").write_text(SCRAPER_V2, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("plain_v1"), importlib.import_module("plain_v2")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("plain_v1", None)
        sys.modules.pop("plain_v2", None)


def test_an_upgraded_scraper_reparses_pages_that_answer_304(store: Store, modules: tuple[Any, Any]) -> None:
    v1, v2 = modules
    with ReplayServer([Route("/calls.json", [Reply(200, json.dumps(ROWS).encode(), JSON)])], etags=True) as srv:
        first = run_jobs(store, SourceJob("plain", v1.ListScraper(srv.base_url)))["plain"]
        assert (first.outcome, first.new) == ("ok", 3)
        upgraded = run_jobs(store, SourceJob("plain", v2.ListScraper(srv.base_url)))["plain"]
        assert (upgraded.outcome, upgraded.changed) == ("ok", 3), upgraded.error
        assert store.get_call("plain:c1").title == "Bando 1"
        # The new parser's memo is used from now on: the next run is answered 304 and parses nothing.
        again = run_jobs(store, SourceJob("plain", v2.ListScraper(srv.base_url)))["plain"]
        assert (again.outcome, again.seen, again.http_stats["not_modified"]) == ("ok", 3, 1)
        conditional = [r.headers.get("if-none-match") for r in srv.requests_to("/calls.json")]
        assert conditional[0] is None and conditional[1] is None and conditional[2] is not None


def test_the_fingerprint_follows_options_and_the_shared_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    scraper = LombardiaScraper({"base_url": "https://www.dati.lombardia.it"})
    base = parser_fingerprint(scraper, options_text({"base_url": "https://www.dati.lombardia.it"}))
    assert base == parser_fingerprint(scraper, options_text({"base_url": "https://www.dati.lombardia.it"}))
    assert base != parser_fingerprint(scraper, options_text({"base_url": "https://www.dati.lombardia.it",
                                                             "page_size": 500}))
    parser_fingerprint(scraper)  # the shared modules' code is read once and cached
    monkeypatch.setitem(_SOURCES, "calltracker.normalize", _SOURCES["calltracker.normalize"] + "\n# fixed\n")
    changed = parser_fingerprint(scraper, options_text({"base_url": "https://www.dati.lombardia.it"}))
    assert changed != base, "a change to calltracker.normalize must change the fingerprint"


# -- defect 6: sources that keep returning nothing are broken, and `scrape` records it -----------------------

class JsonListScraper:
    """A JSON list of calls at /calls.json, collected under a configured source's name."""

    def __init__(self, name: str, base_url: str) -> None:
        self.name = name
        self.base_url = base_url

    def start_requests(self) -> list[Request]:
        return [Request(url=self.base_url + "/calls.json")]

    def parse(self, page: Page) -> Iterator[ScrapedCall]:
        for row in page.json():
            yield ScrapedCall(source=self.name, external_id=row["id"], title=row["name"], url=page.url)


def test_a_source_suspect_run_after_run_is_broken_and_staff_are_told(db_url: str, tmp_path: Path) -> None:
    with SmtpSink() as sink, ReplayServer() as srv:
        route = srv.add(Route("/calls.json", [Reply(200, json.dumps(ROWS).encode(), JSON)]))
        app = make_app(db_url, tmp_path / "data", scrape={"broken_after": 3},
                       mail={"transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": sink.port,
                             "staff_addresses": ["ops@lac.example.org"]})
        app.clock = lambda: NOW
        try:
            job = SourceJob("esa", JsonListScraper("esa", srv.base_url))
            assert run_jobs(app.store, job)["esa"].outcome == "ok"
            route.replies = [Reply(200, b"[]", JSON)]  # from now on: an empty list, run after run, no error
            reports = [run_jobs(app.store, job, clock=NOW + timedelta(days=i + 1))["esa"] for i in range(3)]
            assert [r.outcome for r in reports] == ["suspect"] * 3
            assert [r.broken for r in reports] == [False, False, True]
            notice = report_broken_sources(app)
            assert notice is not None and notice.ok, notice
            (message,) = sink.handler.parsed()
            assert "esa" in str(message["Subject"]) and "3 runs failed or suspect" in message.get_content()
            since, notified = app.store.source_states()["esa"]
            assert since is not None and notified is not None
        finally:
            app.close()


GROUP = CalltrackerGroup(name="calltracker", params=cli.params, callback=cli.callback,
                         commands={"scrape": scrape_command})


def test_scrape_records_broken_state_like_run_once(config_file: Path, db_url: str) -> None:
    with ReplayServer() as srv:  # every path answers 404
        text = config_file.read_text(encoding="utf-8")
        config_file.write_text(text + '[http]\nmin_delay = 0.0\nallow_loopback = true\n'
                               f'[scrape]\nbroken_after = 2\n[sources.eu_ft]\nbase_url = "{srv.base_url}"\n',
                               encoding="utf-8")
        for _ in range(2):
            result = CliRunner().invoke(GROUP, ["--config", str(config_file), "scrape", "eu_ft"])
            assert result.exit_code == 1 and "HTTP 404" in result.stdout
    assert "BROKEN after 2" in result.stderr
    app = make_app(db_url, config_file.parent / "data")
    try:
        since, _ = app.store.source_states()["eu_ft"]
        assert since is not None, "broken_since must be set when the source is broken"
    finally:
        app.close()


def test_scrape_of_a_refused_host_says_the_connection_failed(config_file: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(text + '[http]\nmin_delay = 0.0\nallow_loopback = true\nmax_retries = 0\n'
                           f'[sources.eu_ft]\nbase_url = "http://127.0.0.1:{port}"\n', encoding="utf-8")
    result = CliRunner().invoke(GROUP, ["--config", str(config_file), "scrape", "eu_ft"])
    assert result.exit_code == 1
    assert "connection failed" in result.stdout and "robots" not in result.stdout, result.stdout


# -- defect 7: a lock or a running row left by a killed process is taken over -------------------------------

def test_a_lock_of_a_dead_process_on_this_host_is_taken_over(store: Store) -> None:
    dead = f"{socket.gethostname()}:{dead_pid()}:deadbeef"
    alive = f"{socket.gethostname()}:{__import__('os').getpid()}:cafecafe"
    elsewhere = "another-host:1:cafecafe"
    assert holder_is_gone(dead) and not holder_is_gone(alive) and not holder_is_gone(elsewhere)
    for holder in (alive, elsewhere):
        assert store.acquire_job_lock("scrape", holder, NOW, 3600)
        assert not store.acquire_job_lock("scrape", "me", NOW + timedelta(seconds=1), 3600,
                                          holder_gone=holder_is_gone)
        assert store.release_job_lock("scrape", holder)
    assert store.acquire_job_lock("scrape", dead, NOW, 3600)
    with job_lock(store, "scrape", "me", 3600, lambda: NOW + timedelta(seconds=1)) as lease:
        assert lease is not None and store.job_locks()[0]["holder"] == "me"


def test_run_once_after_a_kill_runs_instead_of_skipping(db_url: str, tmp_path: Path) -> None:
    app = make_app(db_url, tmp_path / "data")
    try:
        assert app.store.acquire_job_lock("scrape", f"{socket.gethostname()}:{dead_pid()}:0", app.clock(), 3600)
        result = make_runner(app, {"scrape": lambda a: "scraped"}).run("scrape")
        assert (result.skipped, result.summary) == (False, "scraped")
    finally:
        app.close()


def test_a_running_row_of_a_dead_process_is_closed_by_the_next_run(store: Store) -> None:
    gone = store.start_run("esa", NOW, holder=f"{socket.gethostname()}:{dead_pid()}:0")
    live = store.start_run("eu_ft", NOW, holder="another-host:1:0")
    store.start_run("esa", NOW + timedelta(hours=1), holder="me")
    store.start_run("eu_ft", NOW + timedelta(hours=1), holder="me")
    runs = {r.id: r for r in store.runs(limit=10)}
    assert runs[gone].outcome == "interrupted" and "is gone" in (runs[gone].error or "")
    assert runs[live].outcome == "running", "a holder on another host is alive until proven otherwise"
    assert store.consecutive_failures("esa") == 0


# -- issue 14: re-scrapes skip fresh details; status shows how old they are ---------------------------------

def test_status_shows_how_old_each_sources_details_are(config_file: Path) -> None:
    demo = Path(__file__).resolve().parent.parent / "calltracker" / "data" / "replay" / "eu_ft"
    with ReplayServer(load_manifest(demo)) as srv:
        text = config_file.read_text(encoding="utf-8")
        config_file.write_text(text + '[http]\nmin_delay = 0.0\nallow_loopback = true\n'
                               f'[sources.eu_ft]\nbase_url = "{srv.base_url}"\n', encoding="utf-8")
        assert CliRunner().invoke(GROUP, ["--config", str(config_file), "scrape", "eu_ft"]).exit_code == 0
    result = CliRunner().invoke(cli, ["--config", str(config_file), "status", "--json"])
    assert result.exit_code == 0, result.output
    sources = {s["source"]: s for s in json.loads(result.stdout)["sources"]}
    assert sources["eu_ft"]["details_age_hours"] is not None and sources["eu_ft"]["details_age_hours"] < 1
    assert sources["esa"]["details_age_hours"] is None  # never scraped
    table = CliRunner().invoke(cli, ["--config", str(config_file), "status"])
    assert "DETAILS_AGE" in table.stdout and "0.0 h" in table.stdout


def test_run_once_killed_mid_scrape_is_not_skipped_on_the_rerun(config_file: Path, db_url: str,
                                                                 tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    base = {k: v for k, v in os.environ.items() if not k.startswith("CALLTRACKER_")}
    base["PYTHONPATH"] = str(root)
    command = [sys.executable, "-m", "tests.opsjobs", "scrape=SCRAPE", "--", "--config", str(config_file), "run-once",
               "--only", "scrape"]
    app = make_app(db_url, tmp_path / "data")
    try:
        slow = [part.replace("SCRAPE", "slow_scrape") for part in command]
        proc = subprocess.Popen(slow, cwd=root, env=base, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            assert proc.stdout is not None
            started = wait_for_line(proc.stdout, b"slow_scrape: started", 30)  # its run row and lock exist
            assert started and proc.poll() is None and app.store.job_locks(), "the scrape job never started"
        finally:
            proc.kill()
            proc.wait(30)
            proc.stdout.close()
        assert app.store.job_locks(), "a killed process leaves its lock behind"
        quick = [part.replace("SCRAPE", "record_scrape") for part in command]
        rerun = subprocess.run(quick, cwd=root, env=base, capture_output=True, text=True, timeout=60)
        assert rerun.returncode == 0, rerun.stderr
        assert rerun.stdout.startswith("scrape: ok: scrape: 3 sources"), rerun.stdout
        assert app.store.job_locks() == []
    finally:
        app.close()
