"""Engines and schema state."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import (
    create_engine,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from calltracker.errors import StorageError, one_line, redact_urls
from calltracker.storage.schema import metadata

log = logging.getLogger(__name__)

def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An Engine for the URL, with SQLite set up for concurrent readers and enforced foreign keys."""
    try:
        if url.startswith("sqlite"):
            from pathlib import Path

            from sqlalchemy.engine import make_url

            database = make_url(url).database
            if database and database != ":memory:":
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, echo=echo)
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(url, echo=echo, pool_pre_ping=True)
    except ImportError as exc:
        hint = " (install the PostgreSQL driver: pip install -e '.[postgres]')" if "psycopg" in str(exc) else ""
        raise StorageError(f"database.url: cannot use {redact_urls(repr(url))}: {redact_urls(str(exc))}{hint}") \
            from None
    except ArgumentError as exc:
        raise StorageError(f"database.url: cannot use {redact_urls(repr(url))}: {redact_urls(str(exc))}") from None
    except OSError as exc:
        raise StorageError(f"database.url: cannot create the database folder for {redact_urls(repr(url))}: "
                           f"{exc}") from None


# Deliveries are claimed and finished once per message sent: built once, these skip the statement


# --- schema management -----------------------------------------------------------------------------------


def schema_state(engine: Engine) -> tuple[str | None, bool]:
    """(current alembic revision or None, whether the database has any calltracker table)."""
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            revision = None
            if "alembic_version" in tables:
                revision = conn.scalar(select(func.max(_alembic_version_column())))
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot open the database: {one_line(getattr(exc, 'orig', None) or exc)}") from None
    return revision, bool(tables & set(metadata.tables))


def _alembic_version_column() -> Any:
    from sqlalchemy import column, table

    return table("alembic_version", column("version_num")).c.version_num


