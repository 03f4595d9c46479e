"""The composition root: build the application's adapters from settings. Nothing else wires adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from calltracker.config import Settings
from calltracker.migrate import ensure_current
from calltracker.storage import Store


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    store: Store
    clock: Callable[[], datetime] = field(default=utc_now)

    def close(self) -> None:
        self.store.close()


def open_store(settings: Settings, *, check_schema: bool = True) -> Store:
    """The Store for the configured database; a brand-new database is created at the newest schema."""
    store = Store.from_url(settings.database_url(), echo=settings.database.echo)
    if check_schema:
        ensure_current(store.engine, settings.database_url())
        store.ensure_default_clusters()
        store.ensure_sources({name: src.type for name, src in settings.sources.items()}, utc_now())
    return store


def build_app(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> App:
    return App(settings=settings, store=open_store(settings), clock=clock)
