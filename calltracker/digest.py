"""Pure: choose the calls for one member's digest or alerts, and render them (Jinja2) in Italian or English.

Nothing here reads the database, the clock or the settings: the delivery service passes calls, changes,
the member, `now` and the options in, and gets sections and rendered text back. Types are Protocols so
storage's views (or test doubles) fit without this module importing storage.

Scraped text is untrusted. It is reduced to plain text (tags and scripts dropped, control characters
removed) before any template sees it, templates autoescape HTML, and links keep only http/https URLs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup

from calltracker import labels
from calltracker.domain import Consortium, Deadline, next_deadline, stored_status_at, zone_name
from calltracker.text import plain_text, safe_url
from calltracker.views import ALL_THEMES, member_wants

__all__ = ["ALL_THEMES", "next_deadline", "plain_text", "safe_url"]

ROME = ZoneInfo("Europe/Rome")
LANGUAGES = ("it", "en")
OPEN_STATUSES = ("open", "forthcoming")
#: The change fields members are told about, with before and after.
NOTABLE_FIELDS = ("deadlines", "status")

#: Building a consortium across three regions takes far longer than a single firm's application, so the
#: "closing soon" window (digest.closing_soon_days) is stretched by the call's consortium rule.
CONSORTIUM_LEAD_FACTOR: dict[str, float] = {
    Consortium.REQUIRED.value: 2.0,
    Consortium.OPTIONAL.value: 1.5,
    Consortium.SINGLE.value: 1.0,
}


# --- what the digest reads (storage's CallView, MemberView and ChangeView fit these) ------------------


class ClassificationLike(Protocol):
    @property
    def themes(self) -> dict[str, float]: ...
    @property
    def eligible(self) -> dict[str, bool]: ...
    @property
    def consortium(self) -> str: ...
    @property
    def tri_regional_fit(self) -> bool: ...
    @property
    def fit_score(self) -> int: ...
    @property
    def fit_reason(self) -> str: ...
    @property
    def fit_reason_it(self) -> str | None: ...


class CallLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def identifier(self) -> str | None: ...
    @property
    def programme(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def deadlines(self) -> Sequence[Deadline]: ...
    @property
    def budget_eur(self) -> float | None: ...
    @property
    def budget_text(self) -> str | None: ...
    @property
    def first_seen_at(self) -> datetime: ...
    @property
    def last_changed_at(self) -> datetime: ...
    @property
    def classification(self) -> ClassificationLike | None: ...


class MemberLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def email(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def region(self) -> str | None: ...
    @property
    def language(self) -> str: ...
    @property
    def themes(self) -> tuple[str, ...]: ...
    @property
    def min_fit(self) -> int: ...
    @property
    def frequency(self) -> str: ...


class ChangeLike(Protocol):
    @property
    def call_id(self) -> int: ...
    @property
    def field(self) -> str: ...
    @property
    def old(self) -> Any: ...
    @property
    def new(self) -> Any: ...
    @property
    def changed_at(self) -> datetime: ...


# --- choosing ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One call in a digest, with why it is there."""

    call: CallLike
    new: bool
    changes: tuple[ChangeLike, ...] = ()
    closing_in_days: int | None = None

    def key(self) -> tuple[Any, ...]:
        """What a rendered card depends on, within one batch (where a call id stands for its data)."""
        return (self.call.id, self.new, self.closing_in_days,
                tuple((ch.field, repr(ch.old), repr(ch.new)) for ch in self.changes))


@dataclass(frozen=True, slots=True)
class DigestContent:
    """A member's digest before rendering. Each call appears in one section only."""

    joint: list[Entry] = field(default_factory=list)
    other: list[Entry] = field(default_factory=list)
    closing: list[Entry] = field(default_factory=list)
    changed: list[Entry] = field(default_factory=list)
    #: New or changed calls; a digest with none is not sent (unless the "nothing new" note is on).
    news: int = 0

    @property
    def entries(self) -> list[Entry]:
        return [*self.joint, *self.other, *self.closing, *self.changed]

    def key(self) -> tuple[Any, ...]:
        """What a rendered digest depends on of its content, within one batch (see `Entry.key`)."""
        return (self.news, *(tuple(e.key() for e in section)
                             for section in (self.joint, self.other, self.closing, self.changed)))


