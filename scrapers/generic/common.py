"""What the generic sources share (sources defined in configuration: `type = "rss" | "html" | "json"`).

Every type takes `url` or `urls` (absolute, or paths under `base_url`; default `base_url`), a default
`region`/`regions` and `scope` for its calls, and optionally `language`, `programme`, `timezone`
(default Europe/Rome) and `link_pattern` (a regular expression a call's link must match).

- rss:  each feed item is a call (title, link, description, guid).
- html: CSS selectors: `item` (required), `title`, `link` (relative to the item; default the item's
  own `<a>`), `deadline`, `opening`, `summary`, `status`; `next_page` (a link to follow, up to
  `max_pages`); and optional `detail_*` selectors (title, deadline, opening, description, budget,
  status) read on each call's own page.
- json: `items` (a dotted path to the list, "" for the top level), `fields` (a table mapping id, title,
  url, deadline, opening, summary, description, status to dotted paths in an item), `method`,
  `params`, `url_prefix` for relative links.

An `item` selector that matches nothing on a non-empty page raises ParseError. `validate_config`
checks a table up front and returns messages "sources.NAME.KEY: what is wrong, got VALUE".
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urljoin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from selectolax.lexbor import LexborHTMLParser

from calltracker.scraping import (
    ConfigError,
    Deadline,
    Page,
    ParseError,
    Region,
    Request,
    Scope,
    ScrapedCall,
    Status,
    Yield,
    parse_amount,
    parse_dates,
)
from calltracker.scraping import text_of_html as html_to_text

log = logging.getLogger(__name__)

COMMON_KEYS = {"enabled", "base_url", "type", "min_delay", "concurrency", "url", "urls", "region", "regions",
               "scope", "language", "programme", "timezone", "link_pattern"}
DETAIL_KEYS = {"detail_title", "detail_deadline", "detail_opening", "detail_description", "detail_budget",
               "detail_status"}
HTML_SELECTORS = {"item", "title", "link", "deadline", "opening", "summary", "status", "next_page"} | DETAIL_KEYS
TYPE_KEYS: dict[str, set[str]] = {
    "rss": COMMON_KEYS | DETAIL_KEYS,
    "html": COMMON_KEYS | HTML_SELECTORS | {"max_pages"},
    "json": COMMON_KEYS | {"items", "fields", "method", "params", "url_prefix"},
}
JSON_FIELDS = {"id", "title", "url", "deadline", "opening", "summary", "description", "status"}
STATUS_WORDS: tuple[tuple[re.Pattern[str], Status], ...] = (
    (re.compile(r"in\s+apertura|forthcoming|upcoming|coming\s+soon|prossim|pre-?informazione", re.I),
     Status.FORTHCOMING),
    (re.compile(r"chius|scadut|esito|closed|expired|awarded|termin|conclus", re.I), Status.CLOSED),
    (re.compile(r"apert|open|in\s+corso|attiv", re.I), Status.OPEN),
)


def _show(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def validate_config(name: str, table: Mapping[str, Any]) -> list[str]:
    """Problems with a config-defined source's table, as "sources.NAME.KEY: what, got VALUE" (empty if fine)."""
    kind = table.get("type")
    if kind not in TYPE_KEYS:
        return [f"sources.{name}.type: expected \"rss\", \"html\" or \"json\", got {_show(kind)}"]
    problems: list[str] = []

    def bad(key: str, what: str) -> None:
        problems.append(f"sources.{name}.{key}: {what}, got {_show(table[key])}")

    for key in table:
        if key not in TYPE_KEYS[kind]:
            bad(key, f"unknown key for a {kind} source")
    for key in ("url", "language", "programme", "url_prefix"):
        if key in table and not isinstance(table[key], str):
            bad(key, "expected a string")
    if "url" in table and isinstance(table["url"], str) and not _url_like(table["url"]):
        bad("url", "expected an http(s) URL or a path starting with /")
    if "urls" in table and (not isinstance(table["urls"], list) or not table["urls"]
                            or not all(isinstance(u, str) and _url_like(u) for u in table["urls"])):
        bad("urls", "expected a non-empty list of http(s) URLs or paths starting with /")
    if "region" in table and "regions" in table:
        bad("regions", "set either region or regions, not both")
    if "region" in table and (not isinstance(table["region"], str) or table["region"] not in _values(Region)):
        bad("region", f"expected one of {', '.join(_values(Region))}")
    if "regions" in table and (not isinstance(table["regions"], list)
                               or not all(isinstance(r, str) and r in _values(Region) for r in table["regions"])):
        bad("regions", f"expected a list of {', '.join(_values(Region))}")
    if "scope" in table and table["scope"] not in _values(Scope):
        bad("scope", f"expected one of {', '.join(_values(Scope))}")
    if "timezone" in table:
        try:
            ZoneInfo(str(table["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            bad("timezone", "not a known time zone (e.g. Europe/Rome)")
    if "link_pattern" in table:
        try:
            re.compile(str(table["link_pattern"]))
        except re.error as exc:
            bad("link_pattern", f"not a valid regular expression ({exc})")
    for key in sorted((HTML_SELECTORS if kind == "html" else DETAIL_KEYS) & set(table)):
        if not isinstance(table[key], str) or not _css_ok(table[key]):
            bad(key, "not a valid CSS selector")
    if kind == "html":
        if "item" not in table:
            problems.append(f"sources.{name}.item: required for an html source (a CSS selector), got nothing")
        if "max_pages" in table and (not isinstance(table["max_pages"], int) or isinstance(table["max_pages"], bool)
                                     or not 1 <= table["max_pages"] <= 100):
            bad("max_pages", "expected an integer from 1 to 100")
    if kind == "json":
        problems.extend(_check_json(name, table))
    return problems


def _check_json(name: str, table: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if "items" not in table:
        problems.append(f"sources.{name}.items: required for a json source (a dotted path, \"\" for the top level), "
                        "got nothing")
    elif not isinstance(table["items"], str) or not _path_ok(table["items"], allow_empty=True):
        problems.append(f"sources.{name}.items: not a dotted path like \"results.0.hits\", got {_show(table['items'])}")
    fields = table.get("fields")
    if not isinstance(fields, dict):
        problems.append(f"sources.{name}.fields: expected a table with at least title and url, got {_show(fields)}")
        return problems
    for key in ("title", "url"):
        if key not in fields:
            problems.append(f"sources.{name}.fields.{key}: required (a dotted path in an item), got nothing")
    for key, value in fields.items():
        if key not in JSON_FIELDS:
            problems.append(f"sources.{name}.fields.{key}: unknown field (known: {', '.join(sorted(JSON_FIELDS))}), "
                            f"got {_show(value)}")
        elif not isinstance(value, str) or not _path_ok(value, allow_empty=False):
            problems.append(f"sources.{name}.fields.{key}: not a dotted path like \"meta.title\", got {_show(value)}")
    if "method" in table and table["method"] not in ("GET", "POST"):
        problems.append(f"sources.{name}.method: expected \"GET\" or \"POST\", got {_show(table['method'])}")
    params = table.get("params")
    if params is not None and (not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values())):
        problems.append(f"sources.{name}.params: expected a table of strings, got {_show(params)}")
    return problems


def _values(enum: Any) -> list[str]:
    return [member.value for member in enum]


def _url_like(value: str) -> bool:
    return value.startswith(("http://", "https://", "/"))


def _css_ok(selector: str) -> bool:
    try:
        LexborHTMLParser("").css(selector)
    except Exception:  # selectolax raises its own error type for a selector it cannot parse
        return False
    return True


def _path_ok(path: str, *, allow_empty: bool) -> bool:
    if path == "":
        return allow_empty
    return all(re.fullmatch(r"[^.\s]+", part) for part in path.split("."))


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path ("results.0.hits"); None when any step is missing."""
    if path == "":
        return data
    for part in path.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return None
    return data


def _status_of(label: str | None) -> Status | None:
    if not label:
        return None
    for pattern, status in STATUS_WORDS:
        if pattern.search(label):
            return status
    return None


class ConfiguredScraper:
    """What the three types share: settings, start URLs, building a call from found pieces."""

    name: ClassVar[str] = "configured"
    source_type: ClassVar[str] = ""

    def __init__(self, config: Mapping[str, Any], name: str | None = None) -> None:
        #: the [sources.NAME] key: what the calls are stored under (the class name is only the type)
        self.source_name = name or self.name
        problems = validate_config(self.source_name, {"type": self.source_type, **config})
        if problems:
            raise ConfigError(problems[0])
        self.config = dict(config)
        self.base_url = str(config["base_url"]).rstrip("/")
        urls = config.get("urls") or [config.get("url") or self.base_url]
        self.urls = [urljoin(self.base_url + "/", u) if u.startswith("/") else u for u in urls]
        region = config.get("region")
        names = [region] if region else list(config.get("regions", []))
        self.regions = tuple(Region(r) for r in names)
        self.scope = Scope(config.get("scope", "other"))
        self.language = config.get("language")
        self.programme = config.get("programme")
        self.tz = ZoneInfo(str(config.get("timezone", "Europe/Rome")))
        pattern = config.get("link_pattern")
        self.link_pattern = re.compile(str(pattern)) if pattern else None

    def link_ok(self, url: str) -> bool:
        return self.link_pattern is None or self.link_pattern.search(url) is not None

    def build(self, page: Page, *, title: str, url: str, external_id: str | None = None,
              deadline_text: str | None = None, opening_text: str | None = None, summary: str | None = None,
              description: str | None = None, status_label: str | None = None, budget_text: str | None = None,
              raw: Mapping[str, Any] | None = None) -> ScrapedCall:
        parsed = parse_dates(deadline_text, tz=self.tz)
        opening = parse_dates(opening_text, tz=self.tz)
        opening_at = opening.opening or (opening.deadline.at if opening.deadline else None) or parsed.opening
        status = _status_of(status_label) or _status_from(parsed.deadline, opening_at, page.fetched_at)
        return ScrapedCall(
            source=self.source_name, external_id=external_id or url, title=title, url=url,
            summary=summary or None, description=description or None, programme=self.programme,
            scope=self.scope, status=status, opening_date=opening_at, deadlines=parsed.deadlines,
            deadline_text=parsed.leftover if parsed.leftover or not parsed.deadlines else None,
            budget_eur=parse_amount(budget_text), budget_text=budget_text or None,
            language=self.language, regions=self.regions, raw=dict(raw or {}),
        )

    def detail_request(self, call: ScrapedCall) -> Request | None:
        if not any(k in self.config for k in DETAIL_KEYS):
            return None
        return Request(url=call.url, callback="parse_detail", meta={"call": call}, fallback=(call,))

    def parse_detail(self, page: Page) -> Iterable[Yield]:
        """A call's own page, read with the `detail_*` selectors; the listing's call is the fallback."""
        base: ScrapedCall = page.request.meta["call"]
        tree = LexborHTMLParser(page.text)

        def pick(key: str) -> str | None:
            selector = self.config.get(key)
            if not selector:
                return None
            node = tree.css_first(selector)
            if node is None:
                raise ParseError(f"{page.url}: {self.source_name}.{key} {selector!r} matches nothing")
            return html_to_text(node.html) or None

        deadline_text = pick("detail_deadline")
        opening_text = pick("detail_opening")
        found = self.build(page, title=pick("detail_title") or base.title, url=base.url,
                           external_id=base.external_id, deadline_text=deadline_text, opening_text=opening_text,
                           description=pick("detail_description") or base.description,
                           summary=base.summary, status_label=pick("detail_status"),
                           budget_text=pick("detail_budget"), raw=base.raw)
        if deadline_text is None and opening_text is None:
            found = _replace_dates(found, base)
        yield found

    def start_requests(self) -> Iterable[Request]:
        for url in self.urls:
            yield Request(url=url, meta={"page": 0})

    def emit(self, call: ScrapedCall) -> Iterable[Yield]:
        follow = self.detail_request(call)
        yield follow if follow is not None else call


def _replace_dates(found: ScrapedCall, base: ScrapedCall) -> ScrapedCall:
    return replace(found, deadlines=base.deadlines, opening_date=base.opening_date, deadline_text=base.deadline_text,
                   status=found.status or base.status)


def _status_from(deadline: Deadline | None, opening: datetime | None, when: datetime | None) -> Status | None:
    if when is None:
        return None
    if deadline is not None and deadline.passed(when):
        return Status.CLOSED
    if opening is not None and opening > when:
        return Status.FORTHCOMING
    return None
