from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from calltracker.bootstrap import App
from calltracker.healthcheck import Healthcheck
from calltracker.jobs import JOB_NAMES, JobResult, StopToken, normalise
from tests.opsjobs import make_app, make_runner


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[App]:
    a = make_app(db_url, tmp_path / "data")
    yield a
    a.close()


@dataclass
class Outcome:
    failed: int
    summary: str


def test_normalise_reads_what_jobs_return() -> None:
    assert normalise(None, "x").ok
    assert not normalise(False, "x").ok
    assert normalise(Outcome(0, "2 sent"), "digest") == JobResult(True, "2 sent", Outcome(0, "2 sent"))
    assert not normalise(Outcome(2, "2 failed"), "digest").ok
    assert not normalise({"ok": False, "summary": "no"}, "x").ok
    assert not normalise({"failed": ["esa"]}, "scrape").ok
    assert normalise({"failed": []}, "scrape").ok
    mixed = normalise([{"outcome": "ok"}, {"outcome": "failed"}], "scrape")
    assert not mixed.ok and "1 failed" in mixed.summary


def test_normalise_reads_the_pipelines_source_reports() -> None:
    from calltracker.pipeline import SourceReport

    good = SourceReport("eu_ft", "ok", seen=412, new=9, failed=2)  # two bad items do not fail the source
    bad = SourceReport("esa", "failed", error="HTTP 503")
    assert normalise(good, "scrape").ok
    assert normalise(good, "scrape").summary.startswith("eu_ft: 412 seen, 9 new")
    both = normalise([good, bad], "scrape")
    assert not both.ok and both.summary == "scrape: 2 done, 1 failed (esa)"


def test_a_job_runs_under_its_lock_and_releases_it(app: App) -> None:
    seen_locks: list[list[str]] = []

    def job(a: App) -> str:
        seen_locks.append([r["name"] for r in a.store.job_locks()])
        return "fine"

    result = make_runner(app, ({"scrape": job}), stop=StopToken(), after={}).run("scrape")
    assert result.ok and result.summary == "fine"
    assert seen_locks == [["scrape"]]
    assert app.store.job_locks() == []


def test_a_crashing_job_is_a_failed_result_and_frees_the_lock(app: App, caplog: pytest.LogCaptureFixture) -> None:
    def job(a: App) -> None:
        raise ValueError("bad page")

    result = make_runner(app, ({"scrape": job}), stop=StopToken(), after={}).run("scrape")
    assert not result.ok and "ValueError: bad page" in result.summary
    assert app.store.job_locks() == []
    assert "job scrape: FAILED" in caplog.text


def test_an_unknown_job_fails_without_raising(app: App) -> None:
    result = make_runner(app, {"scrape": lambda a: None}, stop=StopToken(), after={}).run("digest")
    assert not result.ok and "no such job (known: scrape)" in result.summary


def test_a_second_runner_is_kept_out_while_the_first_runs(app: App, db_url: str, tmp_path: Path) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(a: App) -> None:
        started.set()
        release.wait(10)

    other_app = make_app(db_url, tmp_path / "data")
    first = make_runner(app, ({"scrape": slow}), stop=StopToken(), after={})
    second = make_runner(other_app, ({"scrape": slow}), stop=StopToken(), after={})
    results: list[JobResult] = []
    t = threading.Thread(target=lambda: results.append(first.run("scrape")))
    t.start()
    try:
        assert started.wait(10)
        kept_out = second.run("scrape")
    finally:
        release.set()
        t.join()
        other_app.close()
    assert kept_out.skipped and kept_out.ok
    assert results[0].ok and not results[0].skipped


def test_jobs_that_ask_for_it_get_the_stop_token(app: App) -> None:
    token = StopToken()
    items_done: list[int] = []

    def job(a: App, stop: StopToken) -> dict[str, Any]:
        for i in range(10):
            if stop.stopped:
                break
            items_done.append(i)
            if i == 2:
                token.stop()  # as the SIGTERM handler would, mid-job
        return {"ok": True, "summary": f"{len(items_done)} items"}

    result = make_runner(app, ({"scrape": job}), stop=token, after={}).run("scrape")
    assert result.summary == "3 items" and items_done == [0, 1, 2]
    assert make_runner(app, ({"scrape": job}), stop=token, after={}).run("scrape").skipped


def test_the_composition_root_builds_every_job_in_run_order_without_dotted_names(app: App) -> None:
    from calltracker import jobs
    from calltracker.bootstrap import build_jobs, build_runner

    built = build_jobs(app)
    assert tuple(built) == JOB_NAMES == ("scrape", "alerts", "digest")
    assert all(callable(job) for job in built.values())
    runner = build_runner(app, stop=StopToken())
    assert tuple(runner.jobs) == JOB_NAMES and runner.store is app.store and runner.clock is app.clock
    assert not hasattr(jobs, "ENV_JOBS") and not hasattr(jobs, "resolve"), "no jobs named by dotted strings"


# --- health-check pings against a real local server ------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    pings: list[tuple[str, str, str]]
    delay: float = 0.0

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        time.sleep(self.delay)
        parts = urlsplit(self.path)
        self.pings.append((parts.path, parse_qs(parts.query).get("rid", [""])[0], body))
        try:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"OK")
        except OSError:
            pass  # the client gave up waiting

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the default stderr log
        pass


@pytest.fixture
def hc_server() -> Iterator[tuple[str, type[_Recorder]]]:
    handler = type("Handler", (_Recorder,), {"pings": [], "delay": 0.0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/ping/abc", handler
    server.shutdown()
    server.server_close()


def test_healthcheck_is_pinged_at_start_and_success(app: App, hc_server: tuple[str, Any]) -> None:
    url, handler = hc_server
    runner = make_runner(app, ({"digest": lambda a: "digest: 4 sent"}), stop=StopToken(),
                       healthcheck=Healthcheck(url), after={})
    assert runner.run("digest").ok
    paths = [p for p, _, _ in handler.pings]
    assert paths == ["/ping/abc/start", "/ping/abc"]
    rids = {rid for _, rid, _ in handler.pings}
    assert len(rids) == 1 and rids != {""}
    assert handler.pings[1][2] == "digest: 4 sent"


def test_healthcheck_is_told_of_a_failure(app: App, hc_server: tuple[str, Any]) -> None:
    url, handler = hc_server

    def broken(a: App) -> None:
        raise RuntimeError("smtp down")

    runner = make_runner(app, ({"alerts": broken}), stop=StopToken(), healthcheck=Healthcheck(url), after={})
    assert not runner.run("alerts").ok
    assert [p for p, _, _ in handler.pings] == ["/ping/abc/start", "/ping/abc/fail"]
    assert "smtp down" in handler.pings[1][2]


def test_a_slow_or_dead_healthcheck_never_fails_the_job(app: App, hc_server: tuple[str, Any]) -> None:
    url, handler = hc_server
    handler.delay = 3.0
    table = ({"scrape": lambda a: None})
    slow = make_runner(app, table, stop=StopToken(), healthcheck=Healthcheck(url, timeout=0.3), after={})
    began = time.monotonic()
    assert slow.run("scrape").ok
    assert time.monotonic() - began < 2.5, "two pings, each cut off at the timeout"

    dead = make_runner(app, table, stop=StopToken(), healthcheck=Healthcheck("http://127.0.0.1:9/hc", timeout=0.3),
                     after={})
    assert dead.run("scrape").ok
