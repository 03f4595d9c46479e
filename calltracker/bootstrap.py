"""The composition root: build the application's adapters from settings. Nothing else wires adapters."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from calltracker.config import Settings
from calltracker.http import HttpClient, HttpPolicy
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


def signing_key(settings: Settings) -> str:
    """The key that signs member links: from config/env, else one generated once and kept in the data folder.

    Generating it keeps the outbox default working anywhere; a deployment with several hosts must set
    CALLTRACKER_SIGNING_KEY so they agree.
    """
    if settings.web.signing_key:
        return settings.web.signing_key
    path = Path(settings.data_dir) / "signing.key"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key + "\n")
        return key


def http_policy(settings: Settings) -> HttpPolicy:
    """`[http]` -> HttpPolicy."""
    h = settings.http
    return HttpPolicy(user_agent=h.user_agent, timeout=h.timeout, max_retries=h.max_retries,
                      retry_max_wait=h.retry_max_wait, min_delay=h.min_delay, per_host_concurrency=h.concurrency,
                      max_response_bytes=h.max_response_bytes, max_redirects=h.max_redirects,
                      respect_robots=h.respect_robots, request_deadline=h.request_deadline,
                      allow_loopback=h.allow_loopback)


def build_http(settings: Settings) -> HttpClient:
    """The one HTTP client (use it as a context manager so its connections are closed)."""
    return HttpClient(http_policy(settings))


def build_app(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> App:
    return App(settings=settings, store=open_store(settings), clock=clock)
