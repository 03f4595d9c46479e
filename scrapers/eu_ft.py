"""EU Funding & Tenders Portal, through the SEDIA search API (the portal's own backend).

The API wants a multipart POST whose `query`, `languages` and `sort` are JSON *file* parts: plain form
fields get a 500 and a query in the URL is silently ignored. We ask for grants (type 1), calls for
proposals (2) and cascade-funding calls (8) that are forthcoming or open, in English, sorted by
identifier so that paging is stable, and page through `totalResults`.

Every metadata value is a list of strings; `budgetOverview` and `actions` are JSON inside a string and
may be cut short. Stale `SEDIA_PRD_CENTRICITY` rows (old topics still marked open) are dropped, and so
are duplicates (the richest row of an id wins).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time
from functools import cache
from importlib import resources
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import Field

from calltracker.scraping import (
    Deadline,
    Options,
    Page,
    ParseError,
    Part,
    Request,
    Scope,
    ScrapedCall,
    SourceSpec,
    Status,
    Yield,
    html_to_text,
    require,
)

SEARCH_PATH = "/search-api/prod/rest/search"
PORTAL_TOPIC = "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/"
BRUSSELS = ZoneInfo("Europe/Brussels")

STATUS_CODES = {"31094501": Status.FORTHCOMING, "31094502": Status.OPEN, "31094503": Status.CLOSED}
TOPIC_TYPES = frozenset({"1", "2"})
CASCADE_TYPE = "8"
STALE_DATASOURCES = frozenset({"SEDIA_PRD_CENTRICITY", "SEDIA_FAQ"})

QUERY = {"bool": {"must": [
    {"terms": {"type": ["1", "2", "8"]}},
    {"terms": {"status": ["31094501", "31094502"]}},
]}}
LANGUAGES = ["en"]
SORT = {"field": "identifier", "order": "ASC"}
LANGUAGE_SUFFIX = re.compile(r"(?<=[A-Z0-9_])[a-z]{2}$")  # "11143COMPETITIVE_CALLen" -> "11143COMPETITIVE_CALL"
RAW_KEYS = ("callIdentifier", "callTitle", "deadlineModel", "frameworkProgramme", "typesOfAction", "type",
            "projectAcronym", "DATASOURCE")


@cache
def programme_names() -> dict[str, str]:
    """frameworkProgramme code -> programme name, from the table shipped in calltracker/data."""
    text = resources.files("calltracker").joinpath("data/eu_programmes.json").read_text(encoding="utf-8")
    return {code: entry["name"] for code, entry in json.loads(text)["programmes"].items()}


def json_part(name: str, value: Any) -> Part:
    return Part(name=name, content=json.dumps(value).encode(), content_type="application/json",
                filename=f"{name}.json")


def first(metadata: Mapping[str, Any], key: str) -> str | None:
    values = metadata.get(key)
    if isinstance(values, list):
        return next((str(v) for v in values if v not in (None, "")), None)
    return str(values) if values not in (None, "") else None


def to_deadline(value: str, label: str | None = None) -> Deadline:
    """A SEDIA deadline: Brussels wall-clock time behind a "+0000" label; midnight means "date only".

    The API writes the official cut-off (e.g. 17:00 Brussels time) as `T17:00:00.000+0000`, and a day
    whose time it does not know as UTC midnight. A date-only deadline is kept as the end of that day in
    Brussels, so nothing treats it as passed before the day is over.
    """
    try:
        wall = datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise ParseError(f"deadline {value!r} is not a SEDIA timestamp") from None
    if wall.time() == time(0):
        return Deadline(at=datetime.combine(wall.date(), time(23, 59, 59), BRUSSELS), date_only=True, label=label)
    return Deadline(at=wall.replace(tzinfo=BRUSSELS), label=label)


def opening(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(datetime.strptime(value[:10], "%Y-%m-%d").date(), time(0), BRUSSELS)
    except ValueError:
        return None


def deadlines(metadata: Mapping[str, Any]) -> tuple[Deadline, ...]:
    values = sorted({str(v) for v in metadata.get("deadlineDate") or [] if v})
    two_stage = (first(metadata, "deadlineModel") or "").lower() == "two-stage" and len(values) == 2
    return tuple(to_deadline(v, f"stage {i}" if two_stage else None) for i, v in enumerate(values, 1))


def topic_budget(metadata: Mapping[str, Any], identifier: str) -> tuple[float | None, str | None]:
    """The topic's own budget from `budgetOverview` (JSON in a string, often cut short: then unknown)."""
    text = first(metadata, "budgetOverview")
    if not text:
        return None, None
    try:
        overview = json.loads(text)
    except ValueError:
        return None, None
    # The map is per call: several sibling topics share it, so take only the entries of this topic.
    entries = [e for actions in (overview.get("budgetTopicActionMap") or {}).values() for e in actions
               if str(e.get("action", "")).split(" ")[0] == identifier]
    if not entries:
        return None, None
    total = 0.0
    for entry in entries:
        for amount in (entry.get("budgetYearMap") or {}).values():
            try:
                total += float(amount)
            except (TypeError, ValueError):
                continue
    if not total:
        return None, None
    text_parts = [f"EUR {total:,.0f}"]
    grants = sum(int(e.get("expectedGrants") or 0) for e in entries)
    if grants:
        text_parts.append(f"{grants} grant{'s' if grants != 1 else ''} expected")
    low = min((e.get("minContribution") for e in entries if e.get("minContribution")), default=None)
    high = max((e.get("maxContribution") for e in entries if e.get("maxContribution")), default=None)
    if low and high:
        each = f"EUR {low:,.0f}" if low == high else f"EUR {low:,.0f}-{high:,.0f}"
        text_parts.append(f"{each} per grant")
    return total, "; ".join(text_parts)


