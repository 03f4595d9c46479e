"""Scraping service: run sources end to end through two ports, a store and a fetcher.

Each source runs in its own thread and its own error boundary: it writes one scrape-run row (outcome
ok | failed | suspect, counts, HTTP statistics, error) and one INFO log line, and a failing source never
stops the others. Pages whose content did not change (304, or the same bytes as last time) are not
parsed and cause no writes: the page memo remembers which calls they yielded (counted as seen and
unchanged) and which follow-up requests they asked for (still made). Nothing is ever closed because a
fetch failed or a source shrank; calls close only when their source says so or their last deadline passes.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from calltracker.domain import ScrapedCall
from calltracker.errors import ParseError, ShrinkError, SourceError, StoppedError
from calltracker.http import Fetched, HostLimits, HttpStats, Validators
from calltracker.scraping import Page, Part, Request, Scraper
from calltracker.storage import FieldChange, PageMemo, QuarantinedRecord, SaveResult

log = logging.getLogger(__name__)


class StorePort(Protocol):
    """What the pipeline needs from storage (calltracker.storage.Store provides it)."""

    def start_run(self, source: str, started_at: datetime) -> int: ...

    def finish_run(self, run_id: int, *, outcome: str, finished_at: datetime, seen: int, new: int, changed: int,
                   unchanged: int, failed: int, http_stats: dict[str, Any], error: str | None) -> None: ...

    def save_calls(self, source: str, calls: Sequence[ScrapedCall], *, run_id: int | None,
                   now: datetime) -> SaveResult: ...

    def close_expired(self, now: datetime) -> int: ...

    def last_good_seen(self, source: str) -> int | None: ...

    def consecutive_failures(self, source: str) -> int: ...

    def get_page_memo(self, key: str) -> PageMemo | None: ...

    def put_page_memo(self, key: str, memo: PageMemo) -> None: ...


class Fetcher(Protocol):
    """The HTTP seam (calltracker.http.HttpClient provides it)."""

    def fetch(self, request: Request, *, validators: Validators | None = None, limits: HostLimits | None = None,
              stats: HttpStats | None = None) -> Fetched: ...


@dataclass(frozen=True, slots=True)
class SourceJob:
    """One source to run: its scraper and its own politeness (None: the [http] defaults).

    Give `factory` instead of `scraper` to build the scraper inside the source's error boundary (a
    scraper that cannot be imported or configured then fails its own run, not the whole sweep).
    """

    name: str
    scraper: Scraper | None = None
    limits: HostLimits | None = None
    factory: Callable[[], Scraper] | None = None

    def build(self) -> Scraper:
        if self.scraper is not None:
            return self.scraper
        if self.factory is None:
            raise ValueError(f"source job {self.name} has neither a scraper nor a factory")
        return self.factory()


@dataclass(frozen=True, slots=True)
class Progress:
    source: str
    pages: int
    calls: int
    pending: int


@dataclass(frozen=True, slots=True)
class SourceReport:
    source: str
    outcome: str  # ok | failed | suspect
    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    seconds: float = 0.0
    error: str | None = None
    http_stats: Mapping[str, Any] = field(default_factory=dict)
    consecutive_failures: int = 0
    broken: bool = False
    changes: Sequence[FieldChange] = ()
    run_id: int | None = None
    quarantined: Sequence[QuarantinedRecord] = ()  # records storage could not keep (kept raw, see `status`)

    def line(self) -> str:
        text = (f"{self.source}: {self.seen} seen, {self.new} new, {self.changed} changed, {self.failed} failed "
                f"in {self.seconds:.1f}s")
        if self.quarantined:
            text += f", {len(self.quarantined)} quarantined"
        if self.outcome != "ok":
            text += f" -- {self.outcome.upper()}: {self.error}"
        return text


@dataclass
class _Harvest:
    """What one source's pages gave so far, and what has been written of it.

    Calls are saved page by page while the source waits out its politeness delay, so storing costs no
    wall time and a crash keeps what was already parsed. Upserting before the run's verdict is safe: a
    failed or suspect run stores its calls too, and nothing is ever closed or deleted because of a run.
    """

    pending: dict[str, ScrapedCall] = field(default_factory=dict)
    pending_memos: list[tuple[str, PageMemo]] = field(default_factory=list)
    saved_rank: dict[str, int] = field(default_factory=dict)
    seen_ids: set[str] = field(default_factory=set)
    new_ids: set[int] = field(default_factory=set)
    changed_ids: set[int] = field(default_factory=set)
    changes: list[FieldChange] = field(default_factory=list)
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    incomplete: bool = False  # a page without a fallback failed: some calls may be missing
    pages: int = 0

    def add(self, call: ScrapedCall) -> None:
        """Keep the richest record of an id: a poorer duplicate is not written over a richer one."""
        self.seen_ids.add(call.external_id)
        rank = richness(call)
        known = self.pending.get(call.external_id)
        if known is not None and richness(known) >= rank:
            return
        if self.saved_rank.get(call.external_id, -1) >= rank:
            return
        self.pending[call.external_id] = call


def richness(call: ScrapedCall) -> int:
    try:
        return sum(1 for v in call.comparable().values() if v not in (None, "", [], ()))
    except (ValueError, OverflowError):  # a hostile record (a date out of range): storage quarantines it
        return 0


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- page memos: request keys and serialised follow-ups ------------------------------------------------


def request_key(source: str, request: Request) -> str:
    """A stable key for what a request asks (method, URL, parameters, body), scoped to its source."""
    digest = hashlib.sha256()
    for piece in (request.method.upper(), request.url, json.dumps(sorted((request.params or {}).items())),
                  json.dumps(sorted((request.form or {}).items())), json.dumps(request.json_body, sort_keys=True,
                                                                               default=str)):
        digest.update(piece.encode())
        digest.update(b"\0")
    for part in request.parts:
        digest.update(f"{part.name}\0{part.filename}\0{part.content_type}\0".encode() + part.content + b"\0")
    return f"{source}:{digest.hexdigest()[:48]}"


def request_to_json(request: Request) -> dict[str, Any]:
    return {
        "url": request.url, "method": request.method, "params": dict(request.params or {}) or None,
        "form": dict(request.form) if request.form is not None else None,
        "parts": [[p.name, base64.b64encode(p.content).decode(), p.content_type, p.filename] for p in request.parts],
        "json_body": request.json_body, "headers": dict(request.headers), "callback": request.callback,
        "meta": dict(request.meta), "conditional": request.conditional,
        "fallback_ids": [c.external_id for c in request.fallback],
    }


def request_from_json(data: Mapping[str, Any]) -> tuple[Request, tuple[str, ...]]:
    request = Request(
        url=data["url"], method=data["method"], params=data.get("params"), form=data.get("form"),
        parts=tuple(Part(name, base64.b64decode(content), ctype, filename)
                    for name, content, ctype, filename in data.get("parts") or []),
        json_body=data.get("json_body"), headers=data.get("headers") or {}, callback=data.get("callback", "parse"),
        meta=data.get("meta") or {}, conditional=bool(data.get("conditional", True)),
    )
    return request, tuple(data.get("fallback_ids") or ())


def parser_fingerprint(scraper: Scraper) -> str:
    """Changes when the scraper's code changes, so a fixed parser re-reads unchanged pages."""
    cls = type(scraper)
    try:
        source = inspect.getsource(inspect.getmodule(cls) or cls)
    except (OSError, TypeError):
        source = cls.__qualname__
    return hashlib.sha256(source.encode()).hexdigest()[:16]


