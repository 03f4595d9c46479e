"""Sending what the outbox holds: claim, hand the stored bytes to the transport, record the outcome.

`send_digests` and `send_alerts` prepare (delivery.prepare) and write the first messages to the outbox,
then send what is queued; the rest are prepared and written while the mail server reads what it was sent
(`_Backlog`, the transport's `meanwhile`). Every message is in the outbox before it can be sent.

Per message the sender makes one commit: it records the outcomes of the messages sent before (sent,
failed, retry) and claims the next one as "sending", while the server reads its MAIL FROM and before its
DATA (the transport's `before_data`). A sender killed mid-send therefore
leaves at most one delivery "sending" (in doubt: the server may or may not have it); every delivery the
server accepted before is recorded, except the one whose acceptance was not yet committed, which is the
same single in-doubt delivery. After the claim lease it is settled by `mail.in_doubt` (see README,
"Delivery guarantees"): resent with the same Message-ID (default), or held as in_doubt for staff.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from calltracker.bootstrap import App
from calltracker.delivery.prepare import (
    DeliveryReport,
    current_period,
    parse_period,
    prepare_alerts,
    prepare_digests,
)
from calltracker.digest import TemplateSet
from calltracker.errors import DeliveryError, TransportError
from calltracker.mailer import Transport, build_transport
from calltracker.storage import DueDelivery, NewDelivery, Outcome, Store

log = logging.getLogger(__name__)

#: A claim older than this is presumed abandoned (its sender died) and may be taken over.
CLAIM_LEASE = timedelta(minutes=15)
#: Waits after the 1st, 2nd... temporary failure: about 15 hours in all, then the delivery fails.
RETRY_DELAYS = (timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=45), timedelta(hours=2),
                timedelta(hours=4), timedelta(hours=8))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
_BATCH = 200
#: Prepared messages written to the outbox before sending starts (and whenever the sender runs dry).
FIRST_CHUNK = 50
#: While sending, prepared messages are written this many at a time, and sent messages' bytes dropped so.
#: Small, so each step is short: the sender reads the server's answer only between two steps (writing two
#: takes about 1 ms, eight about 2.5 ms, while the server spends about 2 ms on a digest).
CHUNK = 2
DROP_STEP = 4


def send_digests(app: App, period: str | None = None, cluster: str | None = None, *, dry_run: bool = False,
                 transport: Transport | None = None, templates: TemplateSet | None = None) -> DeliveryReport:
    """Prepare this period's digests for every receiving member (of one cluster) and send what is pending.

    Running it twice for a period sends nothing the second time; pending retries of earlier periods are
    sent too. With `dry_run` nothing is written or sent: `report.planned` lists what would be.
    """
    started = time.monotonic()
    now = app.clock()
    period = parse_period(period) if period else current_period(now, app.settings.schedule.timezone)
    report = DeliveryReport(kind="digest", period=period, dry_run=dry_run)
    rows = prepare_digests(app, period, cluster, report, templates=templates)
    _queue_and_send(app, "digest", rows, report, now=now, dry_run=dry_run, transport=transport)
    report.seconds = time.monotonic() - started
    log.info("%s", report.line(), extra={"summary": True})  # commands print it (cli.context.SummaryFilter)
    return report


def send_alerts(app: App, *, dry_run: bool = False, transport: Transport | None = None,
                templates: TemplateSet | None = None) -> DeliveryReport:
    """Queue and send today's deadline reminders (digest.alert_lead_days); each reminder goes out once."""
    started = time.monotonic()
    report = DeliveryReport(kind="alerts", dry_run=dry_run)
    rows = prepare_alerts(app, report, templates=templates)
    _queue_and_send(app, "alert", rows, report, now=app.clock(), dry_run=dry_run, transport=transport)
    report.seconds = time.monotonic() - started
    log.info("%s", report.line(), extra={"summary": True})  # commands print it (cli.context.SummaryFilter)
    return report


