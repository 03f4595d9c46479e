"""Shared fixtures. Database tests run on SQLite and on PostgreSQL (the `postgres` marker).

PostgreSQL tests use CALLTRACKER_TEST_PG_URL (default: the local server, database `test`). Each test gets
its own schema, so tests never see each other's rows. Outside CI an unreachable server skips them with a
message; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from calltracker import migrate
from calltracker.storage import Store, make_engine

PG_URL = os.environ.get("CALLTRACKER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FIXTURES = Path(__file__).parent / "fixtures"


def _pg_available() -> str | None:
    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return str(exc).splitlines()[0]
    return None


_PG_PROBLEM: list[str | None] = []


def require_postgres() -> None:
    if not _PG_PROBLEM:
        _PG_PROBLEM.append(_pg_available())
    problem = _PG_PROBLEM[0]
    if problem is None:
        return
    message = (f"PostgreSQL not reachable at {PG_URL} ({problem}); start it or set CALLTRACKER_TEST_PG_URL "
               "to run the postgres tests (`.ci/run` starts it)")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for an empty database, once per engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'calltracker.sqlite3'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A Store on a migrated, empty database (SQLite and PostgreSQL)."""
    engine = make_engine(db_url)
    migrate.upgrade(engine, db_url)
    s = Store(engine)
    s.ensure_default_clusters()
    yield s
    s.close()


@pytest.fixture
def config_file(tmp_path: Path, db_url: str) -> Path:
    """A config file pointing at the test database and a temporary outbox."""
    path = tmp_path / "calltracker.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[database]\nurl = "{db_url}"\n'
        f'[mail]\noutbox_dir = "{tmp_path / "outbox"}"\n',
        encoding="utf-8",
    )
    return path
