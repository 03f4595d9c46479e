"""Build the `.ics` attachment: one event per future deadline of the calls in a digest or alert.

Event times are written in UTC ("Z"): every calendar client shows them in its own zone and no VTIMEZONE
block is needed (icalendar's generated Europe/Brussels block alone is ~250 lines and cost 15 ms per digest);
the description still gives the deadline as published, in Italian time with the official zone named.
UIDs are stable per call and deadline, so importing next week's file updates the same events instead of
adding copies. A timed deadline is an hour ending at the cut-off; a date-only one is an all-day event.
Events are the same for every member reading a language, so a shared `cache` serialises each one once.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from datetime import UTC, datetime, timedelta

from icalendar import Event

from calltracker.digest import CallLike, format_deadline
from calltracker.text import plain_text, safe_url

_HEAD = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calltracker//digest//IT\r\nCALSCALE:GREGORIAN\r\n"
         b"METHOD:PUBLISH\r\n")
_TAIL = b"END:VCALENDAR\r\n"


def call_events(call: CallLike, *, now: datetime, domain: str, language: str) -> bytes:
    """The VEVENTs of one call's future deadlines."""
    title = plain_text(call.title, 200)
    url = safe_url(call.url)
    prefix = "Scadenza" if language == "it" else "Deadline"
    out = []
    for position, d in enumerate(sorted(call.deadlines, key=lambda d: d.at)):
        if d.passed(now):
            continue
        event = Event()
        event.add("uid", f"call-{call.id}-deadline-{position}@{domain}")
        event.add("dtstamp", now.astimezone(UTC))
        event.add("summary", f"{prefix}: {title}")
        if d.date_only:
            event.add("dtstart", d.at.date())
            event.add("dtend", d.at.date() + timedelta(days=1))
        else:
            event.add("dtstart", (d.at - timedelta(hours=1)).astimezone(UTC))
            event.add("dtend", d.at.astimezone(UTC))
        lines = [format_deadline(d, language), plain_text(call.identifier), plain_text(call.programme)]
        if url:
            lines.append(url)
            event.add("url", url)
        event.add("description", "\n".join(x for x in lines if x))
        event.add("transp", "TRANSPARENT")
        out.append(bytes(event.to_ical()))
    return b"".join(out)


def deadlines_calendar(calls: Sequence[CallLike], *, now: datetime, domain: str, language: str = "it",
                       cache: MutableMapping[tuple[int, str], bytes] | None = None) -> bytes:
    """An iCalendar file with every future deadline of `calls`; `now` is its DTSTAMP."""
    parts = [_HEAD]
    for call in calls:
        key = (call.id, language)
        events = cache.get(key) if cache is not None else None
        if events is None:
            events = call_events(call, now=now, domain=domain, language=language)
            if cache is not None:
                cache[key] = events
        parts.append(events)
    parts.append(_TAIL)
    return b"".join(parts)
