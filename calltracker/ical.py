"""Build the `.ics` attachment: one event per deadline of the calls in a digest or alert.

Events keep the deadline's official zone (with its VTIMEZONE) and a UID stable per call and deadline, so
importing next week's file updates the same events instead of adding copies. A timed deadline is an hour
ending at the cut-off; a date-only deadline is an all-day event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from icalendar import Calendar, Event

from calltracker.digest import CallLike, clean_text, format_deadline, safe_url


def deadlines_calendar(calls: Sequence[CallLike], *, now: datetime, domain: str, language: str = "it") -> bytes:
    """An iCalendar file with every future deadline of `calls`; `now` is its DTSTAMP."""
    cal = Calendar()
    cal.add("prodid", "-//calltracker//digest//IT")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    prefix = "Scadenza" if language == "it" else "Deadline"
    for call in calls:
        title = clean_text(call.title, 200)
        url = safe_url(call.url)
        for position, d in enumerate(sorted(call.deadlines, key=lambda d: d.at)):
            if d.at < now:
                continue
            event = Event()
            event.add("uid", f"call-{call.id}-deadline-{position}@{domain}")
            event.add("dtstamp", now)
            event.add("summary", f"{prefix}: {title}")
            if d.date_only:
                event.add("dtstart", d.at.date())
                event.add("dtend", d.at.date() + timedelta(days=1))
            else:
                event.add("dtstart", d.at - timedelta(hours=1))
                event.add("dtend", d.at)
            lines = [format_deadline(d, language), clean_text(call.identifier), clean_text(call.programme)]
            if url:
                lines.append(url)
                event.add("url", url)
            event.add("description", "\n".join(x for x in lines if x))
            event.add("transp", "TRANSPARENT")
            cal.add_component(event)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())
