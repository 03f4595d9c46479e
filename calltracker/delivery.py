"""Service: weekly digests and deadline alerts, sent exactly once through an outbox.

1. Prepare: for each member, choose the calls (digest.py), render, build the whole message with its
   Message-ID, and write it to the outbox (deliveries, unique per member, kind and period; the bytes in
   delivery_messages) *before* it is sent. A member who already has a delivery for the period is not
   prepared again.
2. Send: a sender claims one pending delivery with a conditional UPDATE (it sends only if exactly one row
   changed), hands the stored bytes to the transport, and records the outcome: sent; failed (5xx, or out of
   attempts); or pending again with `next_attempt_at` after a backoff (4xx, connection lost). The bytes of
   sent messages are then dropped, a batch at a time.

Because the stored bytes are sent, a retry or a rerun after a crash sends the identical message, with the
same Message-ID. The residual window: a process killed after the server accepted a message but before
"sent" was recorded leaves the delivery claimed; once the claim lease (CLAIM_LEASE) expires it is sent
again. That duplicate carries the same Message-ID, so it is identifiable (and many mail systems drop it).
Nothing else is ever sent twice: a claim is exclusive and a finished delivery is never claimable again.
"""

from __future__ import annotations

import email
import email.policy
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any
from zoneinfo import ZoneInfo

from calltracker.bootstrap import App, signing_key
from calltracker.digest import (
    CardRenderer,
    DigestContent,
    MemberLike,
    Reminder,
    Rendered,
    TemplateSet,
    alert_context,
    choose_alerts,
    choose_digest,
    digest_context,
    render,
)
from calltracker.errors import DeliveryError, InputError, TransportError
from calltracker.ical import deadlines_calendar
from calltracker.mailer import Transport, build_transport
from calltracker.mailtemplates import load_templates
from calltracker.mime import Attachment, HeaderLines, fold_header, message_bytes
from calltracker.storage import CallFilter, ChangeView, DueDelivery, MemberView, NewDelivery, Store
from calltracker.tokens import make_token

log = logging.getLogger(__name__)

#: A claim older than this is presumed abandoned (its sender died) and may be taken over.
CLAIM_LEASE = timedelta(minutes=15)
#: Waits after the 1st, 2nd... temporary failure: about 15 hours in all, then the delivery fails.
RETRY_DELAYS = (timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=45), timedelta(hours=2),
                timedelta(hours=4), timedelta(hours=8))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
#: Sources whose last run is older than this were not checked "this week".
STALE_SOURCE = timedelta(days=7)
_BATCH = 200


@dataclass
class DeliveryReport:
    """What one batch did. `planned` lists (email, subject) of what was (or, in a dry run, would be) queued."""

    kind: str
    period: str | None = None
    members: int = 0
    prepared: int = 0
    skipped: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    cancelled: int = 0
    deferred: int = 0
    dry_run: bool = False
    seconds: float = 0.0
    planned: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        what = f"{self.kind} {self.period}" if self.period else self.kind
        text = (f"{what}: {self.members} members, {self.prepared} prepared, {self.skipped} skipped, "
                f"{self.sent} sent, {self.failed} failed, {self.retrying} retrying")
        if self.cancelled:
            text += f", {self.cancelled} cancelled"
        if self.deferred:
            text += f", {self.deferred} deferred (mail server unavailable)"
        return text + (" (dry run)" if self.dry_run else "") + f" in {self.seconds:.1f}s"

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "planned"} | {
            "planned": [{"email": e, "subject": s} for e, s in self.planned]}


# --- periods --------------------------------------------------------------------------------------------


def current_period(now: datetime, timezone: str = "Europe/Rome") -> str:
    """The ISO week of `now` in the scheduler's zone, as YYYY-Www."""
    year, week, _ = now.astimezone(ZoneInfo(timezone)).isocalendar()
    return f"{year}-W{week:02d}"