def closing_lead_days(consortium: str | None, closing_soon_days: int) -> int:
    """How many days before a deadline a call counts as closing soon, given who must apply."""
    factor = CONSORTIUM_LEAD_FACTOR.get(consortium or "", 1.0)
    return round(closing_soon_days * factor)


def status_at(call: CallLike, now: datetime) -> str:
    """The call's status at `now` (closed once every deadline has passed, by `Deadline.passed`)."""
    return stored_status_at(call.status, call.deadlines, now)


def selection_key(member: MemberLike) -> tuple[Any, ...]:
    """What `choose_digest` and `is_of_interest` read of a member: members alike in it get the same calls."""
    return (tuple(sorted(member.themes)), member.region, member.min_fit)


def is_of_interest(member: MemberLike, call: CallLike, now: datetime) -> bool:
    """Open or forthcoming at `now`, and wanted by the member (themes, minimum fit, region: `member_wants`)."""
    if status_at(call, now) not in OPEN_STATUSES:
        return False
    return member_wants(member.themes, member.region, member.min_fit, call.classification)


def _days_left(deadline: Deadline, now: datetime) -> int:
    """Whole days from today to the deadline's last day, both on Rome's calendar."""
    return (deadline.closes_at.astimezone(ROME).date() - now.astimezone(ROME).date()).days


def _sort_key(entry: Entry, now: datetime) -> tuple[bool, datetime, str]:
    c = entry.call.classification
    nd = next_deadline(entry.call.deadlines, now)
    return (not (c is not None and c.tri_regional_fit), nd.closes_at if nd else datetime.max.replace(tzinfo=UTC),
            entry.call.title.lower())


def choose_digest(member: MemberLike, calls: Sequence[CallLike], changes: Mapping[int, Sequence[ChangeLike]],
                  *, since: datetime | None, now: datetime, closing_soon_days: int) -> DigestContent:
    """Sort a member's calls of interest into sections.

    `since` is when the member's last delivered digest was prepared (None: never, so everything open is
    new). New or changed calls go to the joint tri-regional or "other" section, or to "changed" when a
    deadline or the status moved. Calls closing within the consortium-aware lead time go to "closing soon"
    even when unchanged: they are reminders and do not by themselves make a digest worth sending.
    """
    out = DigestContent()
    news = 0
    for call in calls:
        if not is_of_interest(member, call, now):
            continue
        is_new = since is None or call.first_seen_at > since
        changed = since is not None and call.last_changed_at > since
        notable = () if since is None or is_new else tuple(
            ch for ch in changes.get(call.id, ()) if ch.field in NOTABLE_FIELDS and ch.changed_at > since)
        nd = next_deadline(call.deadlines, now)
        days_left = _days_left(nd, now) if nd else None
        c = call.classification
        lead = closing_lead_days(c.consortium if c else None, closing_soon_days)
        closing = days_left is not None and days_left <= lead
        if is_new or changed:
            news += 1
        elif not closing:
            continue
        entry = Entry(call=call, new=is_new, changes=notable, closing_in_days=days_left if closing else None)
        if notable:
            out.changed.append(entry)
        elif closing:
            out.closing.append(entry)
        elif c is not None and c.tri_regional_fit:
            out.joint.append(entry)
        else:
            out.other.append(entry)
    for section in (out.joint, out.other, out.closing, out.changed):
        section.sort(key=lambda e: _sort_key(e, now))
    return DigestContent(out.joint, out.other, out.closing, out.changed, news=news)


@dataclass(frozen=True, slots=True)
class Reminder:
    call: CallLike
    deadline: Deadline
    lead_days: int
    days_left: int

    @property
    def period_key(self) -> str:
        return f"{self.call.id}:{self.lead_days}:{self.deadline.at.date().isoformat()}"


