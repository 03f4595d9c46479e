"""The composition root: build the application's adapters and services from settings. Nothing else wires them.

Services get what they use through their constructors (a store, a clock, an HTTP client, settings); the jobs
the scheduler and `run-once` run are closures built here (`build_jobs`), and the clock given to `build_app`
reaches the HTTP client too, so scrapers judge "open" or "closed" at the same instant the store records.
Heavy modules are imported inside the builders: `calltracker --help` must not pay for them.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from calltracker.config import Settings
from calltracker.errors import ConfigError

if TYPE_CHECKING:
    from calltracker.http import HttpClient, HttpPolicy
    from calltracker.jobs import Job, JobResult, JobRunner, StopToken
    from calltracker.mailer import Transport
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


def _missing_database(settings: Settings, why: str) -> Exception:
    from calltracker.errors import StorageError

    where = describe_database(settings)
    return StorageError(f"no calltracker database at {where} ({why}); this command only reads, so it creates "
                        f"none: check --config / CALLTRACKER_DATABASE_URL (config: {settings.origin}), or run "
                        "`calltracker db upgrade` to create it")


def describe_database(settings: Settings) -> str:
    """The database URL without its password, for messages and `status`."""
    url = settings.database.url
    if "@" in url:
        scheme, _, rest = url.partition("://")
        creds, _, host = rest.rpartition("@")
        url = f"{scheme}://{creds.partition(':')[0]}@{host}"
    return url


def open_store(settings: Settings, *, check_schema: bool = True, create: bool = True) -> Store:
    """The Store for the configured database; a brand-new database is created at the newest schema.

    With `create=False` (read-only commands) a missing or empty database is an error naming the database in
    use, unless it is the built-in default: reading from a database that a typo just created would say
    "never run" about a system that runs fine elsewhere.
    """
    from calltracker.migrate import ensure_current
    from calltracker.storage import Store, schema_state

    may_create = create or settings.default_database
    url = settings.database_url()
    if not may_create and url.startswith("sqlite"):
        path = url.partition(":///")[2].partition("?")[0]
        if path and path != ":memory:" and not Path(path).expanduser().exists():
            raise _missing_database(settings, "the file does not exist")
    store = Store.from_url(url, echo=settings.database.echo)
    if check_schema:
        if not may_create:
            revision, has_tables = schema_state(store.engine)
            if revision is None and not has_tables:
                store.close()
                raise _missing_database(settings, "it is empty")
        ensure_current(store.engine, url)
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
    from calltracker.http import HttpPolicy

    h = settings.http
    return HttpPolicy(user_agent=h.user_agent, timeout=h.timeout, max_retries=h.max_retries,
                      retry_max_wait=h.retry_max_wait, min_delay=h.min_delay, per_host_concurrency=h.concurrency,
                      max_response_bytes=h.max_response_bytes, max_redirects=h.max_redirects,
                      respect_robots=h.respect_robots, request_deadline=h.request_deadline,
                      allow_loopback=h.allow_loopback)


def build_http(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> HttpClient:
    """The one HTTP client (use it as a context manager so its connections are closed).

    `clock` stamps each response (`fetched_at`), which is the "now" scrapers judge a call's status by.
    """
    from calltracker.http import HttpClient

    return HttpClient(http_policy(settings), clock=clock)


def build_mail_transport(settings: Settings) -> Transport:
    """The configured mail transport (SMTP or the .eml outbox); enter it to connect."""
    from calltracker.mailer import build_transport

    return build_transport(settings)


def build_app(settings: Settings, *, clock: Callable[[], datetime] = utc_now, create: bool = True) -> App:
    """Settings, store and clock for one process. `create=False` for read-only commands (see open_store)."""
    return App(settings=settings, store=open_store(settings, create=create), clock=clock)


# --- jobs ------------------------------------------------------------------------------------------------

#: Builds the job table for an App; `build_jobs` is the real one, a caller (tests, a site) may pass another.
JobsFactory = Callable[[App], "Mapping[str, Job]"]


def build_jobs(app: App) -> dict[str, Job]:
    """scrape, alerts and digest as closures over the app's settings, store and clock, in run order."""
    from calltracker.collect import scrape_and_classify
    from calltracker.delivery import send_alerts, send_digests

    def scrape(stop: StopToken) -> object:
        with build_http(app.settings, clock=app.clock) as http:
            return scrape_and_classify(app.settings, app.store, http, clock=app.clock,
                                       should_stop=lambda: stop.stopped)

    def alerts(_stop: StopToken) -> object:
        return send_alerts(app, transport=build_mail_transport(app.settings))

    def digest(_stop: StopToken) -> object:
        return send_digests(app, transport=build_mail_transport(app.settings))

    return {"scrape": scrape, "alerts": alerts, "digest": digest}


def report_broken_sources(app: App) -> JobResult | None:
    """After a scrape: record which sources broke or recovered, and tell staff (when there are any)."""
    from calltracker.errors import DeliveryError
    from calltracker.jobs import JobResult
    from calltracker.staff_notices import notify_broken_sources

    if not app.settings.mail.staff_addresses:
        notify_broken_sources(app.settings, app.store, None, app.clock())  # still records broken_since
        return None
    try:
        with build_mail_transport(app.settings) as transport:  # its connection is closed after use
            sent = notify_broken_sources(app.settings, app.store, transport, app.clock())
    except DeliveryError as exc:
        return JobResult(False, f"staff notices: not sent: {exc}")
    return JobResult(True, f"staff notices: {len(sent)} sent")


def build_runner(app: App, *, stop: StopToken, jobs: JobsFactory = build_jobs,
                 redact: Callable[[str], str] = str) -> JobRunner:
    """The JobRunner of `run` and `run-once`: the app's jobs, job locks, health-check pings, staff notices."""
    from calltracker.healthcheck import Healthcheck
    from calltracker.jobs import JobRunner

    schedule = app.settings.schedule
    return JobRunner(jobs(app), app.store, app.clock, lease_seconds=schedule.lock_lease_seconds, stop=stop,
                     healthcheck=Healthcheck(schedule.healthcheck_url, user_agent=app.settings.http.user_agent),
                     after={"scrape": lambda: report_broken_sources(app), "alerts": lambda: consortium_mail(app),
                            "digest": lambda: consortium_mail(app)},
                     redact=redact)


def consortium_mail(app: App) -> JobResult | None:
    """After alerts and digests: introductions due, and the weekly staff report (calltracker.introductions)."""
    from calltracker.introductions import consortium_mail as send

    return send(app)
