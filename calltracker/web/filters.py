"""The calls browser's query parameters, shared by its pages and its feeds, and what matches a member.

One parser serves `/calls`, `/calls.atom` and `/calls.ics`, so a feed always lists what the page showed.
Unknown or malformed values are dropped and reported rather than failing the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from calltracker.domain import Region, Theme
from calltracker.storage import CallFilter, CallView, MemberView
from calltracker.text import plain_text

THEMES = tuple(t.value for t in Theme)
REGIONS = tuple(r.value for r in Region)
STATUSES = ("active", "open", "forthcoming", "closed", "all")
PAGE_SIZE = 20
MAX_CLOSING_DAYS = 3650
MAX_TEXT = 200
#: Feeds list at most this many calls, soonest deadline first.
FEED_LIMIT = 500


@dataclass(frozen=True, slots=True)
class BrowseQuery:
    """The browser's filters as the user gave them (after validation)."""

    theme: str = ""
    region: str = ""
    status: str = "active"
    fit: int | None = None
    closing: int | None = None
    q: str = ""
    page: int = 1
    ignored: tuple[str, ...] = field(default=())

    def call_filter(self, *, limit: int | None, offset: int = 0) -> CallFilter:
        return CallFilter(canonical_only=True,
            open_only=self.status == "active",
            status=self.status if self.status in ("open", "forthcoming", "closed") else None,
            theme=self.theme or None, region=self.region or None, min_fit=self.fit,
            closing_within_days=self.closing, text=self.q or None, limit=limit, offset=offset)

    def params(self, *, page: int | None = None, lang: str | None = None) -> list[tuple[str, str]]:
        """The non-default filters as query parameters (for links, pagination and feeds)."""
        out: list[tuple[str, str]] = []
        for name, value in (("theme", self.theme), ("region", self.region), ("q", self.q)):
            if value:
                out.append((name, value))
        if self.status != "active":
            out.append(("status", self.status))
        if self.fit is not None:
            out.append(("fit", str(self.fit)))
        if self.closing is not None:
            out.append(("closing", str(self.closing)))
        if page is not None and page > 1:
            out.append(("page", str(page)))
        if lang:
            out.append(("lang", lang))
        return out

    def query_string(self, *, page: int | None = None, lang: str | None = None) -> str:
        params = self.params(page=page, lang=lang)
        return "?" + urlencode(params) if params else ""


def _int(value: str, low: int, high: int) -> int | None:
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if low <= number <= high else None


def parse_query(params: Mapping[str, str]) -> BrowseQuery:
    """Validate the browser's query parameters; bad values are dropped and named in `ignored`."""
    ignored: list[str] = []

    def choice(name: str, allowed: Sequence[str], default: str = "") -> str:
        value = (params.get(name) or "").strip().lower()
        if not value:
            return default
        if value not in allowed:
            ignored.append(f"{name}={value[:40]}")
            return default
        return value

    def number(name: str, low: int, high: int) -> int | None:
        raw = (params.get(name) or "").strip()
        if not raw:
            return None
        value = _int(raw, low, high)
        if value is None:
            ignored.append(f"{name}={raw[:40]}")
        return value

    page = number("page", 1, 100_000) or 1
    return BrowseQuery(
        theme=choice("theme", THEMES), region=choice("region", REGIONS),
        status=choice("status", STATUSES, "active"), fit=number("fit", 0, 3),
        closing=number("closing", 1, MAX_CLOSING_DAYS), q=plain_text(params.get("q"))[:MAX_TEXT],
        page=page, ignored=tuple(ignored))


def member_calls(calls: Iterable[CallView], member: MemberView) -> list[CallView]:
    """The calls of a member's personal feeds: those the member wants, as in the digest."""
    return [c for c in calls if member.wants(c)]
