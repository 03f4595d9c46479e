"""ESA-STAR: open competitions and calls for proposals from the publication site's JSON API.

The site is an Angular shell; its API answers plain GETs:
`/api/tenderAction/filter/{take}/{skip}?tType=5|7&isF=false&isA=false&all=true&sortBy=...&sortDir=1`
(tType 5 open competition, 7 call for proposals) with `{"total": N, "items": [...]}`. No response has
been recorded: field names follow SOURCES.md §6, value formats are read defensively (ISO instants,
else day-first text). Times are Central European (ESA's official zone for tender deadlines).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from calltracker.domain import Deadline, Region, Scope, ScrapedCall, Status
from calltracker.errors import ParseError
from calltracker.normalize import clean_text, html_to_text, parse_dates, parse_iso_datetime
from calltracker.scraping import Page, Request, Yield, require

log = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
TENDER_TYPES = {5: "Open Competition", 7: "Call for Proposals"}
#: ESA-STAR status ids: 1 Intended, 2 Issued, 3 Tender Opening in Progress, 5 Evaluation, 6 Negotiation,
#: 7 Awarded, 8 TOB Completed, 9 Completed, 10 Finalised - Stage 1 completed
STATUS_IDS = {1: Status.FORTHCOMING, 2: Status.OPEN}
ALL_REGIONS: tuple[Region, ...] = (Region.LOMBARDIA, Region.PIEMONTE, Region.LIGURIA)


class EsaScraper:
    name: ClassVar[str] = "esa"
    config_keys: ClassVar[dict[str, type]] = {"tender_types": list, "page_size": int}

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.base_url = str(config["base_url"]).rstrip("/")
        self.tender_types = [int(t) for t in config.get("tender_types", [5, 7])]
        self.page_size = int(config.get("page_size", 50))

    def request(self, tender_type: int, skip: int) -> Request:
        params = {"tType": str(tender_type), "isF": "false", "isA": "false", "all": "true",
                  "sortBy": "FirstPublicationDate", "sortDir": "1"}
        return Request(url=f"{self.base_url}/api/tenderAction/filter/{self.page_size}/{skip}", params=params,
                       headers={"Accept": "application/json"}, meta={"tType": tender_type, "skip": skip})

    def start_requests(self) -> Iterable[Request]:
        for tender_type in self.tender_types:
            yield self.request(tender_type, 0)

    def parse(self, page: Page) -> Iterable[Yield]:
        data = page.json()
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ParseError(f"{page.url}: ESA-STAR answer has no 'items' list")
        total = data.get("total")
        if not isinstance(total, int):
            raise ParseError(f"{page.url}: ESA-STAR answer has no integer 'total'")
        for item in items:
            if not isinstance(item, dict):
                raise ParseError(f"{page.url}: an ESA-STAR item is not an object")
            yield self.call_from(item, page)
        skip = int(page.request.meta.get("skip", 0))
        if items and skip + len(items) < total:
            yield self.request(int(page.request.meta.get("tType", 5)), skip + len(items))

    def call_from(self, item: Mapping[str, Any], page: Page) -> ScrapedCall:
        item_id = str(require(item.get("id"), "item id", page))
        title = clean_text(require(item.get("title"), "item title", page))
        opening = _date(item.get("openDate"))
        closing = _date(item.get("closingDate"))
        status = _status(item, closing, page.fetched_at)
        kind = _id(item.get("tenderType"))
        countries = item.get("countries") or []
        regions = ALL_REGIONS if not countries or any(_is_italy(c) for c in countries) else ()
        clarification = _date(item.get("clarificationRequestDeadline"))
        deadlines = (closing,) if closing else ()
        return ScrapedCall(
            source=self.name, external_id=item_id, identifier=clean_text(item.get("tanumber")) or None,
            title=title, url=f"{self.base_url}/ESATenderActions/details/{item_id}",
            description=html_to_text(str(item.get("description") or "")) or None,
            programme=f"ESA {TENDER_TYPES.get(kind, 'tender action')}" if kind else "ESA",
            scope=Scope.OTHER, status=status, opening_date=opening.at if opening else None,
            deadlines=deadlines,
            deadline_text=None if closing else (clean_text(str(item.get("closingDate") or "")) or None),
            language="en", regions=regions,
            raw={"status_id": _id(item.get("status")), "tender_type": kind, "countries": countries,
                 "clarification_deadline": clarification.at.isoformat() if clarification else None,
                 "archived": item.get("isArchived"), "cancelled": item.get("isCancelled")},
        )


def _id(value: Any) -> int | None:
    raw: Any = value.get("id") if isinstance(value, dict) else value
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _date(value: Any) -> Deadline | None:
    if not value or not isinstance(value, str):
        return None
    return parse_iso_datetime(value.strip(), tz=PARIS) or parse_dates(value, tz=PARIS).deadline


def _is_italy(country: Any) -> bool:
    # the shape of a country entry is not recorded (a name, a code or an object): look at its text
    text = json.dumps(country, ensure_ascii=False).lower()
    return "ital" in text or '"it"' in text or '"ita"' in text


def _status(item: Mapping[str, Any], closing: Deadline | None, when: datetime | None) -> Status | None:
    if item.get("isCancelled") is True or item.get("isArchived") is True:
        return Status.CLOSED
    status_id = _id(item.get("status"))
    if status_id is None:
        return None
    status = STATUS_IDS.get(status_id, Status.CLOSED)
    if status is Status.OPEN and closing is not None and when is not None and closing.passed(when):
        return Status.CLOSED
    return status
