"""ESA-STAR: the tender actions of the European Space Agency, from the publication site's JSON API.

The site is an Angular shell; its API answers plain GETs. As recorded (2026-08-31, see
calltracker/data/replay/esa/README.md): `GET /api/tenderAction/filter/{take}` for the first page and
`/api/tenderAction/filter/{take}/{start}` after it, with `all=true&sortBy=FirstPublicationDate&sortDir=1`
(newest first), answering `{"total": N, "items": [...]}` with every status mixed. Items carry `id`,
`tanumber`, `title`, `description` (may be null), `status.id` (1 intended, 2 issued, 3 tender opening,
5 evaluation, 6 negotiation, 7 awarded, 8-10 completed), `tenderType.id` (5 open competition, 7 call for
proposals), `openDate`, `closingDate` (null until the call is issued), `clarificationRequestDeadline`,
`isArchived`, `isCancelled` and `countries` as bare ids (`[{"id": 13}]`, their names are not in the answer).

Dates have no zone: they are read as Central European time (Europe/Paris), the zone of ESA's tender
deadlines ("13:00 CET/CEST"); this is an assumption the recording cannot confirm. Intended actions are
forthcoming; issued ones open until their closing (or forthcoming before their openDate); the rest closed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import Field

from calltracker.scraping import (
    Deadline,
    Options,
    Page,
    ParseError,
    Region,
    Request,
    Scope,
    ScrapedCall,
    SourceSpec,
    Status,
    Yield,
    clean_text,
    parse_iso_datetime,
    require,
)
from calltracker.scraping import text_of_html as html_to_text

log = logging.getLogger(__name__)

BASE_URL = "https://esastar-publication-ext.sso.esa.int"
PARIS = ZoneInfo("Europe/Paris")
TENDER_TYPES = {5: "Open Competition", 7: "Call for Proposals"}
STATUS_NAMES = {1: "Intended", 2: "Issued", 3: "Tender Opening in Progress", 5: "Evaluation", 6: "Negotiation",
                7: "Awarded", 8: "TOB Completed", 9: "Completed", 10: "Finalised - Stage 1 completed"}
INTENDED, ISSUED = 1, 2
#: Italy is an ESA member state; the countries of an action are ids whose names the API does not give, so
#: every action is a candidate for the three regions and the classifier reads the text for restrictions.
ALL_REGIONS: tuple[Region, ...] = (Region.LOMBARDIA, Region.PIEMONTE, Region.LIGURIA)


class EsaOptions(Options):
    base_url: str = BASE_URL
    page_size: int = Field(50, ge=1, le=200, description="tender actions per request (the site's own page size)")
    max_pages: int = Field(20, ge=1, description="at most this many pages a run")
    keep_closed: bool = Field(False, description="also store actions past their submission phase (awarded...)")


class EsaScraper:
    name: ClassVar[str] = "esa"

    def __init__(self, config: EsaOptions | Mapping[str, Any]) -> None:
        options: EsaOptions = EsaOptions.from_table(config)
        self.options = options
        self.base_url = options.base_url.rstrip("/")

    def request(self, start: int) -> Request:
        take = self.options.page_size
        path = f"/api/tenderAction/filter/{take}" + (f"/{start}" if start else "")
        return Request(url=self.base_url + path, params={"all": "true", "sortBy": "FirstPublicationDate",
                                                         "sortDir": "1"},
                       headers={"Accept": "application/json"}, meta={"start": start})

    def start_requests(self) -> Iterable[Request]:
        yield self.request(0)

    def parse(self, page: Page) -> Iterable[Yield]:
        data = page.json()
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ParseError(f"{page.url}: ESA-STAR answer has no 'items' list")
        total = data.get("total")
        if not isinstance(total, int) or isinstance(total, bool):
            raise ParseError(f"{page.url}: ESA-STAR answer has no integer 'total'")
        start = int(page.request.meta.get("start", 0))
        if not items and start == 0 and total:
            raise ParseError(f"{page.url}: total is {total} but no items came back")
        for item in items:
            if not isinstance(item, dict):
                raise ParseError(f"{page.url}: an ESA-STAR item is not an object")
            call = self.call_from(item, page)
            if call.status is not Status.CLOSED or self.options.keep_closed:
                yield call
        number = start // self.options.page_size + 1
        if items and start + len(items) < total and number < self.options.max_pages:
            yield self.request(start + len(items))

    def call_from(self, item: Mapping[str, Any], page: Page) -> ScrapedCall:
        item_id = str(require(item.get("id"), "item id", page))
        title = clean_text(require(item.get("title"), "item title", page))
        opening = _date(item.get("openDate"))
        closing = _date(item.get("closingDate"))
        clarification = _date(item.get("clarificationRequestDeadline"))
        status_id = _id(item.get("status"))
        kind = _id(item.get("tenderType"))
        description = html_to_text(str(item.get("description") or "")) or None
        return ScrapedCall(
            source=self.name, external_id=item_id, identifier=clean_text(item.get("tanumber")) or None,
            title=title, url=f"{self.base_url}/ESATenderActions/details/{item_id}",
            description=description,
            programme=f"ESA {TENDER_TYPES.get(kind, 'tender action')}" if kind else "ESA",
            scope=Scope.OTHER, status=_status(item, status_id, opening, closing, page.fetched_at),
            opening_date=opening.at if opening else None, deadlines=(closing,) if closing else (),
            deadline_text=None if closing else (
                "Intended: the closing date is published when the call is issued" if status_id == INTENDED
                else None),
            language="en", regions=ALL_REGIONS,
            raw={"status_id": status_id, "status": STATUS_NAMES.get(status_id or 0), "tender_type": kind,
                 "activity_number": item.get("activityNumber"), "country_ids": _ids(item.get("countries")),
                 "clarification_deadline": clarification.at.isoformat() if clarification else None,
                 "first_published": item.get("firstPublicationDate"), "stage": item.get("stageNumber")},
        )


def _id(value: Any) -> int | None:
    raw: Any = value.get("id") if isinstance(value, dict) else value
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _ids(values: Any) -> list[int]:
    return [i for i in (_id(v) for v in values or []) if i is not None] if isinstance(values, list) else []


def _date(value: Any) -> Deadline | None:
    if not value or not isinstance(value, str):
        return None
    found = parse_iso_datetime(value.strip(), tz=PARIS)
    if found is None:
        raise ParseError(f"ESA-STAR date {value!r} is not an ISO timestamp")
    return found


def _status(item: Mapping[str, Any], status_id: int | None, opening: Deadline | None, closing: Deadline | None,
            when: datetime | None) -> Status:
    if item.get("isCancelled") is True or item.get("isArchived") is True:
        return Status.CLOSED
    if status_id == INTENDED:
        return Status.FORTHCOMING
    if status_id != ISSUED:
        return Status.CLOSED
    if when is not None and closing is not None and closing.passed(when):
        return Status.CLOSED
    if when is not None and opening is not None and opening.at > when:
        return Status.FORTHCOMING
    return Status.OPEN


SPEC = SourceSpec(
    name="esa", scraper=EsaScraper, base_url=BASE_URL, options=EsaOptions,
    about="ESA-STAR tender actions (open competitions and calls for proposals), intended and issued",
    tested_on="three real items of the recorded answer of 2026-08-31 (valentinopapangeok/publicFunding), "
              "in the answer's own envelope",
    recordings="esa", demo_options={"base_url": "{replay}"},
)
