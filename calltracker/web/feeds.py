"""Atom feeds of calls and iCalendar feeds of their deadlines."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from icalendar import Calendar, Event

from calltracker.storage import CallView
from calltracker.text import plain_text, safe_url
from calltracker.web.i18n import FIT_LABELS, THEME_LABELS, format_deadline, label, text
from calltracker.web.site import strip_unsafe

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
ICS_TYPE = "text/calendar; charset=utf-8"


def _text(value: str | None) -> str:
    """Scraped text as one clean line for a feed."""
    return plain_text(strip_unsafe(value or ""))


def _lines(value: str) -> str:
    return "\n".join(" ".join(line.split()) for line in strip_unsafe(value).splitlines())


def _summary(call: CallView, lang: str) -> str:
    lines = []
    if call.deadlines:
        lines.append(f"{text(lang, 'deadlines')}: "
                     + "; ".join(format_deadline(d.at, d.date_only, lang) for d in call.deadlines))
    elif call.deadline_text:
        lines.append(f"{text(lang, 'deadline')}: {call.deadline_text}")
    if call.themes:
        lines.append(f"{text(lang, 'themes')}: " + ", ".join(label(THEME_LABELS, t, lang) for t in call.themes))
    c = call.classification
    if c is not None:
        reason = (c.fit_reason_it or c.fit_reason) if lang == "it" else c.fit_reason
        lines.append(f"{text(lang, 'fit_score')}: {label(FIT_LABELS, c.fit_score, lang)}. {reason}")
    if call.summary:
        lines.append(call.summary)
    official = safe_url(call.url)
    if official:
        lines.append(f"{text(lang, 'official_page')}: {official}")
    return _lines("\n".join(lines))


def atom_feed(calls: Sequence[CallView], *, feed_id: str, title: str, self_url: str,
              call_url: Callable[[CallView], str], lang: str, now: datetime) -> bytes:
    """An Atom 1.0 document (RFC 4287): one entry per call, updated when the call last changed."""
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, value: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if value is not None:
            element.text = value
        return element

    feed = ET.Element(f"{{{ATOM_NS}}}feed", {"xml:lang": lang})
    sub(feed, "id", feed_id)
    sub(feed, "title", title)
    updated = max((c.last_changed_at for c in calls), default=now)
    sub(feed, "updated", updated.isoformat())
    sub(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    author = sub(feed, "author")
    sub(author, "name", "calltracker")
    for call in calls:
        entry = sub(feed, "entry")
        page = call_url(call)
        sub(entry, "id", page)
        sub(entry, "title", _text(call.title))
        sub(entry, "updated", call.last_changed_at.isoformat())
        sub(entry, "published", call.first_seen_at.isoformat())
        sub(entry, "link", rel="alternate", type="text/html", href=page)
        official = safe_url(call.url)
        if official:
            sub(entry, "link", rel="related", href=official)
        for theme in call.themes:
            sub(entry, "category", term=theme, label=label(THEME_LABELS, theme, lang))
        sub(entry, "summary", _summary(call, lang), type="text")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def ical_feed(calls: Sequence[CallView], *, name: str, host: str, call_url: Callable[[CallView], str],
              lang: str, now: datetime) -> bytes:
    """An iCalendar (RFC 5545) document with one event per deadline, in the deadline's official zone.

    UIDs depend only on the call and the deadline's position, so a moved deadline updates the event
    already in a subscriber's calendar instead of adding another.
    """
    cal = Calendar()
    cal.add("prodid", "-//calltracker//deadlines//IT")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for call in calls:
        for position, deadline in enumerate(call.deadlines):
            event = Event()
            event.add("uid", f"call-{call.id}-deadline-{position}@{host}")
            event.add("dtstamp", now)
            event.add("summary", f"{text(lang, 'deadline')}: {_text(call.title)}")
            if deadline.date_only:
                event.add("dtstart", deadline.day)
                event.add("dtend", deadline.day + timedelta(days=1))
            else:
                # No DTEND: RFC 5545 then makes the event an instant, which is what a deadline is.
                event.add("dtstart", deadline.at)
            event.add("url", call_url(call))
            event.add("description", (f"{_text(deadline.label)}\n" if deadline.label else "") + _summary(call, lang))
            event.add("last-modified", call.last_changed_at)
            cal.add_component(event)
    cal.add_missing_timezones()
    data: bytes = cal.to_ical()
    return data
