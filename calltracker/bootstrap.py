"""The composition root: build the application's adapters from settings. Nothing else wires adapters."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from calltracker.config import Settings
from calltracker.errors import ConfigError
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


#: Shorter keys are refused: a truncated or empty key file would sign links anyone can forge.
MIN_KEY_BYTES = 32


def signing_key(settings: Settings) -> str:
    """The key that signs member links: from config/env, else one generated once and kept in the data folder.

    Generating it keeps the outbox default working anywhere; a deployment with several hosts must set
    CALLTRACKER_SIGNING_KEY so they agree. The file is written atomically (temporary file, fsync, rename),
    so a full disk or a kill during the first start never leaves a short key; a key file that is short
    anyway (damaged, edited) is refused with one line, never replaced or used silently.
    """
    if settings.web.signing_key:
        return settings.web.signing_key
    path = Path(settings.data_dir) / "signing.key"
    key = _read_key_file(path)
    if key is None:
        try:
            key = _new_key_file(path)
        except FileExistsError:  # another process made it meanwhile: use theirs
            key = _read_key_file(path)
    assert key is not None
    return key


def _read_key_file(path: Path) -> str | None:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the signing key {path}: {getattr(exc, 'strerror', None) or exc}") from None
    size = len(key.encode("utf-8"))
    if size < MIN_KEY_BYTES:
        raise ConfigError(f"signing key {path} is {size} bytes, at least {MIN_KEY_BYTES} are needed: delete it to "
                          "generate a new one (links already sent stop working) or set CALLTRACKER_SIGNING_KEY")
    return key


def _new_key_file(path: Path) -> str:
    """A new key, written atomically: temporary file, fsync, then linked into place (fails if one exists)."""
    key = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing.key.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(key + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, path)  # an atomic rename that never replaces a key another process made
        finally:
            os.unlink(tmp)
        _fsync_dir(path.parent)
    except FileExistsError:
        raise
    except OSError as exc:
        raise ConfigError(f"cannot write the signing key {path}: {exc.strerror}") from None
    return key


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def http_policy(settings: Settings) -> HttpPolicy:
    """`[http]` -> HttpPolicy."""
    h = settings.http
    return HttpPolicy(user_agent=h.user_agent, timeout=h.timeout, max_retries=h.max_retries,
                      retry_max_wait=h.retry_max_wait, min_delay=h.min_delay, per_host_concurrency=h.concurrency,
                      max_response_bytes=h.max_response_bytes, max_redirects=h.max_redirects,
                      respect_robots=h.respect_robots)


def build_http(settings: Settings) -> HttpClient:
    """The one HTTP client (use it as a context manager so its connections are closed)."""
    return HttpClient(http_policy(settings))


def build_app(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> App:
    return App(settings=settings, store=open_store(settings), clock=clock)
