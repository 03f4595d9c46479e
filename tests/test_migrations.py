from __future__ import annotations

import uuid
import warnings
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from calltracker import migrate
from calltracker.storage import make_engine, metadata, schema_state


def test_migrations_and_models_agree(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine, db_url)
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLite's reflection skips expression indexes, and so does the comparison there (with a warning);
        # test_migrations_and_models_create_the_same_indexes compares them from the catalog instead.
        for message in (r"Skipped unsupported reflection of expression-based index ix_calls_identifier_lower$",
                        r"autogenerate skipping metadata-specified expression-based index 'ix_calls_identifier_lower'"):
            warnings.filterwarnings("ignore", message)
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == []


def _index_definitions(conn: Connection, table: str) -> dict[str, str]:
    """The table's indexes as the database itself records them, expression indexes included."""
    if conn.dialect.name == "sqlite":
        rows = conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t "
                                    "AND sql IS NOT NULL"), {"t": table})
        return {name: sql for name, sql in rows}
    schema = conn.scalar(sa.text("SELECT current_schema()"))
    rows = conn.execute(sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                                "AND tablename = :t"), {"t": table})
    return {name: definition.replace(f" {schema}.", " ") for name, definition in rows}


def test_migrations_and_models_create_the_same_indexes(db_url: str, tmp_path: Path) -> None:
    """metadata.create_all and the migrations index `calls` alike, ix_calls_identifier_lower included (which
    the comparison above cannot see on SQLite)."""
    engine = make_engine(db_url)
    migrate.upgrade(engine, db_url)
    with engine.connect() as conn:
        migrated = _index_definitions(conn, "calls")
    engine.dispose()
    if db_url.startswith("sqlite"):
        created_engine = make_engine(f"sqlite:///{tmp_path / 'created.sqlite3'}")
        with created_engine.begin() as conn:
            metadata.create_all(conn)
            created = _index_definitions(conn, "calls")
    else:  # another schema of the same database
        created_engine = make_engine(db_url)
        schema = f"c_{uuid.uuid4().hex[:12]}"
        with created_engine.connect() as conn:
            try:
                with conn.begin():
                    conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
                    conn.execute(sa.text(f'SET LOCAL search_path = "{schema}"'))
                    metadata.create_all(conn)
                    created = _index_definitions(conn, "calls")
            finally:
                with conn.begin():
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    created_engine.dispose()
    assert created == migrated
    assert "ix_calls_identifier" not in migrated
    assert "lower" in migrated["ix_calls_identifier_lower"].lower()
    assert "identifier" in migrated["ix_calls_identifier_lower"]


def test_migration_0012_swaps_the_identifier_index_and_back(db_url: str) -> None:
    from alembic import command

    engine = make_engine(db_url)
    cfg = migrate.alembic_config(db_url)

    def migrate_to(revision: str, down: bool = False) -> dict[str, str]:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, revision)
        with engine.connect() as conn:
            return _index_definitions(conn, "calls")

    before = migrate_to("0011_title_keys_per_day")
    after = migrate_to("0012_identifier_lower_index")
    assert "ix_calls_identifier" in before and "ix_calls_identifier_lower" not in before
    assert "ix_calls_identifier" not in after and "lower" in after["ix_calls_identifier_lower"].lower()
    assert migrate_to("0011_title_keys_per_day", down=True) == before
    engine.dispose()


def test_upgrade_is_idempotent_and_reports_revision(db_url: str) -> None:
    engine = make_engine(db_url)
    before, after = migrate.upgrade(engine, db_url)
    assert before is None
    again_before, again_after = migrate.upgrade(engine, db_url)
    assert again_before == again_after == after == migrate.head_revision(db_url)
    assert schema_state(engine) == (after, True)
    engine.dispose()
