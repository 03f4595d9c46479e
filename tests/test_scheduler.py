from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from calltracker.bootstrap import App
from calltracker.config import ScheduleSettings
from calltracker.jobs import JobResult, JobRunner, StopToken
from calltracker.scheduler import build_scheduler, cron_trigger, next_runs, serve
from tests.opsjobs import make_app, make_runner

ROME = ZoneInfo("Europe/Rome")


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


class Calls:
    """A thread-safe record of (job, start, end) from real job functions."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[tuple[str, float, float]] = []

    def job(self, name: str, seconds: float = 0.0) -> Callable[[App], None]:
        def run(app: App) -> None:
            began = time.monotonic()
            time.sleep(seconds)
            with self.lock:
                self.items.append((name, began, time.monotonic()))
        return run

    def count(self, name: str) -> int:
        with self.lock:
            return sum(1 for n, _, _ in self.items if n == name)


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[App]:
    a = make_app(db_url, tmp_path / "data")
    yield a
    a.close()


def test_each_job_runs_on_its_trigger(app: App) -> None:
    calls = Calls()
    runner = make_runner(app, ({n: calls.job(n) for n in ("scrape", "alerts", "digest")}),
                       stop=StopToken(), after={})
    triggers = {n: IntervalTrigger(seconds=0.3) for n in ("scrape", "alerts", "digest")}
    scheduler = build_scheduler(runner.run, triggers, zone=ROME, misfire_grace_seconds=30)
    scheduler.start()
    try:
        assert wait_for(lambda: all(calls.count(n) >= 2 for n in ("scrape", "alerts", "digest")))
    finally:
        scheduler.shutdown(wait=True)


def test_missed_runs_are_coalesced_into_one(app: App) -> None:
    calls = Calls()
    runner = make_runner(app, ({"scrape": calls.job("scrape")}), stop=StopToken(), after={})
    start = datetime.now(UTC) + timedelta(seconds=0.3)
    # Fires at +0.3, +0.6, +0.9 and +1.2 s, then never again.
    trigger = IntervalTrigger(seconds=0.3, start_date=start, end_date=start + timedelta(seconds=0.95))
    scheduler = build_scheduler(runner.run, {"scrape": trigger}, zone=ROME, misfire_grace_seconds=30)
    scheduler.start(paused=True)  # as if the machine slept through all four
    try:
        time.sleep(1.6)
        assert calls.count("scrape") == 0
        scheduler.resume()
        assert wait_for(lambda: calls.count("scrape") >= 1)
        time.sleep(0.8)
        assert calls.count("scrape") == 1
    finally:
        scheduler.shutdown(wait=True)


def test_a_run_missed_by_more_than_the_grace_time_is_skipped(app: App) -> None:
    calls = Calls()
    runner = make_runner(app, ({"scrape": calls.job("scrape")}), stop=StopToken(), after={})
    start = datetime.now(UTC) + timedelta(seconds=0.2)
    trigger = IntervalTrigger(seconds=0.2, start_date=start, end_date=start + timedelta(seconds=0.3))
    scheduler = build_scheduler(runner.run, {"scrape": trigger}, zone=ROME, misfire_grace_seconds=1)
    scheduler.start(paused=True)
    try:
        time.sleep(2.2)  # the last run time is now more than a second late
        scheduler.resume()
        time.sleep(0.8)
        assert calls.count("scrape") == 0
    finally:
        scheduler.shutdown(wait=True)


def test_a_job_never_overlaps_itself(app: App) -> None:
    calls = Calls()
    runner = make_runner(app, ({"scrape": calls.job("scrape", 0.5)}), stop=StopToken(), after={})
    scheduler = build_scheduler(runner.run, {"scrape": IntervalTrigger(seconds=0.1)}, zone=ROME,
                                misfire_grace_seconds=30)
    scheduler.start()
    try:
        assert wait_for(lambda: calls.count("scrape") >= 3)
    finally:
        scheduler.shutdown(wait=True)
    spans = sorted((b, e) for _, b, e in calls.items)
    assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))


def test_two_instances_on_one_database_never_run_a_job_at_once(app: App, db_url: str, tmp_path: Path) -> None:
    calls = Calls()
    other_app = make_app(db_url, tmp_path / "data")
    results: list[JobResult] = []

    def recording(runner: JobRunner) -> Callable[[str], JobResult]:
        def run(name: str) -> JobResult:
            result = runner.run(name)
            results.append(result)
            return result
        return run

    runners = [make_runner(a, ({"scrape": calls.job("scrape", 0.35)}), stop=StopToken(), after={})
               for a in (app, other_app)]
    schedulers = [build_scheduler(recording(r), {"scrape": IntervalTrigger(seconds=0.2)}, zone=ROME,
                                  misfire_grace_seconds=30) for r in runners]
    for s in schedulers:
        s.start()
    try:
        assert wait_for(lambda: calls.count("scrape") >= 4 and any(r.skipped for r in results), timeout=15)
    finally:
        for s in schedulers:
            s.shutdown(wait=True)
        other_app.close()
    spans = sorted((b, e) for _, b, e in calls.items)
    assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))
    assert app.store.job_locks() == []


def test_serve_stops_after_the_running_item_when_asked(app: App) -> None:
    stop = StopToken()
    items: list[int] = []

    def job(a: App, stop: StopToken) -> None:
        for i in range(100):
            if stop.stopped:
                return
            time.sleep(0.1)
            items.append(i)

    runner = make_runner(app, ({"scrape": job}), stop=stop, after={})
    thread = threading.Thread(target=serve, args=(runner.run, {"scrape": IntervalTrigger(hours=1)}, stop),
                              kwargs={"zone": ROME, "misfire_grace_seconds": 60, "run_now": ["scrape"]})
    thread.start()
    assert wait_for(lambda: len(items) >= 3)
    stop.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert 3 <= len(items) < 100 and items == list(range(len(items)))
    assert app.store.job_locks() == []


def test_cron_weekdays_are_numbered_as_in_crontab() -> None:
    sunday = datetime(2026, 11, 29, 12, 0, tzinfo=ROME)

    def next_day(dow: str) -> str:
        fire = cron_trigger(f"0 7 * * {dow}", ROME).get_next_fire_time(None, sunday)
        return fire.strftime("%a %d")

    assert next_day("1") == "Mon 30"
    assert next_day("mon") == "Mon 30"
    assert next_day("0") == "Sun 06"
    assert next_day("7") == "Sun 06"
    assert next_day("5-6") == "Fri 04"
    assert next_day("0-2") == "Mon 30"
    assert next_day("*") == "Mon 30"


def test_next_runs_follow_the_schedule_time_zone() -> None:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # a Wednesday
    runs = next_runs(ScheduleSettings(), now)
    assert runs["digest"] == datetime(2026, 11, 30, 7, 0, tzinfo=ROME)
    assert runs["scrape"] == datetime(2026, 11, 26, 6, 0, tzinfo=ROME)
    assert runs["alerts"] == datetime(2026, 11, 26, 7, 30, tzinfo=ROME)
    summer = next_runs(ScheduleSettings(), datetime(2026, 7, 1, 3, 0, tzinfo=UTC))
    assert summer["scrape"].utcoffset() == timedelta(hours=2)
