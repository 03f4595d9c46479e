"""Edge: run Alembic migrations programmatically (`calltracker db upgrade`) and check the revision."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from calltracker.errors import StorageError
from calltracker.storage import schema_state

# `calltracker/_migrations` links to the top-level migrations/ folder, so a wheel carries it too.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "_migrations"


def alembic_config(url: str) -> Config:
    if not (MIGRATIONS_DIR / "env.py").exists():
        raise StorageError(f"migrations folder not found next to the package ({MIGRATIONS_DIR.name}/)")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if head is None:
        raise StorageError("no migrations found")
    return head


def upgrade(engine: Engine, url: str) -> tuple[str | None, str]:
    """Create or upgrade the database to the newest schema. Returns (revision before, revision after)."""
    before, _ = schema_state(engine)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before, head_revision(url)


def ensure_current(engine: Engine, url: str) -> None:
    """Refuse to work on a database at another revision; a brand-new empty one is created on the spot."""
    revision, has_tables = schema_state(engine)
    head = head_revision(url)
    if revision == head:
        return
    if revision is None and not has_tables:
        upgrade(engine, url)
        return
    raise StorageError(
        f"the database is at schema revision {revision or 'unknown'}, this version needs {head}: "
        "run `calltracker db upgrade` first"
    )
