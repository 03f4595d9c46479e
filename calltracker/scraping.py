"""The scraper contract (pure): requests a scraper asks for, pages it gets back, what `parse` yields.

A scraper is a small class in `scrapers/` with a `name`, `start_requests()` and a pure
`parse(page)`. The engine (pipeline + http) does all fetching, politeness, robots.txt, conditional
requests and storage; a scraper never opens a connection. `parse` yields `ScrapedCall`s and follow-up
`Request`s; it raises `ParseError` when a required element or field is missing -- it never silently
yields nothing for a page whose layout changed.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from calltracker import text
from calltracker.domain import ScrapedCall
from calltracker.errors import ParseError


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a multipart/form-data body. `filename` set makes it a *file* part."""

    name: str
    content: bytes
    content_type: str = "text/plain"
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """What a scraper asks the engine to fetch.

    `callback` names the scraper method that parses the response (default `parse`).
    `meta` carries context to that callback (page number, a partial call to enrich).
    `fallback` is what the engine keeps if this follow-up fails: e.g. a call known from a listing
    whose detail page could not be fetched is still stored, never lost.
    """

    url: str
    method: str = "GET"
    params: Mapping[str, str] | None = None
    form: Mapping[str, str] | None = None
    parts: tuple[Part, ...] = ()
    json_body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    callback: str = "parse"
    meta: Mapping[str, Any] = field(default_factory=dict)
    fallback: tuple[ScrapedCall, ...] = ()
    conditional: bool = True


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched response, as handed to `parse`. Tests build these from recorded payloads."""

    request: Request
    url: str
    status: int
    body: bytes
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)
    fetched_at: datetime | None = None

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError as exc:
            raise ParseError(f"{self.url}: response is not valid JSON ({exc})") from exc

    @classmethod
    def recorded(
        cls, body: bytes | str, *, url: str = "http://recorded.invalid/", request: Request | None = None,
        status: int = 200, headers: Mapping[str, str] | None = None,
    ) -> Page:
        """A page built from a recorded payload (tests, the offline demo)."""
        raw = body.encode() if isinstance(body, str) else body
        return cls(
            request=request or Request(url=url), url=url, status=status, body=raw,
            text=raw.decode("utf-8", errors="replace"), headers=dict(headers or {}),
        )


Yield = ScrapedCall | Request


class Scraper(Protocol):
    """What every source module provides. Construct with the source's config table (a mapping)."""

    name: ClassVar[str]

    def start_requests(self) -> Iterable[Request]: ...

    def parse(self, page: Page) -> Iterable[Yield]: ...


def require(value: Any, what: str, page: Page | None = None) -> Any:
    """Return `value`, or raise ParseError naming what is missing (and where)."""
    if value is None or value == "" or value == [] or value == {}:
        where = f" on {page.url}" if page is not None else ""
        raise ParseError(f"required {what} is missing{where}: the layout may have changed")
    return value


def html_to_text(fragment: str | None) -> str | None:
    """`calltracker.text.html_to_text` for scrapers: None instead of "" for an empty fragment."""
    return text.html_to_text(fragment) or None


def rss_channel(page: Page) -> ET.Element:
    """The <channel> of an RSS 2.0 page; ParseError when the body is not XML or not RSS 2.0."""
    try:
        root = ET.fromstring(page.body)
    except ET.ParseError as exc:
        raise ParseError(f"{page.url}: feed is not valid XML ({exc})") from exc
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise ParseError(f"{page.url}: not an RSS 2.0 feed (root <{root.tag}>)")
    return channel
