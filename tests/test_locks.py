from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from calltracker.locks import job_lock
from calltracker.storage import Store, make_engine

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def test_a_held_lock_keeps_a_second_holder_out(store: Store) -> None:
    assert store.acquire_job_lock("scrape", "a", NOW, 60)
    assert not store.acquire_job_lock("scrape", "b", NOW + timedelta(seconds=59), 60)
    assert not store.acquire_job_lock("scrape", "a", NOW, 60), "not re-entrant"
    assert store.acquire_job_lock("digest", "b", NOW, 60), "locks are per job"
    assert [(r["name"], r["holder"]) for r in store.job_locks()] == [("digest", "b"), ("scrape", "a")]


def test_an_expired_lock_is_taken_over(store: Store) -> None:
    assert store.acquire_job_lock("scrape", "dead-host:1", NOW, 60)
    assert store.acquire_job_lock("scrape", "b", NOW + timedelta(seconds=61), 60)
    assert store.job_locks()[0]["holder"] == "b"
    assert not store.renew_job_lock("scrape", "dead-host:1", NOW + timedelta(seconds=62), 60)


def test_only_the_holder_releases_or_renews(store: Store) -> None:
    store.acquire_job_lock("scrape", "a", NOW, 60)
    assert not store.release_job_lock("scrape", "b")
    assert store.renew_job_lock("scrape", "a", NOW + timedelta(seconds=50), 60)
    assert not store.acquire_job_lock("scrape", "b", NOW + timedelta(seconds=100), 60), "renewed until 110 s"
    assert store.release_job_lock("scrape", "a")
    assert store.acquire_job_lock("scrape", "b", NOW + timedelta(seconds=100), 60)


def test_racing_instances_get_the_lock_exactly_once(db_url: str, store: Store) -> None:
    stores = [Store(make_engine(db_url)) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    won: list[str] = []

    def contend(i: int) -> None:
        barrier.wait()
        if stores[i].acquire_job_lock("scrape", f"h{i}", NOW, 60):
            won.append(f"h{i}")

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert len(won) == 1
    assert store.job_locks()[0]["holder"] == won[0]


def test_a_long_job_keeps_its_lock_by_renewing_the_lease(store: Store) -> None:
    def clock() -> datetime:
        return datetime.now(UTC)

    kept_out = []
    with job_lock(store, "scrape", "long", 0.6, clock) as lease:
        assert lease is not None
        for _ in range(5):  # 1.5 s, well past the 0.6 s lease
            time.sleep(0.3)
            kept_out.append(not store.acquire_job_lock("scrape", "other", clock(), 0.6))
        assert not lease.lost.is_set()
    assert all(kept_out)
    assert store.job_locks() == [], "released at the end"


def test_a_lock_taken_over_is_reported_lost(store: Store) -> None:
    def clock() -> datetime:
        return datetime.now(UTC)

    with job_lock(store, "scrape", "slow", 0.6, clock) as lease:
        assert lease is not None
        store.release_job_lock("scrape", "slow")  # as if the lease had expired...
        assert store.acquire_job_lock("scrape", "other", clock(), 60)  # ...and another instance took it
        assert lease.lost.wait(2)
    assert store.job_locks()[0]["holder"] == "other", "the new holder's lock is left alone"


def test_a_taken_lock_yields_none(store: Store) -> None:
    store.acquire_job_lock("digest", "other", datetime.now(UTC), 60)
    with job_lock(store, "digest", "me", 60, lambda: datetime.now(UTC)) as lease:
        assert lease is None
    assert store.job_locks()[0]["holder"] == "other"