def richness(result: Mapping[str, Any]) -> tuple[int, int, int, int]:
    md = result.get("metadata") or {}
    return (int(first(md, "language") == "en" or result.get("language") == "en"), int(bool(first(md, "status"))),
            int(bool(first(md, "descriptionByte") or first(md, "description"))), len(md))


BASE_URL = "https://api.tech.ec.europa.eu"


class EuFtOptions(Options):
    base_url: str = BASE_URL
    page_size: int = Field(100, ge=1, le=1000, description="results per search page")
    max_pages: int = Field(60, ge=1, description="at most this many search pages a run")


class EuFtScraper:
    """Forthcoming and open EU topics, calls for proposals and cascade-funding calls."""

    name: ClassVar[str] = "eu_ft"

    def __init__(self, config: EuFtOptions | Mapping[str, Any]) -> None:
        options: EuFtOptions = EuFtOptions.from_table(config)
        self.base_url = options.base_url.rstrip("/")
        self.page_size = options.page_size
        self.max_pages = options.max_pages

    def search_request(self, page_number: int) -> Request:
        return Request(
            url=self.base_url + SEARCH_PATH, method="POST",
            params={"apiKey": "SEDIA", "text": "***", "pageSize": str(self.page_size),
                    "pageNumber": str(page_number)},
            parts=(json_part("query", QUERY), json_part("languages", LANGUAGES), json_part("sort", SORT)),
            meta={"page": page_number},
        )

    def start_requests(self) -> Iterable[Request]:
        return [self.search_request(1)]

    def parse(self, page: Page) -> Iterable[Yield]:
        data = page.json()
        if not isinstance(data, dict):
            raise ParseError(f"{page.url}: search response is not a JSON object")
        results = data.get("results")
        if not isinstance(results, list):
            raise ParseError(f"{page.url}: search response has no results list: the API may have changed")
        total = require(data.get("totalResults"), "totalResults", page)
        yield from self.calls(results, page)
        if page.request.meta.get("page", 1) == 1:
            pages = min(math.ceil(int(total) / self.page_size), self.max_pages)
            for number in range(2, pages + 1):
                yield self.search_request(number)

    def calls(self, results: Sequence[Any], page: Page | None = None) -> list[ScrapedCall]:
        """The calls of one page of results: stale rows dropped, duplicates merged into the richest row."""
        best: dict[str, tuple[tuple[int, int, int, int], Mapping[str, Any]]] = {}
        for result in results:
            md = result.get("metadata") if isinstance(result, dict) else None
            if not isinstance(md, dict):
                raise ParseError(f"{page.url if page else 'search result'}: a result has no metadata")
            if STALE_DATASOURCES.intersection(md.get("DATASOURCE") or []):
                continue
            kind = first(md, "type")
            if kind not in TOPIC_TYPES and kind != CASCADE_TYPE:
                continue
            key = self.external_id(result, md, page)
            rank = richness(result)
            if key not in best or rank > best[key][0]:
                best[key] = (rank, result)
        return [self.call(result, key, page) for key, (_, result) in best.items()]

    def external_id(self, result: Mapping[str, Any], md: Mapping[str, Any], page: Page | None) -> str:
        identifier = str(require(first(md, "identifier"), "metadata.identifier", page))
        if first(md, "type") != CASCADE_TYPE:
            return identifier
        # Cascade calls reuse their parent topic's identifier (and sometimes one URL for two offers):
        # the search reference, without its language suffix, is what tells them apart.
        reference = str(require(result.get("reference"), "reference of a cascade call", page))
        return "cascade:" + LANGUAGE_SUFFIX.sub("", reference)

    def call(self, result: Mapping[str, Any], external_id: str, page: Page | None) -> ScrapedCall:
        md: Mapping[str, Any] = result["metadata"]
        identifier = str(first(md, "identifier"))
        cascade = first(md, "type") == CASCADE_TYPE
        if cascade:
            title = first(md, "callTitle") or result.get("summary") or first(md, "title")
            url = str(result.get("url") or first(md, "url") or PORTAL_TOPIC + identifier)
            budget_text = first(md, "budget")
            try:
                budget: float | None = float(budget_text) if budget_text else None
            except ValueError:
                budget = None
            budget_text = f"EUR {budget:,.0f}" if budget else None
            description = html_to_text(first(md, "description"))
        else:
            title = first(md, "title")
            url = PORTAL_TOPIC + identifier
            budget, budget_text = topic_budget(md, identifier)
            description = html_to_text(first(md, "descriptionByte"))
        code = first(md, "frameworkProgramme")
        return ScrapedCall(
            source=self.name, external_id=external_id, identifier=identifier,
            title=" ".join(str(require(title, f"title of {identifier}", page)).split()), url=url,
            description=description, programme=programme_names().get(code or ""), scope=Scope.EU,
            status=STATUS_CODES.get(first(md, "status") or ""), opening_date=opening(first(md, "startDate")),
            deadlines=deadlines(md), budget_eur=budget, budget_text=budget_text, language="en",
            raw={k: md[k] for k in RAW_KEYS if k in md} | {"reference": result.get("reference")},
        )


SPEC = SourceSpec(
    name="eu_ft", scraper=EuFtScraper, base_url=BASE_URL, options=EuFtOptions,
    about="EU Funding & Tenders search API (multipart POST, types 1/2/8, open and forthcoming; deadlines kept "
          "in Brussels time)",
    tested_on="real recorded search answers (AarhusAI and LaunchPad-v2 fixtures, August-September 2026)",
    recordings="eu_ft", demo_options={"base_url": "{replay}"},
)
