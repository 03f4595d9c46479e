"""What a job lock costs: acquire + release, and one lease renewal, on SQLite and PostgreSQL.

Usage: python bench/bench_job_locks.py [POSTGRES_URL]   (default: the local test server)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calltracker import migrate  # noqa: E402
from calltracker.storage import Store, make_engine  # noqa: E402

ROUNDS = 300


def measure(url: str) -> tuple[float, float]:
    engine = make_engine(url)
    migrate.upgrade(engine, url)
    store = Store(engine)
    cycle, renew = [], []
    for i in range(ROUNDS):
        t0 = time.perf_counter()
        assert store.acquire_job_lock("bench", f"h{i}", datetime.now(UTC), 60)
        t1 = time.perf_counter()
        store.renew_job_lock("bench", f"h{i}", datetime.now(UTC), 60)
        t2 = time.perf_counter()
        store.release_job_lock("bench", f"h{i}")
        t3 = time.perf_counter()
        cycle.append((t1 - t0) + (t3 - t2))
        renew.append(t2 - t1)
    store.close()
    return statistics.median(cycle) * 1000, statistics.median(renew) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        acquire_release, renew = measure(f"sqlite:///{tmp}/bench.sqlite3")
        print(f"sqlite:     acquire+release {acquire_release:.2f} ms, renew {renew:.2f} ms (median of {ROUNDS})")
    pg = sys.argv[1] if len(sys.argv) > 1 else "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    import sqlalchemy as sa

    schema = f"bench_locks_{int(time.time())}"
    admin = sa.create_engine(pg)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = sa.make_url(pg).update_query_dict({"options": f"-csearch_path={schema}"})
        acquire_release, renew = measure(url.render_as_string(hide_password=False))
        print(f"postgresql: acquire+release {acquire_release:.2f} ms, renew {renew:.2f} ms (median of {ROUNDS})")
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