def parse_period(text: str) -> str:
    m = re.fullmatch(r"(\d{4})-?W(\d{2})", text.strip().upper())
    if not m:
        raise InputError(f'period: expected an ISO week like 2026-W48, got "{text}"')
    try:
        date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise InputError(f'period: no such ISO week "{text}"') from None
    return f"{m.group(1)}-W{m.group(2)}"


def wants_digest(member: MemberLike, period: str) -> bool:
    """Weekly members every week; fortnightly ones in odd ISO weeks; monthly ones in the first week whose
    Monday falls in a new month. (The web preferences offer exactly these three.)"""
    if member.frequency == "weekly":
        return True
    if member.frequency == "fortnightly":
        return int(period[6:]) % 2 == 1
    if member.frequency == "monthly":
        return date.fromisocalendar(int(period[:4]), int(period[6:]), 1).day <= 7
    return False


# --- composing messages -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Composed:
    """A finished message: its bytes, and what the outbox row and the report need to know of it."""

    subject: str
    message_id: str
    sender: str
    recipient: str
    data: bytes

    def parsed(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class Composer:
    """Builds finished messages for members: links, headers, parts and the calendar attachment.

    One composer serves one batch: what every message of the batch shares (header lines, cards, calendar
    events) is built once.
    """

    app: App
    templates: TemplateSet

    def __post_init__(self) -> None:
        mail = self.app.settings.mail
        self.key = signing_key(self.app.settings)
        self.base_url = self.app.settings.web.base_url
        self.domain = mail.from_address.rpartition("@")[2] or "localhost"
        self.sender = formataddr((mail.from_name, mail.from_address))
        self.list_id = self.app.settings.digest.list_id
        self.ics_cache: dict[tuple[int, str], bytes] = {}  # one batch, one `now`: events are shared
        self.headers = HeaderLines()
        self._cards: CardRenderer | None = None

    def cards(self, now: datetime) -> CardRenderer:
        """The batch's card renderer (cards are shared by members; a new `now` starts a new batch)."""
        if self._cards is None or self._cards.now != now:
            self._cards = CardRenderer(self.templates, now)
        return self._cards

    def links(self, member: MemberView, now: datetime) -> dict[str, str]:
        unsubscribe = make_token(self.key, "unsubscribe", member.id, member.token_version, now)
        prefs = make_token(self.key, "prefs", member.id, member.token_version, now)
        return {"unsubscribe": f"{self.base_url}/u/{unsubscribe}", "prefs": f"{self.base_url}/p/{prefs}"}

    def message_id(self, member: MemberView, kind: str, period_key: str) -> str:
        # Unique like the delivery itself (member, kind, period): a duplicate send is recognisable as such.
        return f"<{kind}.{re.sub(r'[^A-Za-z0-9-]', '.', period_key)}.{member.id}@{self.domain}>"

    def build(self, member: MemberView, *, kind: str, period_key: str, rendered: Rendered, links: Mapping[str, str],
              now: datetime, ics: bytes | None, ics_name: str) -> Composed:
        mail = self.app.settings.mail
        shared = self.headers.line
        message_id = self.message_id(member, kind, period_key)
        headers = [shared("Subject", rendered.subject), shared("From", self.sender),
                   fold_header("To", formataddr((member.name, member.email)))]
        if mail.reply_to:
            headers.append(shared("Reply-To", mail.reply_to))
        headers += [shared("Date", format_datetime(now)), fold_header("Message-ID", message_id),
                    shared("List-Id", f"calltracker <{self.list_id}>"),
                    fold_header("List-Unsubscribe",
                                f"<{links['unsubscribe']}>, <mailto:{mail.from_address}?subject=unsubscribe>"),
                    shared("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                    shared("Auto-Submitted", "auto-generated"), shared("Content-Language", member.language)]
        attachment = Attachment(ics, 'text/calendar; charset="utf-8"', ics_name) if ics else None
        return Composed(subject=rendered.subject, message_id=message_id, sender=mail.from_address,
                        recipient=member.email,
                        data=message_bytes(headers, rendered.text, rendered.html, attachment))

    def interest_url(self, member: MemberView, now: datetime) -> Callable[[int], str]:
        """The member's signed "I'm interested" link for a call: `/i/TOKEN` (see calltracker.web.interest)."""
        def url(call_id: int) -> str:
            token = make_token(self.key, "interest", member.id, member.token_version, now, subject=call_id)
            return f"{self.base_url}/i/{token}"
        return url

    def digest(self, member: MemberView, content: DigestContent, *, period: str, now: datetime,
               unchecked: Sequence[str], checked: Sequence[str] = ()) -> tuple[Composed, Rendered]:
        links = self.links(member, now)
        context = digest_context(member, content, period=period, now=now, unchecked_sources=unchecked, links=links,
                                 cards=self.cards(now), checked_sources=checked,
                                 interest_url=self.interest_url(member, now))
        rendered = render(self.templates, "digest", member.language, context)
        calls = [e.call for e in content.entries]
        ics = deadlines_calendar(calls, now=now, domain=self.list_id, language=member.language,
                                 cache=self.ics_cache) if calls else None
        name = "scadenze.ics" if member.language == "it" else "deadlines.ics"
        msg = self.build(member, kind="digest", period_key=period, rendered=rendered, links=links, now=now,
                         ics=ics, ics_name=name)
        return msg, rendered

    def alert(self, member: MemberView, reminder: Reminder, *, now: datetime) -> Composed:
        links = self.links(member, now)
        context = alert_context(member, reminder, now=now, links=links, cards=self.cards(now),
                                interest_url=self.interest_url(member, now))
        rendered = render(self.templates, "alert", member.language, context)
        ics = deadlines_calendar([reminder.call], now=now, domain=self.list_id, language=member.language,
                                 cache=self.ics_cache)
        name = "scadenza.ics" if member.language == "it" else "deadline.ics"
        return self.build(member, kind="alert", period_key=reminder.period_key, rendered=rendered, links=links,
                          now=now, ics=ics, ics_name=name)


def _outbox_row(member: MemberView, kind: str, period_key: str, msg: Composed,
                call_ids: Sequence[int]) -> NewDelivery:
    return NewDelivery(member_id=member.id, kind=kind, period_key=period_key, subject=msg.subject,
                       message_id=msg.message_id,
                       payload={"from": msg.sender, "to": [msg.recipient], "calls": list(call_ids)},
                       message=msg.data)


# --- choosing inputs from the store -------------------------------------------------------------------------


def unchecked_sources(store: Store, now: datetime) -> list[str]:
    """Sources whose latest run failed, or that have not run for a week."""
    out = []
    for name, run in sorted(store.last_runs().items()):
        failing = run.outcome == "failed" or (run.outcome != "running" and store.consecutive_failures(name) > 0)
        if failing or run.started_at < now - STALE_SOURCE:
            out.append(name)
    return out


def checked_sources(store: Store, now: datetime) -> list[str]:
    """Sources whose latest run this week went through (the digest's footer names them)."""
    unchecked = set(unchecked_sources(store, now))
    return [name for name, run in sorted(store.last_runs().items())
            if name not in unchecked and run.started_at >= now - STALE_SOURCE]


def _changes_by_call(store: Store, since: datetime | None) -> dict[int, list[ChangeView]]:
    out: dict[int, list[ChangeView]] = {}
    for ch in store.changes(since=since):
        out.setdefault(ch.call_id, []).append(ch)
    return out


@dataclass(frozen=True, slots=True)
class DigestPreview:
    member: MemberView
    content: DigestContent
    composed: Composed
    rendered: Rendered
    period: str

    @property
    def message(self) -> EmailMessage:
        return self.composed.parsed()


def preview_digest(app: App, member_ref: str, *, period: str | None = None,
                   templates: TemplateSet | None = None) -> DigestPreview:
    """Render a member's digest as it would go out now, without sending or recording anything."""
    now = app.clock()
    period = parse_period(period) if period else current_period(now, app.settings.schedule.timezone)
    member = app.store.member(member_ref)
    since = app.store.digest_cutoffs().get(member.id)
    calls = app.store.find_calls(CallFilter(open_only=True, canonical_only=True), now=now)
    content = choose_digest(member, calls, _changes_by_call(app.store, since) if since else {}, since=since,
                            now=now, closing_soon_days=app.settings.digest.closing_soon_days)
    composer = Composer(app, templates or load_templates())
    msg, rendered = composer.digest(member, content, period=period, now=now,
                                    unchecked=unchecked_sources(app.store, now),
                                    checked=checked_sources(app.store, now))
    return DigestPreview(member, content, msg, rendered, period)


# --- the batches ----------------------------------------------------------------------------------------------


def send_digests(app: App, period: str | None = None, cluster: str | None = None, *, dry_run: bool = False,
                 transport: Transport | None = None, templates: TemplateSet | None = None) -> DeliveryReport:
    """Prepare this period's digests for every receiving member (of one cluster) and send what is pending.

    Running it twice for a period sends nothing the second time; pending retries of earlier periods are
    sent too. With `dry_run` nothing is written or sent: `report.planned` lists what would be.
    """
    started = time.monotonic()
    store, settings = app.store, app.settings
    now = app.clock()
    period = parse_period(period) if period else current_period(now, settings.schedule.timezone)
    report = DeliveryReport(kind="digest", period=period, dry_run=dry_run)
    members = [m for m in store.members(cluster, receiving_only=True) if wants_digest(m, period)]
    report.members = len(members)
    done = store.delivery_keys("digest", period_keys=[period])
    todo = [m for m in members if (m.id, period) not in done]
    report.skipped += len(members) - len(todo)
    if todo:
        composer = Composer(app, templates or load_templates())
        cutoffs = store.digest_cutoffs()
        known = [cutoffs[m.id] for m in todo if m.id in cutoffs]
        changes = _changes_by_call(store, min(known)) if known else {}
        calls = store.find_calls(CallFilter(open_only=True, canonical_only=True), now=now)
        unchecked = unchecked_sources(store, now)
        checked = checked_sources(store, now)
        rows: list[NewDelivery] = []
        for member in todo:
            content = choose_digest(member, calls, changes, since=cutoffs.get(member.id), now=now,
                                    closing_soon_days=settings.digest.closing_soon_days)
            if not content.news and not settings.digest.nothing_new_note:
                report.skipped += 1
                continue
            msg, _ = composer.digest(member, content, period=period, now=now, unchecked=unchecked, checked=checked)
            report.planned.append((member.email, msg.subject))
            report.prepared += 1
            if dry_run:
                continue
            rows.append(_outbox_row(member, "digest", period, msg, [e.call.id for e in content.entries]))
            if len(rows) >= _BATCH:
                store.add_deliveries(rows, now)
                rows = []
        store.add_deliveries(rows, now)
    if not dry_run:
        deliver_pending(app, "digest", report, transport=transport)
    report.seconds = time.monotonic() - started
    log.info("%s", report.line(), extra={"summary": True})  # commands print it (cli.context.SummaryFilter)
    return report


def send_alerts(app: App, *, dry_run: bool = False, transport: Transport | None = None,
                templates: TemplateSet | None = None) -> DeliveryReport:
    """Queue and send today's deadline reminders (digest.alert_lead_days); each reminder goes out once."""
    started = time.monotonic()
    store, settings = app.store, app.settings
    now = app.clock()
    report = DeliveryReport(kind="alerts", dry_run=dry_run)
    members = store.members(receiving_only=True)
    report.members = len(members)
    calls = store.find_calls(CallFilter(open_only=True, canonical_only=True), now=now)
    due = [(m, r) for m in members for r in choose_alerts(m, calls, now=now, lead_days=settings.digest.alert_lead_days)]
    done = store.delivery_keys("alert", period_keys=sorted({r.period_key for _, r in due}))
    composer: Composer | None = None
    rows: list[NewDelivery] = []
    for member, reminder in due:
        if (member.id, reminder.period_key) in done:
            report.skipped += 1
            continue
        composer = composer or Composer(app, templates or load_templates())
        msg = composer.alert(member, reminder, now=now)
        report.planned.append((member.email, msg.subject))
        report.prepared += 1
        if not dry_run:
            rows.append(_outbox_row(member, "alert", reminder.period_key, msg, [reminder.call.id]))
    if not dry_run:
        store.add_deliveries(rows, now)
        deliver_pending(app, "alert", report, transport=transport)
    report.seconds = time.monotonic() - started
    log.info("%s", report.line(), extra={"summary": True})  # commands print it (cli.context.SummaryFilter)
    return report


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def deliver_pending(app: App, kind: str | None, report: DeliveryReport, *, transport: Transport | None = None,
                    on_sent: Callable[[int], None] | None = None) -> DeliveryReport:
    """Claim and send every pending delivery of `kind` that is due, one conditional claim at a time."""
    store = app.store
    worker = _worker_name()
    seen: set[int] = set()
    with transport or build_transport(app.settings) as tx:
        while True:
            batch = [d for d in store.due_deliveries(kind, app.clock(), lease=CLAIM_LEASE, limit=_BATCH)
                     if d.id not in seen]
            if not batch:
                break
            for d in batch:
                seen.add(d.id)
                now = app.clock()
                if not store.claim_delivery(d.id, worker, now, lease=CLAIM_LEASE):
                    continue  # another sender has it
                if not d.receives_mail:
                    store.finish_delivery(d.id, worker, status="cancelled", now=now,
                                          error="member no longer receives mail", payload=_slim(d.payload))
                    report.cancelled += 1
                    continue
                try:
                    tx.send_bytes(d.payload["from"], d.payload["to"], _message(d))
                except TransportError as exc:
                    store.release_delivery(d.id, worker)
                    report.deferred += 1
                    report.errors.append(str(exc))
                    log.warning("%s: stopping this batch, pending deliveries stay queued", exc)
                    return report
                except DeliveryError as exc:
                    _record_failure(store, d.id, worker, d.attempts + 1, exc, app.clock(), report)
                    continue
                if not store.finish_delivery(d.id, worker, status="sent", now=app.clock(), payload=_slim(d.payload)):
                    log.warning("delivery %s was sent but its claim had expired; another sender may resend it",
                                d.id)
                report.sent += 1
                if on_sent is not None:
                    on_sent(d.id)
            store.drop_finished_messages([d.id for d in batch])
    store.drop_finished_messages()
    return report


def _record_failure(store: Store, delivery_id: int, worker: str, attempts: int, exc: DeliveryError,
                    now: datetime, report: DeliveryReport) -> None:
    error = " ".join(str(exc).split())[:1000]
    if exc.permanent or attempts >= MAX_ATTEMPTS:
        reason = error if exc.permanent else f"gave up after {attempts} attempts: {error}"
        store.finish_delivery(delivery_id, worker, status="failed", now=now, error=reason)
        report.failed += 1
        report.errors.append(reason)
        log.warning("delivery %s failed: %s", delivery_id, reason)
    else:
        store.finish_delivery(delivery_id, worker, status="pending", now=now, error=error,
                              next_attempt_at=now + RETRY_DELAYS[attempts - 1])
        report.retrying += 1
        log.info("delivery %s will be retried: %s", delivery_id, error)


def _message(d: DueDelivery) -> bytes:
    # Deliveries queued before the messages had their own table carry them in the payload.
    return d.message if d.message is not None else str(d.payload["eml"]).encode("utf-8")


def _slim(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """What stays of a delivered message: who and which calls, not the whole body (None: nothing to drop)."""
    return {k: v for k, v in payload.items() if k != "eml"} if "eml" in payload else None


__all__ = ["CLAIM_LEASE", "MAX_ATTEMPTS", "RETRY_DELAYS", "Composer", "DeliveryReport", "DigestPreview",
           "current_period", "deliver_pending", "parse_period", "preview_digest", "send_alerts", "send_digests",
           "checked_sources", "unchecked_sources", "wants_digest"]