def _queue_and_send(app: App, kind: str, rows: Iterator[NewDelivery], report: DeliveryReport, *,
                    now: datetime, dry_run: bool, transport: Transport | None) -> None:
    """Write the first prepared messages to the outbox, then send what is queued while preparing the rest.

    The rest are built while the mail server reads what it was sent (`_Backlog`), in the one thread:
    preparing them in a second thread was measured slower, not faster (bench/bench_digest.py, ratio
    0.42-0.50 against 0.61-0.67 in the same run), as the sender waits for the server several times per
    message and each time needed the GIL back from the busy preparing thread.
    """
    if dry_run:
        for _ in rows:
            pass
        return
    backlog = _Backlog(app.store, rows, now)
    backlog.fill(FIRST_CHUNK)
    deliver_pending(app, kind, report, transport=transport, backlog=backlog)


class _Backlog:
    """Work the sender does while the mail server reads what it was sent (`send_bytes`'s `meanwhile`):
    building the next messages and writing them to the outbox CHUNK at a time, then dropping the stored
    bytes of sent messages DROP_STEP at a time. A message is always in the outbox before it can be sent.

    One small step per call; it says whether there is more to do, so the transport calls it again while the
    server is still busy with the message (`mailer.SmtpTransport`). A step never raises: its error is kept,
    and the sender raises it once the message in flight has its outcome (`check`).
    """

    def __init__(self, store: Store, rows: Iterator[NewDelivery] | None, now: datetime) -> None:
        self.store, self.rows, self.now = store, rows, now
        self.built: list[NewDelivery] = []
        self.sent: list[int] = []  # deliveries recorded as sent whose bytes are still stored
        self.error: Exception | None = None

    @property
    def preparing(self) -> bool:
        return self.rows is not None or bool(self.built)

    def _build(self, chunk: int) -> int:
        """Build one more message; write what was built once there are `chunk` or nothing is left to build."""
        row = next(self.rows, None) if self.rows is not None else None
        if row is None:
            self.rows = None
        else:
            self.built.append(row)
        if self.built and (len(self.built) >= chunk or self.rows is None):
            rows, self.built = self.built, []
            self.store.add_deliveries(rows, self.now)
            return len(rows)
        return 0

    def fill(self, count: int) -> None:
        """Build and write messages until `count` more are in the outbox or none are left to build."""
        written = 0
        while self.preparing and written < count:
            written += self._build(count - written)

    def step(self) -> bool:
        """One step of work; whether more is left."""
        if self.error is not None:
            return False
        try:
            if self.preparing:
                self._build(CHUNK)
            elif self.sent:
                ids, self.sent = self.sent[:DROP_STEP], self.sent[DROP_STEP:]
                self.store.drop_finished_messages(ids)
        except Exception as exc:  # raised by the sender after the message in flight (see `check`)
            self.error = exc
            return False
        return self.preparing or bool(self.sent)

    def check(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error


class _NotClaimedError(Exception):
    """Another sender holds the delivery: it is not sent by this one."""


class _Claim:
    """`before_data` of one delivery: one commit records the outcomes of the messages sent before and
    claims this one as "sending" with a conditional UPDATE; if no row changed, the message is not sent."""

    def __init__(self, store: Store, delivery_id: int, worker: str, now: datetime, done: list[Outcome]) -> None:
        self.store, self.delivery_id, self.worker, self.now, self.done = store, delivery_id, worker, now, done
        self.ran = False
        self.claimed = False

    def __call__(self) -> None:
        self.ran = True
        self.claimed = self.store.start_delivery(self.delivery_id, self.worker, self.now, lease=CLAIM_LEASE,
                                                 finished=self.done)
        self.done.clear()
        if not self.claimed:
            raise _NotClaimedError(self.delivery_id)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def deliver_pending(app: App, kind: str | None, report: DeliveryReport, *, transport: Transport | None = None,
                    on_sent: Callable[[int], None] | None = None, backlog: _Backlog | None = None) -> DeliveryReport:
    """Claim and send every pending delivery of `kind` that is due, a batch at a time. Deliveries a dead
    sender left in doubt are settled first. `backlog` holds messages still to be prepared and queued."""
    store = app.store
    worker = _worker_name()
    backlog = backlog or _Backlog(store, None, app.clock())
    settled = store.resolve_in_doubt(app.clock(), lease=CLAIM_LEASE, resend=app.settings.mail.in_doubt == "resend")
    if settled:
        report.in_doubt += len(settled)
        log.warning("%d deliveries were in doubt after an interrupted send: %s", len(settled),
                    "resending them with the same Message-ID" if app.settings.mail.in_doubt == "resend"
                    else "held for staff as in_doubt")
    seen: set[int] = set()
    done: list[Outcome] = []  # outcomes not yet committed: they go with the next claim
    with transport or build_transport(app.settings) as tx:
        try:
            while True:
                batch = [d for d in store.due_deliveries(kind, app.clock(), lease=CLAIM_LEASE, limit=_BATCH)
                         if d.id not in seen]
                if not batch:
                    if backlog.preparing:
                        backlog.fill(FIRST_CHUNK)
                        continue
                    break
                seen.update(d.id for d in batch)
                if not _send_batch(app, batch, worker, tx, done, report, on_sent, backlog):
                    backlog.fill(sys.maxsize)  # the server is away: queue everything for the next run
                    return report
                store.finish_deliveries(worker, done)
                done.clear()
                backlog.sent.extend(d.id for d in batch)
        finally:
            store.finish_deliveries(worker, done)
    store.drop_finished_messages()
    return report


def _send_batch(app: App, batch: list[DueDelivery], worker: str, tx: Transport, done: list[Outcome],
                report: DeliveryReport, on_sent: Callable[[int], None] | None, backlog: _Backlog) -> bool:
    """Send one batch; False when the transport is down (the batch stops, the rest stays queued)."""
    store = app.store
    gone = [d.id for d in batch if not d.receives_mail]
    if gone:
        report.cancelled += len(store.cancel_deliveries(gone, app.clock(), lease=CLAIM_LEASE,
                                                        reason="member no longer receives mail"))
    for d in batch:
        if not d.receives_mail:
            continue
        claim = _Claim(store, d.id, worker, app.clock(), done)
        try:
            tx.send_bytes(d.payload["from"], d.payload["to"], _message(d), before_data=claim, meanwhile=backlog.step)
        except _NotClaimedError:
            continue  # another sender has it
        except TransportError as exc:
            if claim.claimed:
                store.release_delivery(d.id, worker)
            report.deferred += 1
            report.errors.append(str(exc))
            log.warning("%s: stopping this batch, pending deliveries stay queued", exc)
            return False
        except DeliveryError as exc:
            if not claim.ran:  # refused before the claim (the connection failed): the attempt still counts
                try:
                    claim()
                except _NotClaimedError:
                    continue
            done.append(_failure(d, exc, app.clock(), report))
            backlog.check()
            continue
        done.append(Outcome(d.id, "sent", app.clock(), payload=_slim(d.payload)))
        report.sent += 1
        if on_sent is not None:
            on_sent(d.id)
        backlog.check()
    return True


def _failure(d: DueDelivery, exc: DeliveryError, now: datetime, report: DeliveryReport) -> Outcome:
    attempts = d.attempts + 1
    error = " ".join(str(exc).split())[:1000]
    if exc.permanent or attempts >= MAX_ATTEMPTS:
        reason = error if exc.permanent else f"gave up after {attempts} attempts: {error}"
        report.failed += 1
        report.errors.append(reason)
        log.warning("delivery %s failed: %s", d.id, reason)
        return Outcome(d.id, "failed", now, error=reason)
    report.retrying += 1
    log.info("delivery %s will be retried: %s", d.id, error)
    return Outcome(d.id, "pending", now, error=error, retry_at=now + RETRY_DELAYS[attempts - 1])


def _message(d: DueDelivery) -> bytes:
    # Deliveries queued before the messages had their own table carry them in the payload.
    return d.message if d.message is not None else str(d.payload["eml"]).encode("utf-8")


def _slim(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """What stays of a delivered message: who and which calls, not the whole body (None: nothing to drop)."""
    return {k: v for k, v in payload.items() if k != "eml"} if "eml" in payload else None
