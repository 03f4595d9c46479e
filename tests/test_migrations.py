from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from calltracker import migrate
from calltracker.storage import make_engine, metadata, schema_state


def test_migrations_and_models_agree(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine, db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_is_idempotent_and_reports_revision(db_url: str) -> None:
    engine = make_engine(db_url)
    before, after = migrate.upgrade(engine, db_url)
    assert before is None
    again_before, again_after = migrate.upgrade(engine, db_url)
    assert again_before == again_after == after == migrate.head_revision(db_url)
    assert schema_state(engine) == (after, True)
    engine.dispose()
