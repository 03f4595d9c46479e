"""Store.save_calls throughput: new calls, then an unchanged re-save, then 10% changed; SQLite and PostgreSQL.

    python bench/bench_storage.py [--calls 10000] [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from calltracker import migrate
from calltracker.domain import Deadline, Scope, ScrapedCall, Status
from calltracker.storage import Store, make_engine

BRUSSELS = ZoneInfo("Europe/Brussels")


def calls(n: int) -> list[ScrapedCall]:
    return [ScrapedCall(source="bench", external_id=f"T-{i}", identifier=f"HORIZON-BENCH-{i}", title=f"Topic {i}",
                        url=f"https://example.org/{i}", description="text " * 200, programme="Horizon Europe",
                        scope=Scope.EU, status=Status.OPEN, budget_eur=1e6 + i,
                        deadlines=(Deadline(datetime(2027, 4, 15, 17, tzinfo=BRUSSELS)),), raw={"i": i})
            for i in range(n)]


def measure(name: str, url: str, n: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine, url)
    store = Store(engine)
    batch = calls(n)
    now = datetime(2026, 11, 25, tzinfo=UTC)
    timings = []
    for label, items in (("new", batch), ("unchanged", batch),
                         ("10% changed", [replace(c, budget_eur=2e6) if i % 10 == 0 else c
                                          for i, c in enumerate(batch)])):
        start = time.perf_counter()
        for k in range(0, n, 500):  # the pipeline saves page by page
            store.save_calls("bench", items[k:k + 500], run_id=None, now=now)
        seconds = time.perf_counter() - start
        now += timedelta(hours=1)
        timings.append(f"{label}: {n / seconds:,.0f} calls/s")
    print(f"{name:10} " + "; ".join(timings))
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args.calls)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = sa.make_url(args.pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
        measure("postgresql", url.render_as_string(hide_password=False), args.calls)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
