"""Tell staff (mail.staff_addresses) when a source breaks, once, and again when it recovers.

A source is broken when its last scrape.broken_after runs failed (or were suspect: far fewer calls than
the last good run, e.g. none) in a row. The state lives on the source
row (Store.source_states / set_source_broken): `broken_since` is when we first saw it broken,
`broken_notified_at` when staff were told. State only advances after the message went out, so a
transport failure means the notice is tried again after the next scrape, never lost and never doubled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Protocol
from zoneinfo import ZoneInfo

from calltracker.config import Settings
from calltracker.storage import Store

log = logging.getLogger(__name__)


class Transport(Protocol):
    """Anything that sends a message; raises DeliveryError when it cannot (see calltracker.mailer)."""

    def send(self, message: EmailMessage) -> object: ...


@dataclass(frozen=True, slots=True)
class SourceChange:
    source: str
    failures: int
    error: str | None
    since: datetime


def broken_source_changes(settings: Settings, store: Store,
                          now: datetime) -> tuple[list[SourceChange], list[SourceChange]]:
    """(sources newly broken and not yet notified, sources recovered since a notice)."""
    limit = settings.scrape.broken_after
    states = store.source_states()
    last = store.last_runs()
    broken: list[SourceChange] = []
    recovered: list[SourceChange] = []
    for name in sorted(settings.enabled_sources()):  # a disabled source is not expected to run
        since, notified = states.get(name, (None, None))
        failures = store.consecutive_failures(name)
        run = last.get(name)
        if failures >= limit and notified is None:
            broken.append(SourceChange(name, failures, run.error if run else None, since or now))
        elif failures < limit and since is not None:
            recovered.append(SourceChange(name, failures, None, since))
    return broken, recovered


def _when(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def build_notice(settings: Settings, broken: list[SourceChange], recovered: list[SourceChange],
                 now: datetime) -> EmailMessage:
    """One message for all changes, Italian first, then English."""
    mail, zone = settings.mail, settings.schedule.timezone
    names_b = ", ".join(c.source for c in broken)
    names_r = ", ".join(c.source for c in recovered)
    subject_parts = []
    if broken:
        subject_parts.append(f"fonti non funzionanti / sources broken: {names_b}")
    if recovered:
        subject_parts.append(f"fonti ripristinate / sources recovered: {names_r}")
    it: list[str] = []
    en: list[str] = []
    for c in broken:
        error = f"\n    {c.error}" if c.error else ""
        it.append(f"- {c.source}: {c.failures} esecuzioni fallite o sospette di seguito "
                  f"(dal {_when(c.since, zone)}){error}")
        en.append(f"- {c.source}: {c.failures} runs failed or suspect in a row (since {_when(c.since, zone)}){error}")
    for c in recovered:
        it.append(f"- {c.source}: di nuovo funzionante (guasta dal {_when(c.since, zone)})")
        en.append(f"- {c.source}: working again (broken since {_when(c.since, zone)})")
    body = "\n".join([
        "Stato delle fonti di calltracker:", "", *it, "",
        "Dettagli con `calltracker status`. Le altre fonti continuano a essere raccolte.",
        "", "-- English --", "", "calltracker source status:", "", *en, "",
        "Details with `calltracker status`. The other sources are still being collected.", "",
    ])
    msg = EmailMessage()
    msg["Subject"] = "[calltracker] " + "; ".join(subject_parts)
    msg["From"] = formataddr((mail.from_name, mail.from_address))
    msg["To"] = ", ".join(mail.staff_addresses)
    if mail.reply_to:
        msg["Reply-To"] = mail.reply_to
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=mail.from_address.rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


def notify_broken_sources(settings: Settings, store: Store, transport: Transport | None,
                          now: datetime) -> list[EmailMessage]:
    """Send staff one notice about sources that broke or recovered; record it. Returns what was sent.

    Without staff addresses (or without a transport) only the state is recorded, so `broken_since` is set
    whenever a source is broken; the notice goes out once staff and a transport are there.

    A DeliveryError from the transport propagates and leaves the state untouched (tried again next time).
    """
    broken, recovered = broken_source_changes(settings, store, now)
    if not broken and not recovered:
        return []
    if not settings.mail.staff_addresses or transport is None:
        for c in broken:  # remember since when, so `status` shows it; notify once staff are configured
            store.set_source_broken(c.source, since=c.since, notified_at=None)
        for c in recovered:
            store.set_source_broken(c.source, since=None, notified_at=None)
        if broken:
            log.warning("sources broken (%s) but mail.staff_addresses is empty: nobody told",
                        ", ".join(c.source for c in broken))
        return []
    msg = build_notice(settings, broken, recovered, now)
    transport.send(msg)
    for c in broken:
        store.set_source_broken(c.source, since=c.since, notified_at=now)
    for c in recovered:
        store.set_source_broken(c.source, since=None, notified_at=None)
    log.info("staff told: %d broken, %d recovered", len(broken), len(recovered))
    return [msg]
