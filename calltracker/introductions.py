"""Service: introductions between members interested in the same call, and the weekly staff report.

When members of at least two of the three regions are interested in one call, each of them gets an
introduction naming the others who agreed to be introduced (`share_profile`; addresses only with
`share_contact`). Introductions are composed whole and written to the outbox like digests (kind "intro",
period key "<call id>:<regions>"), so each member gets one per call and group of regions, exactly once,
and the ordinary delivery sender sends them.

The weekly staff email lists the calls with interest from two or three regions and their deadlines. It goes
to the staff accounts and `mail.staff_addresses`, once per week (recorded after it went out).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from calltracker import labels
from calltracker.bootstrap import App, signing_key
from calltracker.consortium import INTRO_MIN_REGIONS, REGIONS, BoardRow, Introduction, board, introductions
from calltracker.delivery import CLAIM_LEASE, Composer, DeliveryReport, current_period, deliver_pending
from calltracker.digest import TemplateSet, format_deadline, render
from calltracker.jobs import JobResult
from calltracker.mailer import Transport
from calltracker.mailtemplates import load_templates
from calltracker.storage import CallFilter, NewDelivery
from calltracker.text import plain_text
from calltracker.tokens import make_token

log = logging.getLogger(__name__)

INTRO_KIND = "intro"


def interest_url(base_url: str, key: str, member_id: int, version: int, call_id: int, now: datetime) -> str:
    """The member's signed "I'm interested" link for one call (`/i/TOKEN`)."""
    return f"{base_url}/i/{make_token(key, 'interest', member_id, version, now, subject=call_id)}"


def _lang(language: str) -> str:
    return language if language in ("it", "en") else "it"


def intro_context(intro: Introduction, call_title: str, deadline: str, call_url: str,
                  links: Mapping[str, str], lang: str) -> dict[str, Any]:
    """What the intro templates show: the call, the group, and the partners who agreed to be named."""
    regions = {key: labels.region(key, lang) for key in labels.REGIONS}
    return {
        "member": {"name": plain_text(intro.recipient.name, 120), "email": intro.recipient.email},
        "call": {"title": plain_text(call_title, 300), "deadline": deadline, "url": call_url},
        "group": [regions[r] for r in intro.group],
        "others": [{"name": plain_text(o.name, 120), "organisation": plain_text(o.organisation, 200),
                    "region": regions.get(o.region, o.region), "cluster": o.cluster,
                    "themes": [labels.theme(t, lang) for t in o.themes], "email": o.email}
                   for o in intro.others],
        "unnamed": [{"region": regions[r], "count": n} for r, n in sorted(intro.unnamed.items(),
                                                                          key=lambda kv: REGIONS.index(kv[0]))],
        "links": dict(links),
    }


def queue_introductions(app: App, call_id: int, *, templates: TemplateSet | None = None) -> int:
    """Write the introductions due for one call to the outbox; returns how many were new.

    Safe to call after every change of interest: a member already introduced for this call and group of
    regions is left alone (the outbox's unique member, kind and period key).
    """
    store, now = app.store, app.clock()
    due = introductions(call_id, store.interests(call_id))
    if not due:
        return 0
    done = store.delivery_keys(INTRO_KIND, period_keys=sorted({i.period_key for i in due}))
    due = [i for i in due if (i.recipient.id, i.period_key) not in done and i.recipient.receives_mail]
    if not due:
        return 0
    call = store.get_call(call_id)
    composer = Composer(app, templates or load_templates())
    key = signing_key(app.settings)
    rows: list[NewDelivery] = []
    for intro in due:
        member = intro.recipient
        lang = _lang(member.language)
        upcoming = call.next_deadline(now)
        deadline = format_deadline(upcoming, lang) if upcoming else ""
        links = composer.links(member, now) | {
            "interest": interest_url(composer.base_url, key, member.id, member.token_version, call.id, now)}
        context = intro_context(intro, call.title, deadline, f"{composer.base_url}/calls/{call.id}", links, lang)
        rendered = render(composer.templates, INTRO_KIND, lang, context)
        msg = composer.build(member, kind=INTRO_KIND, period_key=intro.period_key, rendered=rendered, links=links,
                             now=now, ics=None, ics_name="")
        rows.append(NewDelivery(member_id=member.id, kind=INTRO_KIND, period_key=intro.period_key,
                                subject=msg.subject, message_id=msg.message_id,
                                payload={"from": msg.sender, "to": [msg.recipient], "calls": [call.id],
                                         "introduced": [o.member_id for o in intro.others]},
                                message=msg.data))
    added = store.add_deliveries(rows, now)
    log.info("call %s: %d introductions queued (%s)", call_id, added, "+".join(due[0].group))
    return added


