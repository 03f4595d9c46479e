"""Pure domain types shared by scrapers, the classifier, storage and digests.

Nothing here does I/O. Datetimes are always timezone-aware.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any


class Theme(StrEnum):
    GREEN_AVIATION = "green_aviation"
    CYBERSECURITY = "cybersecurity"
    SPACE_ECONOMY = "space_economy"
    AIR_MOBILITY = "air_mobility"
    INDUSTRY_5_0 = "industry_5_0"
    ARTIFICIAL_INTELLIGENCE = "artificial_intelligence"
    SKILLS_CERTIFICATION = "skills_certification"


class Region(StrEnum):
    LOMBARDIA = "lombardia"
    PIEMONTE = "piemonte"
    LIGURIA = "liguria"


class Scope(StrEnum):
    EU = "eu"
    NATIONAL = "national"
    REGIONAL = "regional"
    INTERREG = "interreg"
    OTHER = "other"


class Status(StrEnum):
    FORTHCOMING = "forthcoming"
    OPEN = "open"
    CLOSED = "closed"


class Consortium(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    SINGLE = "single"


class Language(StrEnum):
    IT = "it"
    EN = "en"


@dataclass(frozen=True, slots=True)
class Deadline:
    """One cut-off. `at` is aware and in the official zone (Europe/Brussels, Europe/Rome...).

    `date_only` is true when the source gives a day but no time of day: `at` then only names the day (in
    its zone) -- consumers must show the date, not the time, and the call stays open all of that day
    (`closes_at`).
    """

    at: datetime
    date_only: bool = False
    label: str | None = None
    #: `closes_at` in UTC, taken once: `passed` compares it with `now` (UTC) without asking a zone database for
    #: offsets, which a page of new calls would otherwise do several times a call.
    #: (None at the ends of the calendar, where the conversion overflows: `passed` then raises as it always did,
    #: when a record is stored and refused alone, not while a scraper builds it.)
    _closes_utc: datetime | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError(f"deadline {self.at.isoformat()} has no time zone")
        try:
            closes: datetime | None = self.closes_at.astimezone(UTC)
        except OverflowError:
            closes = None
        object.__setattr__(self, "_closes_utc", closes)

    @property
    def day(self) -> date:
        return self.at.date()

    @property
    def closes_at(self) -> datetime:
        """The last instant the call is open by this deadline: `at`, or for a date-only deadline the end of
        that day in the deadline's own zone (a call due "15/10/2026" is open all of the 15th)."""
        if not self.date_only:
            return self.at
        midnight = datetime.combine(self.day + timedelta(days=1), time(0), self.at.tzinfo)
        return (midnight.astimezone(UTC) - timedelta(microseconds=1)).astimezone(self.at.tzinfo)

    @property
    def closes_utc(self) -> datetime:
        """`closes_at` as the same instant in UTC (taken once; at the calendar's ends, `closes_at` as it is)."""
        closes = self._closes_utc
        return self.closes_at if closes is None else closes

    def passed(self, now: datetime) -> bool:
        """Whether this cut-off is over at `now`: the one rule every consumer (and storage's SQL) follows."""
        return self.closes_utc < now


@dataclass(frozen=True, slots=True)
class Document:
    """A document attached to a call (the PDF "bando", an annex): its name, where it is, its text page by page.

    `pages[i]` is the text of page i + 1 ("" for a page without extractable text, e.g. a scan).
    """

    name: str
    url: str
    pages: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "\n\n".join(p for p in self.pages if p)