def choose_alerts(member: MemberLike, calls: Sequence[CallLike], *, now: datetime,
                  lead_days: Sequence[int]) -> list[Reminder]:
    """The reminders due today for one member: for each future deadline, the tightest lead time reached.

    A deadline 10 days away with leads (30, 14, 3) is due its 14-day reminder; a day missed by the scheduler
    is caught up the next day instead of skipped. The caller drops reminders already delivered.
    """
    leads = sorted(set(lead_days))
    out: list[Reminder] = []
    for call in calls:
        if not is_of_interest(member, call, now):
            continue
        for d in call.deadlines:
            if d.passed(now):
                continue
            days_left = _days_left(d, now)
            reached = [lead for lead in leads if days_left <= lead]
            if reached:
                out.append(Reminder(call, d, reached[0], days_left))
    out.sort(key=lambda r: (r.deadline.closes_at, r.call.id))
    return out


# --- formatting ------------------------------------------------------------------------------------------

MONTHS = {
    "it": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
           "ottobre", "novembre", "dicembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
CITIES = {
    "Europe/Brussels": ("Bruxelles", "Brussels"), "Europe/Paris": ("Parigi", "Paris"),
    "Europe/Luxembourg": ("Lussemburgo", "Luxembourg"), "Europe/Amsterdam": ("Amsterdam", "Amsterdam"),
    "Europe/Berlin": ("Berlino", "Berlin"), "Europe/Madrid": ("Madrid", "Madrid"),
    "Europe/London": ("Londra", "London"), "Europe/Rome": ("Roma", "Rome"),
}
PASSED = {"it": " (passata)", "en": " (passed)"}
SOURCE_NAMES = {
    "eu_ft": "EU Funding & Tenders", "lombardia": "Regione Lombardia", "piemonte": "Regione Piemonte",
    "liguria": "FILSE Liguria", "incentivi": "incentivi.gov.it", "esa": "ESA STAR",
}


def _lang(language: str) -> str:
    return labels.lang_of(language)


def format_date(day: date, language: str) -> str:
    return f"{day.day} {MONTHS[_lang(language)][day.month - 1]} {day.year}"


def format_deadline(d: Deadline, language: str) -> str:
    """A deadline in Italian time, naming the official zone where it differs.

    "15 aprile 2027, 17:00 (ora di Bruxelles)"; a date-only deadline shows the official date alone.
    """
    lang = _lang(language)
    label = f"{plain_text(d.label)}: " if d.label else ""
    if d.date_only:
        return label + format_date(d.at.date(), lang)
    local = d.at.astimezone(ROME)
    text = f"{format_date(local.date(), lang)}, {local:%H:%M}"
    zone = zone_name(d.at)
    if zone != "Europe/Rome":
        city_it, city_en = CITIES.get(zone, (zone.rpartition("/")[2].replace("_", " "),) * 2)
        city = city_it if lang == "it" else city_en
        if zone == "UTC":
            text += f" ({'ora italiana' if lang == 'it' else 'Italian time'}; {d.at:%H:%M} UTC)"
        elif d.at.utcoffset() == local.utcoffset():
            text += f" (ora di {city})" if lang == "it" else f" ({city} time)"
        else:
            text += (f" (ora italiana; {d.at:%H:%M} ora di {city})" if lang == "it"
                     else f" (Italian time; {d.at:%H:%M} {city} time)")
    return label + text


def format_budget(amount: float | None, text: str | None, language: str) -> str:
    if amount is None:
        return plain_text(text, 120)
    whole = f"{round(amount):,}"
    return f"{whole.replace(',', '.')} €" if _lang(language) == "it" else f"€{whole}"


def _deadline_from_key(key: Any, language: str) -> str:
    """A stored deadline key ("<utc iso>[Zone] date-only (label)") shown like any deadline."""
    m = re.match(r"^(\S+)\[([^\]]+)\]( date-only)?(?: \((.*)\))?$", str(key))
    if not m:
        return plain_text(str(key))
    try:
        at = datetime.fromisoformat(m.group(1)).astimezone(ZoneInfo(m.group(2)))
    except (ValueError, KeyError):
        return plain_text(str(key))
    return format_deadline(Deadline(at, bool(m.group(3)), m.group(4)), language)


def format_change(change: ChangeLike, language: str) -> dict[str, str]:
    lang = _lang(language)
    if change.field == "deadlines":
        def side(v: Any) -> str:
            items = v if isinstance(v, list) else [v] if v else []
            return "; ".join(_deadline_from_key(k, lang) for k in items) or "—"
        label = "Scadenza" if lang == "it" else "Deadline"
        return {"label": label, "before": side(change.old), "after": side(change.new)}
    if change.field == "status":
        label = "Stato" if lang == "it" else "Status"
        return {"label": label, "before": plain_text(labels.status(str(change.old), lang)),
                "after": plain_text(labels.status(str(change.new), lang))}
    return {"label": plain_text(change.field), "before": plain_text(str(change.old), 200),
            "after": plain_text(str(change.new), 200)}


def call_card(entry: Entry, language: str, now: datetime) -> dict[str, Any]:
    """Everything a template shows about one call, already formatted and cleaned."""
    lang = _lang(language)
    call, c = entry.call, entry.call.classification
    reason = (c.fit_reason_it or c.fit_reason) if c and lang == "it" else (c.fit_reason if c else "")
    return {
        "id": call.id,
        "title": plain_text(call.title, 300),
        "identifier": plain_text(call.identifier, 120),
        "programme": plain_text(call.programme, 160),
        "status": plain_text(labels.status(status_at(call, now), lang)),
        "deadlines": [format_deadline(d, lang) + (PASSED[lang] if d.passed(now) else "")
                      for d in sorted(call.deadlines, key=lambda d: d.at)],
        "budget": format_budget(call.budget_eur, call.budget_text, lang),
        "themes": [plain_text(labels.theme(t, lang)) for t in (c.themes if c else ())],
        "regions": [labels.region(r, lang) for r in labels.REGIONS if c and c.eligible.get(r)],
        "consortium": labels.consortium(c.consortium, lang) if c and c.consortium in labels.CONSORTIA else "",
        "tri_regional": bool(c and c.tri_regional_fit),
        "fit_reason": plain_text(reason, 400),
        "url": safe_url(call.url),
        "new": entry.new,
        "closing_in_days": entry.closing_in_days,
        "changes": [format_change(ch, lang) for ch in entry.changes],
        "interest": f"{INTEREST_MARK}{call.id}" if c and c.tri_regional_fit else None,
    }


def source_label(name: str) -> str:
    return SOURCE_NAMES.get(name, plain_text(name))


# --- rendering -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class TemplateSet:
    """Two environments: plain text (no escaping) and HTML (autoescaped; CSS already inlined)."""

    text: jinja2.Environment
    html: jinja2.Environment


@dataclass(frozen=True, slots=True)
class RenderedCard:
    """One call's card, rendered for the HTML and the text part."""

    html: Markup
    text: str


class CardRenderer:
    """Renders each call's card once per language and look, for a whole batch of messages.

    A card depends on the call, the language, `now` and how the member sees the call (new, closing in N
    days, which changes, which section), never on the member: most members of a batch share calls, so
    each card is rendered once. Valid for one batch, while the calls (by id) do not change.
    """

    def __init__(self, templates: TemplateSet, now: datetime) -> None:
        self.templates, self.now = templates, now
        self._cards: dict[tuple[Any, ...], RenderedCard] = {}

    def card(self, entry: Entry, language: str, kind: str = "") -> RenderedCard:
        lang = _lang(language)
        key = (lang, kind, *entry.key())
        found = self._cards.get(key)
        if found is None:
            c = call_card(entry, lang, self.now)
            html = self.templates.html.get_template(f"card.{lang}.html").render(c=c, kind=kind)
            text = self.templates.text.get_template(f"card.{lang}.txt").render(c=c)
            # The card template autoescapes: its output is markup, not text to escape again.
            found = self._cards[key] = RenderedCard(html=Markup(html), text=text)
        return found


#: Stands in a shared card for the member's own signed "I'm interested" link (see `with_interest_links`).
INTEREST_MARK = "https://calltracker.invalid/interest/"
_INTEREST_RE = re.compile(re.escape(INTEREST_MARK) + r"(\d+)")
_INTEREST_LINE_RE = re.compile(r"^[^\n]*" + re.escape(INTEREST_MARK) + r"\d+[^\n]*\n?", re.M)


def with_interest_links(card: RenderedCard, interest_url: Callable[[int], str] | None) -> RenderedCard:
    """A shared card with the member's interest link in place (or, without a link maker, no such line)."""
    if INTEREST_MARK not in card.text and INTEREST_MARK not in card.html:
        return card
    if interest_url is None:
        return RenderedCard(html=Markup(_INTEREST_LINE_RE.sub("", str(card.html))),
                            text=_INTEREST_LINE_RE.sub("", card.text))

    def url(m: re.Match[str]) -> str:
        return interest_url(int(m.group(1)))

    return RenderedCard(html=Markup(_INTEREST_RE.sub(lambda m: html.escape(url(m)), str(card.html))),
                        text=_INTEREST_RE.sub(url, card.text))


def render(templates: TemplateSet, kind: str, language: str, context: Mapping[str, Any]) -> Rendered:
    """Render `<kind>/subject.<lang>.txt`, `<kind>/body.<lang>.txt` and `<kind>/body.<lang>.html`."""
    lang = _lang(language)
    subject = " ".join(templates.text.get_template(f"{kind}/subject.{lang}.txt").render(context).split())
    full = {**context, "subject": subject}
    text = templates.text.get_template(f"{kind}/body.{lang}.txt").render(full)
    body = templates.html.get_template(f"{kind}/body.{lang}.html").render(full)
    return Rendered(subject=subject, text=text.strip() + "\n", html=body)


def digest_context(member: MemberLike, content: DigestContent, *, period: str, now: datetime,
                   unchecked_sources: Sequence[str], links: Mapping[str, str], cards: CardRenderer,
                   checked_sources: Sequence[str] = (),
                   interest_url: Callable[[int], str] | None = None) -> dict[str, Any]:
    """The template context of one digest: sections of rendered cards, the footer and the member's links.

    `interest_url(call_id)` makes the member's "I'm interested" link on calls fit for a joint bid.
    """
    lang = _lang(member.language)

    def card(entry: Entry, kind: str = "") -> RenderedCard:
        return with_interest_links(cards.card(entry, lang, kind), interest_url)

    monday = date.fromisocalendar(int(period[:4]), int(period[6:]), 1) if re.fullmatch(
        r"\d{4}-W\d{2}", period) else now.astimezone(ROME).date()
    return {
        "member": {"name": plain_text(member.name, 120), "email": member.email},
        "period": period,
        "week": {"number": int(period[6:]) if period[6:].isdigit() else 0, "year": period[:4],
                 "from": format_date(monday, lang), "to": format_date(monday + timedelta(days=6), lang)},
        "news": content.news,
        "joint": [card(e, "joint") for e in content.joint],
        "other": [card(e) for e in content.other],
        "closing": [card(e, "closing") for e in content.closing],
        "changed": [card(e) for e in content.changed],
        "unchecked": [source_label(s) for s in unchecked_sources],
        "checked": [source_label(s) for s in checked_sources],
        "links": dict(links),
    }


def alert_context(member: MemberLike, reminder: Reminder, *, now: datetime, links: Mapping[str, str],
                  cards: CardRenderer, interest_url: Callable[[int], str] | None = None) -> dict[str, Any]:
    lang = _lang(member.language)
    entry = Entry(call=reminder.call, new=False, closing_in_days=reminder.days_left)
    return {
        "member": {"name": plain_text(member.name, 120), "email": member.email},
        "call": call_card(entry, lang, now),
        "card": with_interest_links(cards.card(entry, lang, "closing"), interest_url),
        "deadline": format_deadline(reminder.deadline, lang),
        "days_left": reminder.days_left,
        "lead_days": reminder.lead_days,
        "links": dict(links),
    }