def send_introductions(app: App, *, transport: Transport | None = None,
                       templates: TemplateSet | None = None) -> DeliveryReport:
    """Queue the introductions due for every call with interest, then send every pending one."""
    report = DeliveryReport(kind=INTRO_KIND)
    call_ids = sorted({i.call_id for i in app.store.interests()})
    shared = templates or (load_templates() if call_ids else None)
    for call_id in call_ids:
        report.prepared += queue_introductions(app, call_id, templates=shared)
    if transport is not None or app.store.due_deliveries(INTRO_KIND, app.clock(), lease=CLAIM_LEASE, limit=1):
        deliver_pending(app, INTRO_KIND, report, transport=transport)
    log.info("%s", report.line(), extra={"summary": True})  # the job summary and commands print it
    return report


def consortium_mail(app: App) -> JobResult:
    """The follow-up of the alerts and digest jobs: send the introductions due, and the week's staff report
    (once a week; nothing is opened when there is nothing to send)."""
    intros = send_introductions(app)
    summary = f"introductions: {intros.sent} sent"
    ok = not (intros.failed or intros.deferred)
    report = build_staff_report(app)
    if report.message is not None and not app.store.staff_report_sent(report.period):
        from calltracker.bootstrap import build_mail_transport
        from calltracker.errors import DeliveryError

        try:
            with build_mail_transport(app.settings) as tx:
                sent = send_staff_report(app, tx, report.period)
            summary += f"; staff report {sent.period}: {'sent' if sent.message else 'already sent'}"
        except DeliveryError as exc:
            ok = False
            summary += f"; staff report not sent: {exc}"
    return JobResult(ok, summary)


# --- the weekly staff report ---------------------------------------------------------------------------------


class MessageTransport(Protocol):
    def send(self, message: EmailMessage) -> object: ...


@dataclass(frozen=True, slots=True)
class StaffReport:
    period: str
    rows: list[BoardRow]
    recipients: list[str]
    message: EmailMessage | None


def staff_board(app: App, sort: str = "deadline") -> list[BoardRow]:
    """The calls x regions matrix of interest, over every call (open or not) that has interest."""
    now = app.clock()
    interests = app.store.interests()
    ids = tuple(sorted({i.call_id for i in interests}))
    calls = app.store.find_calls(CallFilter(ids=ids), now=now) if ids else []
    return board(calls, interests, now, sort)


def build_staff_report(app: App, period: str | None = None) -> StaffReport:
    """This week's staff email: calls with interest from two or three regions, soonest deadline first."""
    now = app.clock()
    period = period or current_period(now, app.settings.schedule.timezone)
    rows = [r for r in staff_board(app) if len(r.counts.regions) >= INTRO_MIN_REGIONS]
    mail = app.settings.mail
    recipients = sorted(set(app.store.staff_emails()) | {a.lower() for a in mail.staff_addresses})
    if not rows or not recipients:
        return StaffReport(period, rows, recipients, None)

    def line(r: BoardRow, lang: str) -> str:
        regions = ", ".join(f"{labels.region(k, lang)} {r.counts.by_region[k]}" for k in r.counts.regions)
        zone = ZoneInfo(app.settings.schedule.timezone)
        when = r.deadline.astimezone(zone).strftime("%Y-%m-%d %H:%M") if r.deadline else "—"
        return f"- [{r.call_id}] {plain_text(r.title, 160)}\n    {when} · {regions}"

    body = "\n".join([
        f"Bandi con interesse da almeno due regioni ({period}):", "", *(line(r, "it") for r in rows), "",
        "Il quadro completo: /staff e `calltracker interest list`.", "", "-- English --", "",
        f"Calls with interest from at least two regions ({period}):", "", *(line(r, "en") for r in rows), "",
        "The whole board: /staff and `calltracker interest list`.", ""])
    msg = EmailMessage()
    msg["Subject"] = f"[calltracker] interesse congiunto / joint interest {period}: {len(rows)}"
    msg["From"] = formataddr((mail.from_name, mail.from_address))
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=mail.from_address.rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return StaffReport(period, rows, recipients, msg)


def send_staff_report(app: App, transport: MessageTransport, period: str | None = None) -> StaffReport:
    """Send this week's staff report once; recorded only after the transport accepted it."""
    report = build_staff_report(app, period)
    if report.message is None or app.store.staff_report_sent(report.period):
        return StaffReport(report.period, report.rows, report.recipients, None)
    transport.send(report.message)
    app.store.record_staff_report(report.period, app.clock())
    log.info("staff report %s sent to %d addresses: %d calls", report.period, len(report.recipients),
             len(report.rows))
    return report


__all__ = ["INTRO_KIND", "StaffReport", "build_staff_report", "consortium_mail", "interest_url", "queue_introductions",
           "send_introductions", "send_staff_report", "staff_board"]
