"""Composing delivery messages: links, headers, parts and the calendar attachment, as finished bytes."""

from __future__ import annotations

import email
import email.policy
import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from calltracker.bootstrap import App, signing_key
from calltracker.digest import (
    CallLike,
    CardRenderer,
    DigestContent,
    Reminder,
    Rendered,
    TemplateSet,
    alert_context,
    digest_context,
    render,
)
from calltracker.ical import deadlines_calendar
from calltracker.mime import Attachment, BodyTemplate, HeaderLines, fold_header, message_bytes, with_headers
from calltracker.storage import MemberView, NewDelivery
from calltracker.text import plain_text
from calltracker.tokens import make_token

#: Stand-ins for what differs between members sharing a digest body: no template or card can produce them.
_NAME = "\ue000name\ue000"
_EMAIL = "\ue000email\ue000"
_LINKS = {"unsubscribe": "\ue000unsubscribe\ue000", "prefs": "\ue000prefs\ue000"}
#: A call's "I'm interested" link, different per member: `\ue000interest<call id>\ue000` in a shared body.
_INTEREST = re.compile("\ue000interest(\\d+)\ue000")
#: Distinct bodies (and calendars) kept per batch.
_BODY_CACHE = 512


def _fill(template: str, values: Mapping[str, str]) -> str:
    for placeholder, value in values.items():
        if placeholder in template:
            template = template.replace(placeholder, value)
    return template


