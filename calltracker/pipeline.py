"""Scraping service: run sources end to end through two ports, a store and a fetcher.

Each source runs in its own thread and its own error boundary: it writes one scrape-run row (outcome
ok | failed | suspect, counts, HTTP statistics, error) and one INFO log line, and a failing source never
stops the others. Pages whose content did not change (304, or the same bytes as last time) are not
parsed and write no calls: the page memo remembers which calls they yielded (counted as seen and
unchanged) and which follow-up requests they asked for, with the calls those fall back on. Under an
unchanged page, a follow-up whose own memo is younger than the refresh age is not fetched at all.
A memo is written only after everything it stands for is saved, so a run killed at any point loses nothing
the next run does not fetch again. Nothing is ever closed because a fetch failed or a source shrank; calls
close only when their source says so or their last deadline passes.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from calltracker.domain import Document, ScrapedCall
from calltracker.errors import ParseError, ShrinkError, SourceError, StoppedError
from calltracker.holders import make_holder
from calltracker.http import Fetched, HostLimits, HttpStats, Validators
from calltracker.page_memos import (
    MEMO_VERSION,
    call_from_json,
    call_to_json,
    parser_fingerprint,
    request_from_json,
    request_key,
    request_to_json,
)
from calltracker.scraping import CallDocument, Page, Request, Scraper
from calltracker.storage import FieldChange, PageMemo, QuarantinedRecord, SaveResult

log = logging.getLogger(__name__)

DEFAULT_REFRESH_SECONDS = 24 * 3600.0


class StorePort(Protocol):
    """What the pipeline needs from storage (calltracker.storage.Store provides it)."""

    def start_run(self, source: str, started_at: datetime, *, holder: str | None = None) -> int: ...

    def finish_run(self, run_id: int, *, outcome: str, finished_at: datetime, seen: int, new: int, changed: int,
                   unchanged: int, failed: int, http_stats: dict[str, Any], error: str | None) -> None: ...

    def save_calls(self, source: str, calls: Sequence[ScrapedCall], *, run_id: int | None,
                   now: datetime) -> SaveResult: ...

    def close_expired(self, now: datetime) -> int: ...

    def last_good_seen(self, source: str) -> int | None: ...

    def consecutive_failures(self, source: str) -> int: ...

    def get_page_memo(self, key: str) -> PageMemo | None: ...

    def put_page_memo(self, key: str, memo: PageMemo, now: datetime | None = None) -> None: ...

    def touch_page_memo(self, key: str, *, etag: str | None, last_modified: str | None, now: datetime) -> None: ...

    def save_documents(self, source: str, documents: Mapping[str, Sequence[Document]], *, now: datetime) -> int: ...


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
    #: seconds before detail pages under an unchanged listing are fetched again (None: the pipeline's)
    refresh_after: float | None = None
    #: seconds the source may run (None: the pipeline's source_deadline)
    deadline: float | None = None
    #: more of what the parser depends on (e.g. the source's config table), folded into its fingerprint
    fingerprint_extra: str = ""

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


@dataclass(eq=False)
class _Node:
    """A page of this run. Its memo is written once it is settled: its calls are saved and so is every
    follow-up it asked for (their calls, or the fallbacks of those that failed, and their own memos)."""

    parent: _Node | None
    key: str | None = None
    memo: PageMemo | None = None
    unchanged: bool = False  # the memo stands as it is: only its validators and fetch time are refreshed
    outstanding: int = 0
    handled: bool = False


@dataclass
class _Harvest:
    """What one source's pages gave so far, and what has been written of it.

    Calls are saved page by page while the source waits out its politeness delay, so storing costs no
    wall time and a crash keeps what was already parsed. Upserting before the run's verdict is safe: a
    failed or suspect run stores its calls too, and nothing is ever closed or deleted because of a run.
    """

    pending: dict[str, ScrapedCall] = field(default_factory=dict)
    settled: deque[_Node] = field(default_factory=deque)  # handled pages whose follow-ups are all settled
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
    documents: dict[str, dict[str, Document]] = field(default_factory=dict)  # external id -> url -> document

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


# Re-exported: the page memo's serialisation lives in calltracker.page_memos.
__all__ = ["call_from_json", "call_to_json", "parser_fingerprint", "request_from_json", "request_key",
           "request_to_json"]


# --- the service ---------------------------------------------------------------------------------------


class Pipeline:
    """Runs sources concurrently (one thread each); politeness per host lives in the fetcher."""

    def __init__(self, store: StorePort, fetcher: Fetcher, *, clock: Callable[[], datetime] = utc_now,
                 shrink_ratio: float = 0.5, broken_after: int = 3,
                 should_stop: Callable[[], bool] | None = None, refresh_after: float = DEFAULT_REFRESH_SECONDS,
                 source_deadline: float | None = None, holder: str | None = None) -> None:
        self.store = store
        # Checked before each request: on SIGTERM a source finishes the pages in flight, saves them, and stops.
        self.should_stop = should_stop or (lambda: False)
        self.fetcher = fetcher
        self.clock = clock
        self.shrink_ratio = shrink_ratio
        self.broken_after = broken_after
        #: detail pages under an unchanged listing are not fetched again until their memo is this old
        self.refresh_after = refresh_after
        #: seconds a source may run before it stops (what was fetched is saved) and fails
        self.source_deadline = source_deadline
        #: who runs the scrape (host:pid:...): a `running` run row of a holder that is gone is taken over
        self.holder = holder or make_holder()
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
                    run_id = self.store.start_run(job.name, started, holder=self.holder)
            harvest = self._collect(job, stats, run_id, dry_run=dry_run, on_progress=on_progress)
            report = self._conclude(job, harvest, stats, run_id, dry_run=dry_run, seconds=time.monotonic() - t0)
        except Exception as exc:  # noqa: BLE001 - the error boundary: record any failure, let other sources run
            if not isinstance(exc, SourceError):
                log.exception("%s: unexpected error", job.name)
            outcome = "stopped" if isinstance(exc, StoppedError) else "failed"
            report = self._finish(job, run_id, outcome=outcome, seconds=time.monotonic() - t0, stats=stats,
                                  error=f"{type(exc).__name__}: {exc}", dry_run=dry_run)
        # `summary`: a command that prints this line itself keeps it out of its log (cli.context.SummaryFilter)
        (log.info if report.outcome == "ok" else log.warning)("%s", report.line(), extra={"summary": True})
        if report.broken:
            log.error("%s is broken: %d failed or suspect runs in a row", job.name, report.consecutive_failures)
        return report

    # -- collecting -------------------------------------------------------------------------------------

    def _limits(self, job: SourceJob, t0: float) -> HostLimits | None:
        seconds = job.deadline if job.deadline is not None else self.source_deadline
        if seconds is None:
            return job.limits
        return replace(job.limits or HostLimits(), deadline_at=t0 + seconds)

    def _fresh(self, memo: PageMemo | None, fingerprint: str, job: SourceJob) -> bool:
        """A memo recent enough that its page, under an unchanged parent, is not fetched again."""
        if memo is None or memo.fetched_at is None or memo.memo.get("parser") != fingerprint:
            return False
        age = job.refresh_after if job.refresh_after is not None else self.refresh_after
        return (self.clock() - memo.fetched_at).total_seconds() < age

    def _collect(self, job: SourceJob, stats: HttpStats, run_id: int | None, *, dry_run: bool,
                 on_progress: Callable[[Progress], None] | None) -> _Harvest:
        harvest = _Harvest()
        t0 = time.monotonic()
        limits = self._limits(job, t0)
        deadline_at = limits.deadline_at if limits is not None else None
        scraper = job.build()
        fingerprint = parser_fingerprint(scraper, job.fingerprint_extra)
        # (request, the page that asked for it, whether that page was unchanged)
        frontier: deque[tuple[Request, _Node | None, bool]] = deque((r, None, False) for r in scraper.start_requests())
        workers = max(1, job.limits.concurrency if job.limits and job.limits.concurrency else 1)
        in_flight: dict[Future[Fetched], tuple[Request, _Node, PageMemo | None]] = {}

        def stopping() -> bool:
            return self.should_stop() or (deadline_at is not None and time.monotonic() >= deadline_at)

        def enqueue(node: _Node, follow: Sequence[Request], unchanged: bool) -> None:
            node.outstanding += len(follow)
            frontier.extend((r, node, unchanged) for r in follow)
            node.handled = True
            if node.outstanding == 0:
                harvest.settled.append(node)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{job.name}-fetch") as pool:
            while (frontier and not stopping()) or in_flight:
                while frontier and len(in_flight) < workers and not stopping():
                    request, parent, parent_unchanged = frontier.popleft()
                    node = _Node(parent)
                    memo = None
                    if not dry_run and request.conditional:
                        node.key = request_key(job.name, request)
                        with self._store_lock:
                            memo = self.store.get_page_memo(node.key)
                    # A detail page (it falls back on its listing's call) under an unchanged page, checked
                    # lately, is not fetched again; a further listing page (no fallback) always is.
                    if parent_unchanged and request.fallback and self._fresh(memo, fingerprint, job):
                        assert memo is not None
                        stats.add("fresh_pages")  # not fetched: its parent is unchanged and it was checked lately
                        harvest.pages += 1
                        harvest.seen_ids.update(memo.memo.get("calls") or ())
                        enqueue(node, [request_from_json(r) for r in memo.memo.get("follow") or ()], True)
                        continue
                    usable = memo is not None and memo.memo.get("parser") == fingerprint
                    validators = Validators(memo.etag, memo.last_modified) if memo is not None and usable else None
                    future = pool.submit(self.fetcher.fetch, request, validators=validators, limits=limits,
                                         stats=stats)
                    in_flight[future] = (request, node, memo if usable else None)
                if not in_flight:
                    continue
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    request, node, memo = in_flight.pop(future)
                    follow, unchanged = self._handle(job, scraper, request, node, memo, future, harvest, stats,
                                                     fingerprint)
                    enqueue(node, follow, unchanged)
                    harvest.pages += 1
                    if not dry_run:
                        self._flush(job, harvest, run_id)
                    if on_progress is not None:
                        on_progress(Progress(job.name, harvest.pages, len(harvest.seen_ids),
                                             len(frontier) + len(in_flight)))
        if frontier:
            # Stopped early: the calls the listings already gave for pages never fetched are kept too.
            # (Their listings' memos stay unwritten, so the next run parses those listings again.)
            for request, _parent, _unchanged in frontier:
                for call in request.fallback:
                    harvest.add(call)
        if not dry_run:
            self._flush(job, harvest, run_id)
        if frontier:
            left = f"with {len(frontier)} requests left; what was fetched is saved"
            if self.should_stop():
                raise StoppedError(f"stopped on request {left}")
            seconds = (deadline_at or t0) - t0
            raise SourceError(f"source deadline of {seconds:g}s passed {left}")
        return harvest

    def _flush(self, job: SourceJob, harvest: _Harvest, run_id: int | None) -> None:
        """Save the pending calls and documents, then the memos of pages whose calls and follow-ups are saved."""
        if not harvest.pending and not harvest.settled and not harvest.documents:
            return
        with self._store_lock:
            if harvest.pending:
                result = self.store.save_calls(job.name, list(harvest.pending.values()), run_id=run_id,
                                               now=self.clock())
                harvest.new_ids.update(result.new_ids)
                harvest.changed_ids.update(result.changed_ids)
                harvest.changes.extend(result.changes)
                harvest.quarantined.extend(result.quarantined)
            if harvest.documents:
                self.store.save_documents(job.name, {k: list(v.values()) for k, v in harvest.documents.items()},
                                          now=self.clock())
                harvest.documents.clear()
            harvest.saved_rank.update((k, richness(c)) for k, c in harvest.pending.items())
            harvest.pending.clear()
            # A memo is written only once everything it stands for is stored: the page's calls, and every
            # follow-up's calls (or fallbacks) and memos. A run killed half way leaves no memo that hides a page.
            while harvest.settled:
                node = harvest.settled.popleft()
                if node.key is not None and node.memo is not None and node.unchanged:
                    self.store.touch_page_memo(node.key, etag=node.memo.etag, last_modified=node.memo.last_modified,
                                               now=self.clock())
                elif node.key is not None and node.memo is not None:
                    self.store.put_page_memo(node.key, node.memo, now=self.clock())
                parent = node.parent
                if parent is not None:
                    parent.outstanding -= 1
                    if parent.handled and parent.outstanding == 0:
                        harvest.settled.append(parent)

    def _handle(self, job: SourceJob, scraper: Scraper, request: Request, node: _Node, memo: PageMemo | None,
                future: Future[Fetched], harvest: _Harvest, stats: HttpStats,
                fingerprint: str) -> tuple[list[Request], bool]:
        """Turn one response into calls (kept in the harvest), follow-ups, and the memo to write once settled.

        Returns the follow-ups and whether the page was unchanged.
        """
        try:
            fetched = future.result()
        except SourceError as exc:
            self._failed(job, request, harvest, str(exc))
            return [], False
        content_hash = fetched.content_hash
        if memo is not None and (fetched.not_modified or memo.content_hash == content_hash):
            stats.add("unchanged_pages")
            harvest.seen_ids.update(memo.memo.get("calls") or ())
            node.unchanged = True
            node.memo = PageMemo(url=memo.url, etag=fetched.etag or memo.etag,
                                 last_modified=fetched.last_modified or memo.last_modified,
                                 content_hash=memo.content_hash, memo=memo.memo)
            return [request_from_json(r) for r in memo.memo.get("follow") or ()], True
        if fetched.not_modified:  # a 304 we cannot use (no memo of that page): nothing to parse
            self._failed(job, request, harvest, f"{request.url}: 304 without a remembered page")
            return [], False
        page = Page(request=request, url=fetched.url, status=fetched.status, body=fetched.body, text=fetched.text,
                    headers=fetched.headers, fetched_at=self.clock())  # the injected clock: scrapers judge status by it
        try:
            items = list(getattr(scraper, request.callback)(page))
        except ParseError as exc:
            # The layout changed: the source fails loudly, but the call its listing gave is kept.
            self._failed(job, request, harvest, f"ParseError: {exc}", loud=True)
            return [], False
        calls = [i for i in items if isinstance(i, ScrapedCall)]
        follow = [i for i in items if isinstance(i, Request)]
        for call in calls:
            harvest.add(call)
            for document in call.documents:  # documents may also come inline with their call
                harvest.documents.setdefault(call.external_id, {})[document.url] = document
        for found in (i for i in items if isinstance(i, CallDocument)):
            harvest.documents.setdefault(found.external_id, {})[found.document.url] = found.document
        if request.conditional:
            try:
                payload = json.loads(json.dumps({
                    "v": MEMO_VERSION, "parser": fingerprint, "calls": [c.external_id for c in calls],
                    "follow": [request_to_json(r) for r in follow]}))
            except (TypeError, ValueError):
                payload = None  # a follow-up's meta is not JSON: always parse this page
            if payload is not None:
                node.memo = PageMemo(url=request.url, etag=fetched.etag, last_modified=fetched.last_modified,
                                     content_hash=content_hash, memo=payload)
        return follow, False

    def _failed(self, job: SourceJob, request: Request, harvest: _Harvest, error: str, *, loud: bool = False) -> None:
        """A page that gave nothing: its fallback calls are kept; without any, the run is incomplete."""
        harvest.failed += 1
        harvest.errors.append(error)
        for call in request.fallback:
            harvest.add(call)
        if loud or not request.fallback:
            harvest.incomplete = True
        log.warning("%s: %s", job.name, error)

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
