"""The scraper contract (pure): requests a scraper asks for, pages it gets back, what `parse` yields.

This is the ONLY module of calltracker a scraper imports (tests/test_architecture.py checks it): the
domain types, the parse-time helpers (dates, amounts, text, PDF text) and the spec are re-exported here.

A source is one module in `scrapers/` declaring `SPEC = SourceSpec(...)`: its name, default base URL,
options model (strict pydantic: an unknown or mistyped option is a config error naming the dotted key)
and the recordings the demo and the tests replay. Registration, defaults, the documentation of
`config.example.toml` and the demo all derive from the specs (`scrapers.specs()`).

A scraper is a small class with a `name`, `start_requests()` and a pure
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

from pydantic import BaseModel, ConfigDict

from calltracker import text
from calltracker.domain import Deadline, Document, Region, Scope, ScrapedCall, Status
from calltracker.errors import ConfigError, ParseError
from calltracker.normalize import (
    ROME,
    clean_text,
    parse_amount,
    parse_dates,
    parse_iso_datetime,
    region_named,
    status_from_dates,
)
from calltracker.normalize import html_to_text as text_of_html
from calltracker.pdftext import is_pdf, pdf_pages

__all__ = [
    "ROME", "CallDocument", "ConfigError", "Deadline", "Document", "Options", "Page", "ParseError", "Part", "Region",
    "Request", "Scope", "ScrapedCall", "Scraper", "SourceSpec", "Status", "Yield", "clean_text", "html_to_text",
    "is_pdf", "parse_amount", "parse_dates", "parse_iso_datetime", "pdf_pages", "region_named", "require",
    "rss_channel", "status_from_dates", "text_of_html",
]


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
    #: A tighter size limit than `[http] max_response_bytes` (attached documents): larger answers fail.
    max_bytes: int | None = None


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


@dataclass(frozen=True, slots=True)
class CallDocument:
    """What a document follow-up yields: the text of one document of the call `external_id` (same source).

    The engine stores it with that call (replacing an earlier copy of the same URL, never removing others).
    """

    external_id: str
    document: Document


Yield = ScrapedCall | Request | CallDocument


class Scraper(Protocol):
    """What every source module provides. Construct with the source's config table (a mapping)."""

    name: ClassVar[str]

    def start_requests(self) -> Iterable[Request]: ...

    def parse(self, page: Page) -> Iterable[Yield]: ...


#: Keys of a `[sources.NAME]` table that the engine reads, not the scraper.
ENGINE_KEYS = frozenset({"enabled", "type", "min_delay", "concurrency"})


class Options(BaseModel):
    """Base of every source's options model: strict, closed (unknown keys are errors), frozen.

    Subclasses add their own fields with defaults; `base_url` is common to all.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    base_url: str

    @classmethod
    def from_table(cls, table: Options | Mapping[str, Any]) -> Any:
        """The options of a `[sources.NAME]` table (the engine's own keys left out); raises ValidationError."""
        if isinstance(table, Options):
            return table
        return cls.model_validate({k: v for k, v in table.items() if k not in ENGINE_KEYS})


@dataclass(frozen=True)
class SourceSpec:
    """What a source module declares about itself (`SPEC` in `scrapers/NAME.py`).

    - `recordings`: a folder under calltracker/data/replay/ holding the real recorded payloads and the
      `manifest.json` the replay server serves; the demo and the all-sources test replay it.
    - `demo_options`: options the demo sets; the text "{replay}" becomes the replay server's URL.
    - `demo_note`: one line the demo prints about what it does not replay (and why).
    - `tested_on`: for the README's sources table (what the scraper was tested on, with its date).
    """

    name: str
    scraper: type
    base_url: str
    options: type[Options]
    about: str
    tested_on: str
    recordings: str | None = None
    demo_options: Mapping[str, Any] = field(default_factory=dict)
    demo_note: str | None = None

    def build(self, table: Mapping[str, Any]) -> Scraper:
        scraper: Scraper = self.scraper(self.options.from_table(table))
        return scraper

    def option_docs(self) -> list[tuple[str, Any, str]]:
        """(key, default, description) of every option besides base_url, in declaration order."""
        rows = []
        for key, info in self.options.model_fields.items():
            if key == "base_url":
                continue
            rows.append((key, info.default, info.description or ""))
        return rows


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
