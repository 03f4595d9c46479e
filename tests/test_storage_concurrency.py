"""Two scrapes at once (issue #12, defect 7): each writer has its own engine and connections, as two
processes would, and they save the same pages at the same moment. Both engines."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from calltracker import migrate
from calltracker.domain import Deadline, Region, Scope, ScrapedCall, Status
from calltracker.storage import CallFilter, NewClassification, PageMemo, Store, make_engine
from calltracker.storage import calls as calls_module

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ROUNDS = 12
PER_PAGE = 40


def page(round_no: int) -> list[ScrapedCall]:
    return [ScrapedCall(source=f"src{round_no % 3}", external_id=f"r{round_no}-{i}",
                        title=f"Bando {round_no}-{i}", url=f"https://bandi.example.it/{round_no}/{i}",
                        identifier=f"RLO{round_no:05d}{i:06d}", scope=Scope.REGIONAL, status=Status.OPEN,
                        regions=(Region.LOMBARDIA,), deadlines=(Deadline(datetime(2027, 3, 31, 12, tzinfo=ROME)),))
            for i in range(PER_PAGE)]


def classification(call_id: int, worker: int) -> NewClassification:
    return NewClassification(call_id=call_id, rules_version="t1", themes={"space_economy": 1.0 + worker},
                             eligible={"lombardia": True}, scope="regional", consortium="single",
                             tri_regional_fit=False, fit_score=1, fit_reason="test", fit_reason_it=None,
                             evidence={})


def test_two_scrapes_saving_the_same_pages_at_once_both_succeed(store: Store, db_url: str) -> None:
    barrier = threading.Barrier(2, timeout=60)
    errors: list[BaseException] = []
    results: dict[int, list[tuple[int, int, int]]] = {0: [], 1: []}

    def scrape(worker: int) -> None:
        own = Store(make_engine(db_url))  # its own engine and pool: another process, as far as the database sees
        try:
            for r in range(ROUNDS):
                barrier.wait()
                now = NOW + timedelta(minutes=r)
                run_id = own.start_run(f"src{r % 3}", now)
                res = own.save_calls(f"src{r % 3}", page(r), run_id=run_id, now=now)
                own.put_page_memo(f"src{r % 3}:page-{r}", PageMemo(url=f"https://bandi.example.it/{r}",
                                                                   etag=f'"{worker}-{r}"', memo={"r": r}))
                results[worker].append((len(res.new_ids), len(res.changed_ids), res.unchanged))
                ids = [v.id for v in own.find_calls(CallFilter(source=f"src{r % 3}"))]
                own.save_classifications([classification(i, worker) for i in ids], now=now)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
            barrier.abort()
        finally:
            own.close()

    threads = [threading.Thread(target=scrape, args=(w,)) for w in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == [], f"{type(errors[0]).__name__}: {errors[0]}"
    assert store.count_calls() == ROUNDS * PER_PAGE
    for r in range(ROUNDS):
        # each call of a round is new to exactly one of the two writers, and seen (not changed) by the other
        news = [results[w][r][0] for w in (0, 1)]
        assert sum(news) == PER_PAGE, (r, results[0][r], results[1][r])
        assert all(n + c + u == PER_PAGE for n, c, u in (results[0][r], results[1][r]))
        memo = store.get_page_memo(f"src{r % 3}:page-{r}")
        assert memo is not None and memo.memo == {"r": r}
    assert store.changes() == []
    assert store.calls_to_classify("t1") == []
    assert all(c.themes == ["space_economy"] for c in store.find_calls())
    # every call is findable by its own identifier once, with its link keys written once
    assert store.get_call("RLO00003000007").external_id == "r3-7"


@pytest.mark.postgres
def test_a_call_inserted_by_another_writer_after_the_lookup_is_compared_not_inserted_again(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: when another writer inserted one of a page's new calls after the page looked its calls up,
    the insert skips it (ON CONFLICT) and the other writer's call is seen, not new. (SQLite: its writer holds
    the write lock, no such race.)"""
    first, second = Store(make_engine(pg_url)), Store(make_engine(pg_url))
    try:
        migrate.upgrade(first.engine, pg_url)
        calls_page = page(0)
        first.save_calls("src0", calls_page[:1], run_id=None, now=NOW)
        real_lookup = calls_module._lookup
        looked: list[bool] = []

        def lookup_before_the_other_writer(conn: Any, source: str, ext_ids: Any, **kw: Any) -> Any:
            if not kw.get("after_insert") and not looked:  # the first lookup ran before the other writer's insert
                looked.append(True)
                return {}
            return real_lookup(conn, source, ext_ids, **kw)

        monkeypatch.setattr(calls_module, "_lookup", lookup_before_the_other_writer)
        result = second.save_calls("src0", calls_page, run_id=None, now=NOW)
        stored = {v.external_id: v for v in first.find_calls(CallFilter(source="src0"))}
    finally:
        first.close()
        second.close()
    assert looked == [True]
    assert len(result.new_ids) == PER_PAGE - 1 and result.unchanged == 1 and result.quarantined == []
    assert sorted(stored) == sorted(c.external_id for c in calls_page)
    assert stored["r0-0"].id not in result.new_ids
