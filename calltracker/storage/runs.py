"""Sources, scrape runs and page memos."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import RowMapping

from calltracker.holders import holder_is_gone
from calltracker.storage.base import Repo
from calltracker.storage.bounds import bounded_etag, bounded_last_modified, clean_json, clean_text
from calltracker.storage.schema import (
    PageMemoRow,
    ScrapeRunRow,
    SourceRow,
)
from calltracker.storage.sql import upsert
from calltracker.views import (
    PageMemo,
    RunView,
)

log = logging.getLogger(__name__)

#: A `running` row with no holder older than this is taken to be left by a dead process.
STALE_RUNNING = timedelta(days=1)
#: Run outcomes that count towards a source being broken.
FAILING_OUTCOMES = frozenset({"failed", "suspect"})

class RunsRepo(Repo):
    # -- sources and runs --------------------------------------------------------------------------------

    def ensure_sources(self, names: Mapping[str, str], now: datetime) -> None:
        """Make sure a row exists for each configured source (name -> type)."""
        with self._tx() as conn:
            existing = set(conn.scalars(select(SourceRow.name)))
            rows = [{"name": n, "type": t, "created_at": now} for n, t in names.items() if n not in existing]
            if rows:  # ON CONFLICT: a concurrent scrape may add the same source meanwhile
                conn.execute(upsert(conn, SourceRow).on_conflict_do_nothing(index_elements=[SourceRow.name]), rows)

    def start_run(self, source: str, started_at: datetime, *, holder: str | None = None) -> int:
        """Open a `running` row; first close as `interrupted` the source's running rows whose process is gone.

        Gone: it ran on this host and its PID no longer exists, or it has no holder and started more than
        STALE_RUNNING ago (rows written before holders were recorded).
        """
        self.ensure_sources({source: "coded"}, started_at)
        with self._tx() as conn:
            stale = [r for r in conn.execute(select(ScrapeRunRow.id, ScrapeRunRow.holder, ScrapeRunRow.started_at)
                                             .where(ScrapeRunRow.source == source,
                                                    ScrapeRunRow.outcome == "running"))
                     if (holder_is_gone(r.holder) if r.holder else r.started_at < started_at - STALE_RUNNING)]
            for r in stale:
                conn.execute(update(ScrapeRunRow).where(ScrapeRunRow.id == r.id, ScrapeRunRow.outcome == "running")
                             .values(outcome="interrupted", finished_at=started_at,
                                     error=f"interrupted: the process that ran it ({r.holder or 'unknown'}) "
                                           "is gone; its calls were saved as they came"))
            if stale:
                log.warning("%s: %d run(s) left running by a process that is gone marked interrupted",
                            source, len(stale))
            run_id = conn.execute(
                insert(ScrapeRunRow).values(source=source, started_at=started_at, outcome="running",
                                            http_stats={}, holder=holder).returning(ScrapeRunRow.id)
            ).scalar_one()
        return int(run_id)

    def finish_run(self, run_id: int, *, outcome: str, finished_at: datetime, seen: int = 0, new: int = 0,
                   changed: int = 0, unchanged: int = 0, failed: int = 0,
                   http_stats: Mapping[str, Any] | None = None, error: str | None = None) -> None:
        with self._tx() as conn:
            conn.execute(update(ScrapeRunRow).where(ScrapeRunRow.id == run_id).values(
                outcome=outcome, finished_at=finished_at, seen=seen, new=new, changed=changed,
                unchanged=unchanged, failed=failed, http_stats=dict(http_stats or {}), error=error))

    def runs(self, source: str | None = None, limit: int = 20) -> list[RunView]:
        stmt = select(ScrapeRunRow).order_by(ScrapeRunRow.started_at.desc(), ScrapeRunRow.id.desc()).limit(limit)
        if source:
            stmt = stmt.where(ScrapeRunRow.source == source)
        with self._tx() as conn:
            return [_run_view(r) for r in conn.execute(stmt).mappings()]

    def last_runs(self) -> dict[str, RunView]:
        """The latest finished-or-running run of every source."""
        latest = (select(ScrapeRunRow.source, func.max(ScrapeRunRow.id).label("id"))
                  .group_by(ScrapeRunRow.source).subquery())
        stmt = select(ScrapeRunRow).join(latest, ScrapeRunRow.id == latest.c.id)
        with self._tx() as conn:
            return {r["source"]: _run_view(r) for r in conn.execute(stmt).mappings()}

    def last_good_seen(self, source: str) -> int | None:
        stmt = (select(ScrapeRunRow.seen).where(ScrapeRunRow.source == source, ScrapeRunRow.outcome == "ok")
                .order_by(ScrapeRunRow.id.desc()).limit(1))
        with self._tx() as conn:
            return conn.scalar(stmt)

    def consecutive_failures(self, source: str) -> int:
        """Failed or suspect runs since the last ok one (stopped, interrupted and running runs do not count).

        A suspect run (far fewer calls than the last good run, e.g. 0) counts: a source that keeps
        returning nothing is broken even though no request failed.
        """
        stmt = (select(ScrapeRunRow.outcome).where(ScrapeRunRow.source == source,
                                                   ScrapeRunRow.outcome != "running")
                .order_by(ScrapeRunRow.id.desc()).limit(200))
        count = 0
        with self._tx() as conn:
            for outcome in conn.scalars(stmt):
                if outcome == "ok":
                    break
                if outcome in FAILING_OUTCOMES:
                    count += 1
        return count

    def set_source_broken(self, source: str, *, since: datetime | None, notified_at: datetime | None) -> None:
        with self._tx() as conn:
            conn.execute(update(SourceRow).where(SourceRow.name == source)
                         .values(broken_since=since, broken_notified_at=notified_at))

    def source_states(self) -> dict[str, tuple[datetime | None, datetime | None]]:
        """name -> (broken_since, broken_notified_at)."""
        with self._tx() as conn:
            return {r.name: (r.broken_since, r.broken_notified_at) for r in conn.execute(select(SourceRow))}

    # -- page memos (conditional requests) ---------------------------------------------------------------

    def get_page_memo(self, key: str) -> PageMemo | None:
        with self._tx() as conn:
            row = conn.execute(select(PageMemoRow).where(PageMemoRow.key == key)).mappings().first()
        if row is None:
            return None
        return PageMemo(url=row["url"], etag=row["etag"], last_modified=row["last_modified"],
                        content_hash=row["content_hash"], memo=row["memo"] or {}, fetched_at=row["fetched_at"])

    def page_ages(self) -> dict[str, tuple[datetime, datetime, int]]:
        """Per source: (oldest, newest) time one of its remembered pages was fetched, and how many there are.

        The oldest is how stale the source's detail pages may be: under an unchanged listing they are only
        fetched again once older than the refresh age (scrape.detail_refresh_hours).
        """
        out: dict[str, tuple[datetime, datetime, int]] = {}
        with self._tx() as conn:
            for key, at in conn.execute(select(PageMemoRow.key, PageMemoRow.fetched_at)):
                source = key.partition(":")[0]
                known = out.get(source)
                out[source] = (at, at, 1) if known is None else (min(known[0], at), max(known[1], at), known[2] + 1)
        return out

    def touch_page_memo(self, key: str, *, etag: str | None, last_modified: str | None, now: datetime) -> None:
        """An unchanged page checked again: new validators and fetch time, the memo itself untouched."""
        with self._tx() as conn:
            conn.execute(update(PageMemoRow).where(PageMemoRow.key == key).values(
                etag=etag, last_modified=last_modified, fetched_at=now))

    def put_page_memo(self, key: str, memo: PageMemo, now: datetime | None = None) -> None:
        # Bounded at the edge: an ETag too long to keep is dropped (the content hash still decides).
        values = {"url": clean_text(memo.url), "etag": bounded_etag(memo.etag),
                  "last_modified": bounded_last_modified(memo.last_modified),
                  "content_hash": memo.content_hash, "memo": clean_json(dict(memo.memo)),
                  "fetched_at": now or datetime.now(UTC)}
        with self._tx() as conn:  # ON CONFLICT: two scrapes at once may remember the same page
            stmt = upsert(conn, PageMemoRow).values(key=key, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=[PageMemoRow.key],
                                                    set_={k: stmt.excluded[k] for k in values}))



def _run_view(r: RowMapping) -> RunView:
    return RunView(id=r["id"], source=r["source"], started_at=r["started_at"], finished_at=r["finished_at"],
                   outcome=r["outcome"], seen=r["seen"], new=r["new"], changed=r["changed"],
                   unchanged=r["unchanged"], failed=r["failed"], http_stats=r["http_stats"] or {},
                   error=r["error"])

