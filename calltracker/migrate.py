"""Edge: run Alembic migrations programmatically (`calltracker db upgrade`) and check the revision."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

from calltracker.errors import StorageError
from calltracker.storage import schema_state

if TYPE_CHECKING:  # alembic costs more to import than the rest of a command: only when migrating
    from alembic.config import Config
    from sqlalchemy.engine import Engine

# `calltracker/_migrations` links to the top-level migrations/ folder, so a wheel carries it too.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "_migrations"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    if not (MIGRATIONS_DIR / "env.py").exists():
        raise StorageError(f"migrations folder not found next to the package ({MIGRATIONS_DIR.name}/)")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision(url: str) -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if head is None:
        raise StorageError("no migrations found")
    return head


def upgrade(engine: Engine, url: str) -> tuple[str | None, str]:
    """Create or upgrade the database to the newest schema. Returns (revision before, revision after)."""
    from alembic import command

    before, _ = schema_state(engine)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before, head_revision(url)


_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]+)?=\s*(.+?)\s*$", re.M)


def scanned_head() -> str | None:
    """The newest revision read from the migration files without Alembic; None unless exactly one head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            try:
                found = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                return None  # not a plain literal: let Alembic read it
            targets = found if isinstance(found, tuple | list) else [found]
            (revisions if name == "revision" else parents).update(t for t in targets if isinstance(t, str))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def ensure_current(engine: Engine, url: str) -> None:
    """Refuse to work on a database at another revision; a brand-new empty one is created on the spot."""
    revision, has_tables = schema_state(engine)
    if revision is not None and revision == scanned_head():
        return  # the usual case, decided without importing Alembic
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