@dataclass(frozen=True, slots=True)
class ScrapedCall:
    """A call as one source describes it: what a scraper's pure `parse` yields."""

    source: str
    external_id: str
    title: str
    url: str
    identifier: str | None = None
    summary: str | None = None
    description: str | None = None
    programme: str | None = None
    scope: Scope | None = None
    status: Status | None = None
    opening_date: datetime | None = None
    deadlines: tuple[Deadline, ...] = ()
    deadline_text: str | None = None
    budget_eur: float | None = None
    budget_text: str | None = None
    language: str | None = None
    regions: tuple[Region, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)
    #: Attached documents read so far. Kept apart from the tracked fields (not in `comparable`): they are
    #: stored in their own table, and a record without them never erases the documents already stored.
    documents: tuple[Document, ...] = ()

    def comparable(self) -> dict[str, Any]:
        """The tracked fields as JSON-able values: what change detection and the hash look at."""
        return {
            "identifier": self.identifier,
            "title": self.title,
            "url": self.url,
            "summary": self.summary,
            "description": self.description,
            "programme": self.programme,
            "scope": self.scope.value if self.scope else None,
            "status": self.status.value if self.status else None,
            "opening_date": self.opening_date.isoformat() if self.opening_date else None,
            "deadlines": [deadline_key(d) for d in self.deadlines],
            "deadline_text": self.deadline_text,
            "budget_eur": self.budget_eur,
            "budget_text": self.budget_text,
            "language": self.language,
            "regions": sorted(r.value for r in self.regions),
        }

    def content_hash(self) -> str:
        return hash_comparable(self.comparable())

    def status_at(self, now: datetime) -> Status:
        """The status to store: closed when the source says so or every deadline has passed; forthcoming
        before the opening date unless the source says otherwise."""
        if self.status is Status.CLOSED or all_passed(self.deadlines, now):
            return Status.CLOSED
        if self.status is not None:
            return self.status
        if self.opening_date is not None and self.opening_date > now:
            return Status.FORTHCOMING
        return Status.OPEN


# json.dumps(sort_keys=True, ensure_ascii=False), built once: the text every stored content hash was taken of.
# (check_circular only decides how a cycle fails; `comparable` has none.)
_HASHED_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, check_circular=False)


def hash_comparable(comparable: Mapping[str, Any]) -> str:
    """`ScrapedCall.content_hash` of a record whose `comparable()` is already at hand."""
    return hashlib.sha256(_HASHED_JSON.encode(comparable).encode()).hexdigest()


def zone_name(at: datetime) -> str:
    """The IANA name of an aware datetime's zone; fixed offsets are stored as instants in UTC."""
    return getattr(at.tzinfo, "key", None) or "UTC"


def deadline_key(d: Deadline) -> str:
    """A stable text form of a deadline: the UTC instant, the official zone and the date-only flag."""
    text = f"{d.at.astimezone(UTC).isoformat()}[{zone_name(d.at)}]"
    if d.date_only:
        text += " date-only"
    if d.label:
        text += f" ({d.label})"
    return text


def next_deadline(deadlines: Iterable[Deadline], now: datetime) -> Deadline | None:
    """The soonest deadline not yet passed at `now`, if any."""
    ahead = [d for d in deadlines if not d.passed(now)]
    return min(ahead, key=lambda d: d.closes_at) if ahead else None


def shown_deadline(deadlines: Sequence[Deadline], now: datetime) -> Deadline | None:
    """The deadline to show: the next one still open, else the last (a closed call shows when it closed)."""
    return next_deadline(deadlines, now) or (deadlines[-1] if deadlines else None)


def all_passed(deadlines: Sequence[Deadline], now: datetime) -> bool:
    """True when there are deadlines and every one has passed: the call is over."""
    return bool(deadlines) and all(d.passed(now) for d in deadlines)


def closing_span(deadlines: Iterable[Deadline], now: datetime) -> tuple[datetime | None, datetime | None]:
    """(next, last) closing instants: what storage writes so its SQL filters follow `Deadline.passed`."""
    closes = [d.closes_utc for d in deadlines]
    ahead = [c for c in closes if c >= now]
    return (min(ahead) if ahead else None), (max(closes) if closes else None)


def stored_status_at(status: str, deadlines: Sequence[Deadline], now: datetime) -> str:
    """A stored call's status at `now`: closed once every deadline has passed, even before the next run
    writes it (pages, feeds and digests are read between runs)."""
    return Status.CLOSED.value if status != Status.CLOSED.value and all_passed(deadlines, now) else status