# --- the service ---------------------------------------------------------------------------------------


class Pipeline:
    """Runs sources concurrently (one thread each); politeness per host lives in the fetcher."""

    def __init__(self, store: StorePort, fetcher: Fetcher, *, clock: Callable[[], datetime] = utc_now,
                 shrink_ratio: float = 0.5, broken_after: int = 3,
                 should_stop: Callable[[], bool] | None = None) -> None:
        self.store = store
        # Checked before each request: on SIGTERM a source finishes the pages in flight, saves them, and stops.
        self.should_stop = should_stop or (lambda: False)
        self.fetcher = fetcher
        self.clock = clock
        self.shrink_ratio = shrink_ratio
        self.broken_after = broken_after
        self._store_lock = threading.Lock()  # one writer at a time: SQLite prefers it, and counts stay exact

    def run(self, jobs: Sequence[SourceJob], *, dry_run: bool = False,
            on_progress: Callable[[Progress], None] | None = None) -> list[SourceReport]:
        """Run every job; return one report per job, in order. Closes calls whose last deadline passed."""
        if not jobs:
            return []
        with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="source") as pool:
            futures = [pool.submit(self.run_source, job, dry_run=dry_run, on_progress=on_progress) for job in jobs]
            reports = [f.result() for f in futures]
        if not dry_run:
            with self._store_lock:
                closed = self.store.close_expired(self.clock())
            if closed:
                log.info("%d calls closed: their last deadline has passed", closed)
        return reports

    def run_source(self, job: SourceJob, *, dry_run: bool = False,
                   on_progress: Callable[[Progress], None] | None = None) -> SourceReport:
        """One source inside its error boundary. Never raises for the source's own failures."""
        started = self.clock()
        t0 = time.monotonic()
        stats = HttpStats()
        run_id: int | None = None
        try:
            if not dry_run:
                with self._store_lock:
                    run_id = self.store.start_run(job.name, started)
            harvest = self._collect(job, stats, run_id, dry_run=dry_run, on_progress=on_progress)
            report = self._conclude(job, harvest, stats, run_id, dry_run=dry_run, seconds=time.monotonic() - t0)
        except Exception as exc:  # noqa: BLE001 - the error boundary: record any failure, let other sources run
            if not isinstance(exc, SourceError):
                log.exception("%s: unexpected error", job.name)
            outcome = "stopped" if isinstance(exc, StoppedError) else "failed"
            report = self._finish(job, run_id, outcome=outcome, seconds=time.monotonic() - t0, stats=stats,
                                  error=f"{type(exc).__name__}: {exc}", dry_run=dry_run)
        (log.info if report.outcome == "ok" else log.warning)("%s", report.line())
        if report.broken:
            log.error("%s is broken: %d failed runs in a row", job.name, report.consecutive_failures)
        return report

    # -- collecting -------------------------------------------------------------------------------------

    def _collect(self, job: SourceJob, stats: HttpStats, run_id: int | None, *, dry_run: bool,
                 on_progress: Callable[[Progress], None] | None) -> _Harvest:
        harvest = _Harvest()
        scraper = job.build()
        fingerprint = parser_fingerprint(scraper)
        frontier: deque[tuple[Request, tuple[str, ...]]] = deque((r, ()) for r in scraper.start_requests())
        workers = max(1, job.limits.concurrency if job.limits and job.limits.concurrency else 1)
        in_flight: dict[Future[Fetched], tuple[Request, tuple[str, ...], PageMemo | None]] = {}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{job.name}-fetch") as pool:
            while (frontier and not self.should_stop()) or in_flight:
                while frontier and len(in_flight) < workers and not self.should_stop():
                    request, fallback_ids = frontier.popleft()
                    memo = None
                    if not dry_run and request.conditional:
                        with self._store_lock:
                            memo = self.store.get_page_memo(request_key(job.name, request))
                    validators = Validators(memo.etag, memo.last_modified) if memo else None
                    future = pool.submit(self.fetcher.fetch, request, validators=validators, limits=job.limits,
                                         stats=stats)
                    in_flight[future] = (request, fallback_ids, memo)
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    request, fallback_ids, memo = in_flight.pop(future)
                    follow = self._handle(job, scraper, request, fallback_ids, memo, future, harvest, stats,
                                          fingerprint)
                    frontier.extend(follow)
                    harvest.pages += 1
                    if not dry_run:
                        self._flush(job, harvest, run_id)
                    if on_progress is not None:
                        on_progress(Progress(job.name, harvest.pages, len(harvest.seen_ids),
                                             len(frontier) + len(in_flight)))
        if frontier:
            raise StoppedError(f"stopped on request with {len(frontier)} requests left; what was fetched is saved")
        return harvest

    def _flush(self, job: SourceJob, harvest: _Harvest, run_id: int | None) -> None:
        """Save the pending calls, then the memos of the pages that gave them."""
        if not harvest.pending and not harvest.pending_memos:
            return
        with self._store_lock:
            if harvest.pending:
                result = self.store.save_calls(job.name, list(harvest.pending.values()), run_id=run_id,
                                               now=self.clock())
                harvest.new_ids.update(result.new_ids)
                harvest.changed_ids.update(result.changed_ids)
                harvest.changes.extend(result.changes)
                harvest.quarantined.extend(result.quarantined)
            # Written only once the calls they stand for are stored: a memo never hides an unsaved page.
            for key, memo in harvest.pending_memos:
                self.store.put_page_memo(key, memo)
        harvest.saved_rank.update((k, richness(c)) for k, c in harvest.pending.items())
        harvest.pending.clear()
        harvest.pending_memos.clear()

    def _handle(self, job: SourceJob, scraper: Scraper, request: Request, fallback_ids: tuple[str, ...],
                memo: PageMemo | None, future: Future[Fetched], harvest: _Harvest, stats: HttpStats,
                fingerprint: str) -> list[tuple[Request, tuple[str, ...]]]:
        try:
            fetched = future.result()
        except SourceError as exc:
            harvest.failed += 1
            harvest.errors.append(str(exc))
            if request.fallback:
                for call in request.fallback:
                    harvest.add(call)
            elif fallback_ids:
                harvest.seen_ids.update(fallback_ids)
            else:
                harvest.incomplete = True
            log.warning("%s: %s", job.name, exc)
            return []
        content_hash = fetched.content_hash
        if memo is not None and memo.memo.get("parser") == fingerprint and (
                fetched.not_modified or memo.content_hash == content_hash):
            stats.add("unchanged_pages")
            harvest.seen_ids.update(memo.memo.get("calls") or ())
            return [request_from_json(r) for r in memo.memo.get("follow") or ()]
        if fetched.not_modified:  # a 304 we cannot use (no memo of that page): nothing to parse
            harvest.failed += 1
            harvest.errors.append(f"{request.url}: 304 without a remembered page")
            harvest.incomplete = True
            return []
        page = Page(request=request, url=fetched.url, status=fetched.status, body=fetched.body, text=fetched.text,
                    headers=fetched.headers, fetched_at=fetched.fetched_at)
        try:
            items = list(getattr(scraper, request.callback)(page))
        except ParseError as exc:
            harvest.failed += 1
            harvest.errors.append(f"ParseError: {exc}")
            harvest.incomplete = True
            log.warning("%s: %s", job.name, exc)
            return []
        calls = [i for i in items if isinstance(i, ScrapedCall)]
        follow: list[tuple[Request, tuple[str, ...]]] = [(i, ()) for i in items if isinstance(i, Request)]
        for call in calls:
            harvest.add(call)
        if request.conditional:
            try:
                payload = json.loads(json.dumps({
                    "parser": fingerprint, "calls": [c.external_id for c in calls],
                    "follow": [request_to_json(r) for r, _ in follow]}))
            except (TypeError, ValueError):
                payload = None  # a follow-up's meta is not JSON: always parse this page
            if payload is not None:
                harvest.pending_memos.append((request_key(job.name, request), PageMemo(
                    url=request.url, etag=fetched.etag, last_modified=fetched.last_modified,
                    content_hash=content_hash, memo=payload)))
        return follow

    # -- concluding -------------------------------------------------------------------------------------

    def _conclude(self, job: SourceJob, harvest: _Harvest, stats: HttpStats, run_id: int | None, *,
                  dry_run: bool, seconds: float) -> SourceReport:
        seen = len(harvest.seen_ids)
        outcome, error = "ok", None
        if harvest.incomplete:
            outcome = "failed"
            error = "; ".join(harvest.errors[:3]) + (f" (+{len(harvest.errors) - 3} more)"
                                                      if len(harvest.errors) > 3 else "")
        else:
            with self._store_lock:
                last_good = self.store.last_good_seen(job.name)
            if last_good and seen < last_good * self.shrink_ratio:
                outcome = "suspect"
                error = str(ShrinkError(f"{seen} calls against {last_good} in the last good run "
                                        f"(below {self.shrink_ratio:.0%}): the source or its layout may have changed"))
        new = len(harvest.new_ids)
        changed = len(harvest.changed_ids - harvest.new_ids)
        kept = seen - new - changed - len(harvest.quarantined)
        return self._finish(job, run_id, outcome=outcome, seconds=seconds, stats=stats, error=error, seen=seen,
                            new=new, changed=changed, unchanged=0 if dry_run else max(0, kept),
                            failed=harvest.failed, changes=harvest.changes, dry_run=dry_run,
                            quarantined=harvest.quarantined)

    def _finish(self, job: SourceJob, run_id: int | None, *, outcome: str, seconds: float, stats: HttpStats,
                error: str | None, dry_run: bool, seen: int = 0, new: int = 0, changed: int = 0, unchanged: int = 0,
                failed: int = 0, changes: Iterable[FieldChange] = (),
                quarantined: Sequence[QuarantinedRecord] = ()) -> SourceReport:
        http_stats = stats.as_dict()
        failures = 0
        if not dry_run:
            with self._store_lock:
                if run_id is not None:
                    self.store.finish_run(run_id, outcome=outcome, finished_at=self.clock(), seen=seen, new=new,
                                          changed=changed, unchanged=unchanged, failed=failed, http_stats=http_stats,
                                          error=error)
                failures = self.store.consecutive_failures(job.name)
        return SourceReport(source=job.name, outcome=outcome, seen=seen, new=new, changed=changed,
                            unchanged=unchanged, failed=failed, seconds=seconds, error=error, http_stats=http_stats,
                            consecutive_failures=failures, broken=failures >= self.broken_after,
                            changes=tuple(changes), run_id=run_id, quarantined=tuple(quarantined))