@dataclass
class _SharedDigest:
    """A digest body shared by alike members, with stand-ins (`_NAME`, `_EMAIL`, `_LINKS`, `_INTEREST`)."""

    rendered: Rendered
    ics: bytes | None
    attachment: Attachment | None
    interest_ids: tuple[int, ...]
    _body: BodyTemplate | None = None

    def body(self) -> BodyTemplate:
        if self._body is None:
            self._body = BodyTemplate(self.rendered.text, self.rendered.html, self.attachment)
        return self._body


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
        self._bodies: dict[tuple[Any, ...], _SharedDigest] = {}
        self._calendars: dict[tuple[Any, ...], bytes] = {}

    def cards(self, now: datetime) -> CardRenderer:
        """The batch's card renderer (cards are shared by members; a new `now` starts a new batch)."""
        if self._cards is None or self._cards.now != now:
            self._cards = CardRenderer(self.templates, now)
            self._bodies.clear()
            self._calendars.clear()
        return self._cards

    def links(self, member: MemberView, now: datetime) -> dict[str, str]:
        unsubscribe = make_token(self.key, "unsubscribe", member.id, member.token_version, now)
        prefs = make_token(self.key, "prefs", member.id, member.token_version, now)
        return {"unsubscribe": f"{self.base_url}/u/{unsubscribe}", "prefs": f"{self.base_url}/p/{prefs}"}

    def interest_url(self, member: MemberView, now: datetime) -> Callable[[int], str]:
        """The member's signed "I'm interested" link for a call: `/i/TOKEN` (see calltracker.web.interest)."""
        def url(call_id: int) -> str:
            token = make_token(self.key, "interest", member.id, member.token_version, now, subject=call_id)
            return f"{self.base_url}/i/{token}"
        return url

    def message_id(self, member: MemberView, kind: str, period_key: str) -> str:
        # Unique like the delivery itself (member, kind, period): a duplicate send is recognisable as such.
        return f"<{kind}.{re.sub(r'[^A-Za-z0-9-]', '.', period_key)}.{member.id}@{self.domain}>"

    def headers_for(self, member: MemberView, *, kind: str, period_key: str, subject: str,
                    links: Mapping[str, str], now: datetime) -> tuple[str, list[bytes]]:
        """The message's Message-ID and folded header lines."""
        mail = self.app.settings.mail
        shared = self.headers.line
        message_id = self.message_id(member, kind, period_key)
        headers = [shared("Subject", subject), shared("From", self.sender),
                   fold_header("To", formataddr((plain_text(member.name), member.email)))]
        if mail.reply_to:
            headers.append(shared("Reply-To", mail.reply_to))
        headers += [shared("Date", format_datetime(now)), fold_header("Message-ID", message_id),
                    shared("List-Id", f"calltracker <{self.list_id}>"),
                    fold_header("List-Unsubscribe",
                                f"<{links['unsubscribe']}>, <mailto:{mail.from_address}?subject=unsubscribe>"),
                    shared("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                    shared("Auto-Submitted", "auto-generated"), shared("Content-Language", member.language)]
        return message_id, headers

    def build(self, member: MemberView, *, kind: str, period_key: str, rendered: Rendered, links: Mapping[str, str],
              now: datetime, ics: bytes | None, ics_name: str) -> Composed:
        message_id, headers = self.headers_for(member, kind=kind, period_key=period_key, subject=rendered.subject,
                                               links=links, now=now)
        attachment = Attachment(ics, 'text/calendar; charset="utf-8"', ics_name) if ics else None
        return Composed(subject=rendered.subject, message_id=message_id, sender=self.app.settings.mail.from_address,
                        recipient=member.email,
                        data=message_bytes(headers, rendered.text, rendered.html, attachment))

    def digest(self, member: MemberView, content: DigestContent, *, period: str, now: datetime,
               unchecked: Sequence[str], checked: Sequence[str] = ()) -> tuple[Composed, Rendered]:
        """The member's digest and its rendered text (for previews; `digest_message` is the batch's way)."""
        shared = self._shared_digest(member, content, period=period, now=now, unchecked=unchecked,
                                     checked=checked)
        links = self.links(member, now)
        text, markup = self._values(member, shared, links, now)
        rendered = Rendered(subject=_fill(shared.rendered.subject, text), text=_fill(shared.rendered.text, text),
                            html=_fill(shared.rendered.html, markup))
        name = "scadenze.ics" if member.language == "it" else "deadlines.ics"
        msg = self.build(member, kind="digest", period_key=period, rendered=rendered, links=links, now=now,
                         ics=shared.ics, ics_name=name)
        return msg, rendered

    def digest_message(self, member: MemberView, content: DigestContent, *, period: str, now: datetime,
                       unchecked: Sequence[str], checked: Sequence[str] = ()) -> Composed:
        """The member's digest as `digest` builds it, from the body it shares with alike members: only
        their name, address and links are written per member."""
        shared = self._shared_digest(member, content, period=period, now=now, unchecked=unchecked,
                                     checked=checked)
        links = self.links(member, now)
        text, markup = self._values(member, shared, links, now)
        body = shared.body().fill({k[1:-1]: v for k, v in text.items()}, {k[1:-1]: v for k, v in markup.items()})
        if body is None:  # a value that does not fit the shared shape: the whole message the plain way
            return self.digest(member, content, period=period, now=now, unchecked=unchecked, checked=checked)[0]
        subject = _fill(shared.rendered.subject, text)
        message_id, headers = self.headers_for(member, kind="digest", period_key=period, subject=subject,
                                               links=links, now=now)
        return Composed(subject=subject, message_id=message_id, sender=self.app.settings.mail.from_address,
                        recipient=member.email, data=with_headers(headers, body))

    def _values(self, member: MemberView, shared: _SharedDigest, links: Mapping[str, str],
                now: datetime) -> tuple[dict[str, str], dict[str, str]]:
        """What each stand-in of a shared digest is for this member: as text, and escaped for the HTML."""
        text = {_NAME: plain_text(member.name, 120), _EMAIL: member.email, _LINKS["unsubscribe"]: links["unsubscribe"],
                _LINKS["prefs"]: links["prefs"]}
        interest = self.interest_url(member, now)
        for call_id in shared.interest_ids:
            text[f"\ue000interest{call_id}\ue000"] = interest(call_id)
        return text, {k: html.escape(v, quote=True) for k, v in text.items()}

    def _shared_digest(self, member: MemberView, content: DigestContent, *, period: str, now: datetime,
                       unchecked: Sequence[str], checked: Sequence[str]) -> _SharedDigest:
        """The digest members who see the same cards in the same language share but for their name, address
        and links: rendered once, with stand-ins for those, with its calendar."""
        cards = self.cards(now)
        has_name = bool(plain_text(member.name, 120))
        key = (member.language, has_name, period, content.key(), tuple(unchecked), tuple(checked))
        found = self._bodies.get(key)
        if found is not None:
            return found
        stand_in = replace(member, name=_NAME if has_name else "", email=_EMAIL)
        context = digest_context(stand_in, content, period=period, now=now, unchecked_sources=unchecked,
                                 links=_LINKS, cards=cards, checked_sources=checked,
                                 interest_url=lambda call_id: f"\ue000interest{call_id}\ue000")
        rendered = render(self.templates, "digest", member.language, context)
        calls = [e.call for e in content.entries]
        ics = self._calendar(calls, now, member.language) if calls else None
        name = "scadenze.ics" if member.language == "it" else "deadlines.ics"
        if len(self._bodies) >= _BODY_CACHE:
            self._bodies.clear()
        found = self._bodies[key] = _SharedDigest(
            rendered=rendered, ics=ics,
            attachment=Attachment(ics, 'text/calendar; charset="utf-8"', name) if ics else None,
            interest_ids=tuple(sorted({int(m) for m in _INTEREST.findall(rendered.text + rendered.html)})))
        return found

    def _calendar(self, calls: Sequence[CallLike], now: datetime, language: str) -> bytes:
        key = (tuple(c.id for c in calls), language)
        found = self._calendars.get(key)
        if found is None:
            if len(self._calendars) >= _BODY_CACHE:
                self._calendars.clear()
            found = self._calendars[key] = deadlines_calendar(calls, now=now, domain=self.list_id,
                                                              language=language, cache=self.ics_cache)
        return found

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


def outbox_row(member: MemberView, kind: str, period_key: str, msg: Composed,
                call_ids: Sequence[int]) -> NewDelivery:
    return NewDelivery(member_id=member.id, kind=kind, period_key=period_key, subject=msg.subject,
                       message_id=msg.message_id,
                       payload={"from": msg.sender, "to": [msg.recipient], "calls": list(call_ids)},
                       message=msg.data)
