"""Preparing deliveries: periods, who gets what, and the outbox rows written before anything is sent."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from calltracker.bootstrap import App
from calltracker.delivery.compose import Composed, Composer, outbox_row
from calltracker.digest import (
    DigestContent,
    MemberLike,
    Rendered,
    TemplateSet,
    choose_alerts,
    choose_digest,
    selection_key,
)
from calltracker.errors import InputError
from calltracker.mailtemplates import load_templates
from calltracker.storage import CallFilter, ChangeView, MemberView, NewDelivery, Store

log = logging.getLogger(__name__)

#: Sources whose last run is older than this were not checked "this week".
STALE_SOURCE = timedelta(days=7)
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
    in_doubt: int = 0
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
        if self.in_doubt:
            text += f", {self.in_doubt} in doubt after an interrupted send"
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


def changes_by_call(store: Store, since: datetime | None) -> dict[int, list[ChangeView]]:
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
    content = choose_digest(member, calls, changes_by_call(app.store, since) if since else {}, since=since,
                            now=now, closing_soon_days=app.settings.digest.closing_soon_days)
    composer = Composer(app, templates or load_templates())
    msg, rendered = composer.digest(member, content, period=period, now=now,
                                    unchecked=unchecked_sources(app.store, now),
                                    checked=checked_sources(app.store, now))
    return DigestPreview(member, content, msg, rendered, period)


# --- the batches ----------------------------------------------------------------------------------------------


def _failed_row(member: MemberView, kind: str, period_key: str, exc: Exception, report: DeliveryReport) -> NewDelivery:
    """One member whose message cannot be built: their delivery fails with the reason, the others go on."""
    reason = f"cannot build the message for {member.email!r}: {' '.join(str(exc).split())[:500]}"
    log.warning("delivery to member %s failed: %s", member.id, reason)
    report.failed += 1
    report.errors.append(reason)
    return NewDelivery(member_id=member.id, kind=kind, period_key=period_key, subject=None, message_id=None,
                       payload={"to": [member.email]}, message=None, error=reason)


def prepare_digests(app: App, period: str, cluster: str | None, report: DeliveryReport, *,
                    templates: TemplateSet | None = None) -> Iterator[NewDelivery]:
    """This period's digests for every receiving member (of one cluster) that has none yet, as outbox rows,
    one by one as they are built (the caller writes them to the outbox, and may send some meanwhile)."""
    store, settings = app.store, app.settings
    now = app.clock()
    members = [m for m in store.members(cluster, receiving_only=True) if wants_digest(m, period)]
    report.members = len(members)
    done = store.delivery_keys("digest", period_keys=[period])
    todo = [m for m in members if (m.id, period) not in done]
    report.skipped += len(members) - len(todo)
    if not todo:
        return
    composer = Composer(app, templates or load_templates())
    cutoffs = store.digest_cutoffs()
    known = [cutoffs[m.id] for m in todo if m.id in cutoffs]
    changes = changes_by_call(store, min(known)) if known else {}
    calls = store.find_calls(CallFilter(open_only=True, canonical_only=True), now=now)
    unchecked = unchecked_sources(store, now)
    checked = checked_sources(store, now)
    chosen: dict[tuple[Any, ...], DigestContent] = {}  # members alike in what choose_digest reads share calls
    for member in todo:
        since = cutoffs.get(member.id)
        alike = (selection_key(member), since)
        content = chosen.get(alike)
        if content is None:
            content = chosen[alike] = choose_digest(member, calls, changes, since=since, now=now,
                                                    closing_soon_days=settings.digest.closing_soon_days)
        if not content.news and not settings.digest.nothing_new_note:
            report.skipped += 1
            continue
        try:
            msg = composer.digest_message(member, content, period=period, now=now, unchecked=unchecked,
                                          checked=checked)
        except Exception as exc:  # one member's bad data must not stop everyone's digest
            yield _failed_row(member, "digest", period, exc, report)
            continue
        report.planned.append((member.email, msg.subject))
        report.prepared += 1
        yield outbox_row(member, "digest", period, msg, [e.call.id for e in content.entries])


def prepare_alerts(app: App, report: DeliveryReport, *,
                   templates: TemplateSet | None = None) -> Iterator[NewDelivery]:
    """Today's deadline reminders (digest.alert_lead_days) not yet in the outbox, as outbox rows."""
    store, settings = app.store, app.settings
    now = app.clock()
    members = store.members(receiving_only=True)
    report.members = len(members)
    calls = store.find_calls(CallFilter(open_only=True, canonical_only=True), now=now)
    due = [(m, r) for m in members for r in choose_alerts(m, calls, now=now, lead_days=settings.digest.alert_lead_days)]
    done = store.delivery_keys("alert", period_keys=sorted({r.period_key for _, r in due}))
    composer: Composer | None = None
    for member, reminder in due:
        if (member.id, reminder.period_key) in done:
            report.skipped += 1
            continue
        composer = composer or Composer(app, templates or load_templates())
        try:
            msg = composer.alert(member, reminder, now=now)
        except Exception as exc:  # one member's bad data must not stop everyone's alerts
            yield _failed_row(member, "alert", reminder.period_key, exc, report)
            continue
        report.planned.append((member.email, msg.subject))
        report.prepared += 1
        yield outbox_row(member, "alert", reminder.period_key, msg, [reminder.call.id])
