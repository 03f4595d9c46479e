"""incentivi.gov.it (MIMIT): the national catalogue of measures, read through the site's own Solr index.

`GET /solr/coredrupal/select?q=index_id:incentivi&wt=json` with `fl` aliasing the raw index fields to
the names of the official open-data export. Kept: national measures (tagged with 15 or more regions)
for all three regions, and regional measures of Lombardia, Piemonte or Liguria; measures closed
before the fetch are dropped. Naive timestamps are UTC renderings of Italian local time
("2019-12-31T23:00:00" is 1 January in Rome), bare "T00:00:00" values are dates.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar

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
    parse_amount,
    parse_iso_datetime,
    region_named,
    require,
    status_from_dates,
)

log = logging.getLogger(__name__)

#: export name <= Solr field (the site's own "Scarica JSON" mapping)
FIELDS: dict[str, str] = {
    "ID_Incentivo": "zs_nid", "Titolo": "zs_title", "Descrizione": "zs_body",
    "Obiettivo_Finalita": "zm_field_scopes_value", "Data_apertura": "zs_field_open_date",
    "Data_chiusura": "zs_field_close_date", "Note_di_apertura_chiusura": "zs_field_close_date_descriptor",
    "Dimensioni": "zm_field_dimensions_value", "Tipologia_Soggetto": "zm_field_subject_type_value",
    "Forma_agevolazione": "zm_field_support_form_value", "Regioni": "zm_field_regions_value",
    "Soggetto_Concedente": "zs_field_subject_grant", "Stanziamento_incentivo": "zs_field_budget_allocation",
    "Link_istituzionale": "zs_field_link", "Data_ultimo_aggiornamento": "ds_last_update",
}
NATIONAL_MIN_REGIONS = 15
ALL_REGIONS: tuple[Region, ...] = (Region.LOMBARDIA, Region.PIEMONTE, Region.LIGURIA)
_EARLY_CLOSE = re.compile(r"chius\w*\s+in\s+via\s+anticipata|chiusura\s+dello\s+sportello|sportello\s+(?:è\s+)?chius",
                          re.IGNORECASE)


class IncentiviOptions(Options):
    base_url: str = "https://www.incentivi.gov.it"
    rows: int = Field(8000, ge=1, description="rows of the one Solr request (the catalogue has ~5,900 measures)")
    include_other_regions: bool = Field(
        False, description="also keep measures of other regions (with no tracked region): off, they are thousands")


class IncentiviScraper:
    name: ClassVar[str] = "incentivi"

    def __init__(self, config: IncentiviOptions | Mapping[str, Any]) -> None:
        options: IncentiviOptions = IncentiviOptions.from_table(config)
        self.base_url = options.base_url.rstrip("/")
        self.rows = options.rows  # one GET holds the whole catalogue (~5,900 measures)
        self.include_other_regions = options.include_other_regions

    def request(self, start: int) -> Request:
        fl = ",".join(f"{alias}:{field}" for alias, field in FIELDS.items()) + ",zs_url"
        params = {"q": "index_id:incentivi", "wt": "json", "rows": str(self.rows), "start": str(start), "fl": fl}
        return Request(url=f"{self.base_url}/solr/coredrupal/select", params=params, meta={"start": start})

    def start_requests(self) -> Iterable[Request]:
        yield self.request(0)

    def parse(self, page: Page) -> Iterable[Yield]:
        data = page.json()
        response = data.get("response") if isinstance(data, dict) else None
        if not isinstance(response, dict) or not isinstance(response.get("docs"), list):
            raise ParseError(f"{page.url}: no Solr response.docs in the answer")
        docs: list[Any] = response["docs"]
        found = int(response.get("numFound", len(docs)))
        start = int(page.request.meta.get("start", 0))
        if found and not docs and start == 0:
            raise ParseError(f"{page.url}: numFound is {found} but no documents came back")
        for doc in docs:
            call = self.call_from(_aliased(doc), page)
            if call is not None:
                yield call
        if docs and start + len(docs) < found:
            yield self.request(start + len(docs))

    def call_from(self, doc: Mapping[str, Any], page: Page) -> ScrapedCall | None:
        nid = str(require(doc.get("ID_Incentivo"), "ID_Incentivo", page))
        title = clean_text(require(doc.get("Titolo"), "Titolo", page))
        names = [clean_text(n) for n in _as_list(doc.get("Regioni"))]
        interreg = "interreg" in title.lower()
        if len(names) >= NATIONAL_MIN_REGIONS:
            scope, regions = Scope.NATIONAL, ALL_REGIONS
        else:
            regions = tuple(r for r in ALL_REGIONS if r in {region_named(n) for n in names})
            scope = Scope.REGIONAL
            if not regions and not self.include_other_regions:
                return None
        if interreg:
            scope = Scope.INTERREG
        opening = parse_iso_datetime(doc.get("Data_apertura"), naive_is_utc=True)
        closing = parse_iso_datetime(doc.get("Data_chiusura"), naive_is_utc=True)
        note = clean_text(doc.get("Note_di_apertura_chiusura")) or None
        status = _status(opening, closing, note, page.fetched_at)
        if status is Status.CLOSED and page.fetched_at is not None:
            return None  # the catalogue keeps every measure since 2015; closed ones are history
        path = doc.get("zs_url")
        link = clean_text(doc.get("Link_istituzionale")) or None
        if isinstance(path, str) and path.startswith("/"):
            url = f"{self.base_url}{path}"  # the catalogue page
        else:
            url = link or f"{self.base_url}/it/catalogo"
        budget_text = clean_text(doc.get("Stanziamento_incentivo")) or None
        return ScrapedCall(
            source=self.name, external_id=nid, title=title, url=url, identifier=None,
            summary="; ".join(clean_text(s) for s in _as_list(doc.get("Obiettivo_Finalita"))) or None,
            description=clean_text(doc.get("Descrizione")) or None,
            programme=clean_text(doc.get("Soggetto_Concedente")) or None,
            scope=scope, status=status, opening_date=opening.at if opening else None,
            deadlines=(closing,) if closing else (),
            deadline_text=note if note else (None if closing else "Fino ad esaurimento risorse"),
            budget_eur=parse_amount(budget_text), budget_text=budget_text, language="it", regions=regions,
            raw={"link": link, "regions": names, "beneficiaries": _as_list(doc.get("Tipologia_Soggetto")),
                 "sizes": _as_list(doc.get("Dimensioni")), "forms": _as_list(doc.get("Forma_agevolazione")),
                 "last_update": doc.get("Data_ultimo_aggiornamento")},
        )


def _aliased(doc: Any) -> dict[str, Any]:
    """A document with export names, whether the index answered with aliases or raw field names."""
    if not isinstance(doc, dict):
        raise ParseError("a Solr document is not an object")
    out = dict(doc)
    for alias, field in FIELDS.items():
        if alias not in out and field in doc:
            out[alias] = doc[field]
    return out


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _status(opening: Deadline | None, closing: Deadline | None, note: str | None,
            when: datetime | None) -> Status | None:
    if note and _EARLY_CLOSE.search(note):
        return Status.CLOSED
    return status_from_dates(opening, closing, when)


SPEC = SourceSpec(
    name="incentivi", scraper=IncentiviScraper, base_url="https://www.incentivi.gov.it", options=IncentiviOptions,
    about="incentivi.gov.it Solr catalogue: national measures and those of the three regions",
    tested_on="real recorded Solr answer (37 measures) and raw documents (2026-09-02)",
    recordings="incentivi", demo_options={"base_url": "{replay}"},
)
