"""Regione Lombardia: the open-data register of regional calls, enriched from Bandi e Servizi pages.

The list comes from the Socrata dataset `bukx-h2uy` ("Anagrafica dei bandi regionali", SODA API, no
key), filtered to calls not yet closed; an empty `chiusura_adesione` means an always-open "sportello"
call. The dataset has dates only, so each call's page on www.bandi.regione.lombardia.it supplies the
deadline's hour, the status label, the description and the budget. That portal answers HTTP 200 with
`<title>Errore | ...` for unknown codes: such a page raises ParseError, and the call known from the
dataset is kept through `Request.fallback`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from pydantic import Field
from selectolax.lexbor import LexborHTMLParser

from calltracker.scraping import (
    ROME,
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
    parse_dates,
    parse_iso_datetime,
    require,
    status_from_dates,
)
from calltracker.scraping import text_of_html as html_to_text

log = logging.getLogger(__name__)

DATASET = "bukx-h2uy"
EXCLUDED_TYPES = {"concorsi pubblici e avvisi sul personale"}  # job competitions, not funding
STATUS_LABELS = {"aperto": Status.OPEN, "chiuso": Status.CLOSED, "in apertura": Status.FORTHCOMING}
CODE = re.compile(r"\bR[A-Z]{2}\d{11}\b")


def today_in_rome() -> date:
    return datetime.now(ROME).date()


class LombardiaOptions(Options):
    base_url: str = "https://www.dati.lombardia.it"
    portal_url: str = Field("https://www.bandi.regione.lombardia.it",
                            description="Bandi e Servizi, where each call's page is read")
    page_size: int = Field(1000, ge=1, description="register rows per request")
    sportello_lookback_days: int = Field(
        365, ge=1, description="a sportello call with no closing date is trusted this long after it opened")
    detail_pages: bool = Field(True, description="read each call's page (off: the register row only)")


class LombardiaScraper:
    name: ClassVar[str] = "lombardia"

    def __init__(self, config: LombardiaOptions | Mapping[str, Any]) -> None:
        options: LombardiaOptions = LombardiaOptions.from_table(config)
        self.base_url = options.base_url.rstrip("/")
        self.portal_url = options.portal_url.rstrip("/")
        self.page_size = options.page_size
        #: a sportello call with no closing date is only trusted this long after it opened
        self.lookback_days = options.sportello_lookback_days
        self.detail_pages = options.detail_pages

    def dataset_request(self, offset: int, today: date) -> Request:
        since = today - timedelta(days=self.lookback_days)
        where = (f"chiusura_adesione >= '{today.isoformat()}T00:00:00' OR (chiusura_adesione IS NULL AND "
                 f"apertura_adesione >= '{since.isoformat()}T00:00:00')")
        params = {"$limit": str(self.page_size), "$offset": str(offset), "$order": "codice_bando", "$where": where}
        return Request(url=f"{self.base_url}/resource/{DATASET}.json", params=params,
                       meta={"offset": offset, "today": today.isoformat()})

    def start_requests(self) -> Iterable[Request]:
        yield self.dataset_request(0, today_in_rome())

    def detail_url(self, code: str) -> str:
        return f"{self.portal_url}/servizi/servizio/bandi/dettaglio/{code}"

    def parse(self, page: Page) -> Iterable[Yield]:
        """A page of dataset rows: one call per row (with a detail request), then the next page."""
        rows = page.json()
        if not isinstance(rows, list):
            raise ParseError(f"{page.url}: expected a JSON array of rows, got {type(rows).__name__}")
        offset = int(page.request.meta.get("offset", 0))
        if not rows and offset == 0:
            raise ParseError(f"{page.url}: the dataset returned no open calls at all; the filter may be broken")
        when = page.fetched_at
        for row in rows:
            if not isinstance(row, dict):
                raise ParseError(f"{page.url}: a row is not an object")
            if str(row.get("tipo_strumento", "")).strip().lower() in EXCLUDED_TYPES:
                continue
            call = self.call_from_row(row, page, when)
            if not self.detail_pages:
                yield call
                continue
            # meta stays JSON (the row, not the call) so the engine can remember this page's follow-ups
            yield Request(url=self.detail_url(call.external_id), callback="parse_detail",
                          meta={"row": dict(row)}, fallback=(call,))
        if len(rows) >= self.page_size:
            today = date.fromisoformat(page.request.meta["today"]) if "today" in page.request.meta \
                else today_in_rome()
            yield self.dataset_request(offset + len(rows), today)

    def call_from_row(self, row: Mapping[str, Any], page: Page, when: datetime | None) -> ScrapedCall:
        code = clean_text(require(row.get("codice_bando"), "codice_bando", page))
        title = clean_text(require(row.get("titolo_bando"), "titolo_bando", page))
        opening = parse_iso_datetime(row.get("apertura_adesione"))
        closing = parse_iso_datetime(row.get("chiusura_adesione"))
        deadlines = (closing,) if closing else ()
        return ScrapedCall(
            source=self.name, external_id=code, identifier=code, title=title, url=self.detail_url(code),
            programme=None, scope=Scope.REGIONAL, regions=(Region.LOMBARDIA,), language="it",
            status=status_from_dates(opening, closing, when),
            opening_date=opening.at if opening else None, deadlines=deadlines,
            deadline_text=None if closing else "A sportello (nessuna data di chiusura)",
            raw={"dataset": dict(row)},
        )

    def parse_detail(self, page: Page) -> Iterable[Yield]:
        """Enrich the dataset call with its detail page.

        An error page served with HTTP 200 (unknown or moved code) is recognised and nothing is read
        from it: the call is kept as the register describes it. A real page without the expected
        elements raises ParseError.
        """
        base = self.call_from_row(require(page.request.meta.get("row"), "register row in meta"), page,
                                  page.fetched_at)
        tree = LexborHTMLParser(page.text)
        title_tag = tree.css_first("title")
        page_title = clean_text(title_tag.text()) if title_tag else ""
        if page_title.lower().startswith("errore"):
            log.warning("lombardia: %s answered an error page (HTTP %s, title %r); keeping %s as the register "
                        "has it", page.url, page.status, page_title, base.external_id)
            yield base
            return
        chip = tree.css_first("span.chip-label")
        label = clean_text(require(chip.text() if chip else None, "status chip (span.chip-label)", page))
        status = STATUS_LABELS.get(label.lower())
        if status is None:
            raise ParseError(f"{page.url}: unknown status label {label!r}")
        code_tag = tree.css_first("strong.get-codice-bando-chatbot")
        code = clean_text(code_tag.text()) if code_tag else ""
        if code and code != base.external_id:
            raise ParseError(f"{page.url}: page is for {code}, not {base.external_id}")
        h1 = tree.css_first("h1")
        title = clean_text(h1.text()) if h1 else base.title

        lines = _date_lines(tree)
        published = parse_dates(lines.get("pubblicato il")).deadline
        opening = parse_dates(lines.get("domande dal")).deadline
        text_deadline = parse_dates(lines.get("scade il")).deadline
        hidden = tree.css_first("input.checkCloseDate")
        hidden_deadline = parse_dates(hidden.attributes.get("value")).deadline if hidden else None
        deadlines = _reconcile(base.deadlines[0] if base.deadlines else None, text_deadline, hidden_deadline)

        description_parts = []
        for anchor, heading in (("descrizione", None), ("partecipanti", "Chi può partecipare")):
            node = tree.css_first(f"#{anchor} .item_text-description")
            if node is not None:
                text = html_to_text(node.html)
                description_parts.append(f"{heading}:\n{text}" if heading else text)
        procedure = _accordion_text(tree, "proceduraSelezione")
        budget_text = _accordion_text(tree, "dotazioni")
        summary_tag = tree.css_first("div.pb-2.ml-0 > p")
        sources = [clean_text(s.text()) for s in tree.css(".info-dettaglio-bando .col-sm-9 span")]
        deadline_text = None
        if not deadlines:
            deadline_text = procedure or "A sportello (nessuna data di chiusura)"
        yield ScrapedCall(
            source=self.name, external_id=base.external_id, identifier=base.identifier, title=title,
            url=page.url, summary=clean_text(summary_tag.text()) if summary_tag else None,
            description="\n\n".join(description_parts) or None,
            programme=", ".join(s for s in sources if s) or None, scope=Scope.REGIONAL,
            status=status, opening_date=opening.at if opening else base.opening_date,
            deadlines=deadlines, deadline_text=deadline_text,
            budget_eur=parse_amount(budget_text), budget_text=budget_text, language="it",
            regions=(Region.LOMBARDIA,),
            raw={**base.raw, "detail": {"status": label, "procedure": procedure,
                                        "published": published.at.isoformat() if published else None}},
        )


def _date_lines(tree: LexborHTMLParser) -> dict[str, str]:
    """The "Pubblicato il / Domande dal / Scade il" lines (the page repeats them; the first wins)."""
    lines: dict[str, str] = {}
    for p in tree.css("p"):
        text = clean_text(p.text())
        label, sep, value = text.partition(":")
        key = label.strip().lower()
        if sep and key in ("pubblicato il", "domande dal", "scade il") and key not in lines:
            lines[key] = value
    return lines


def _accordion_text(tree: LexborHTMLParser, anchor: str) -> str | None:
    node = tree.css_first(f"#{anchor} .item_text-description")
    if node is None:
        return None
    return html_to_text(node.html) or None


def _reconcile(dataset: Deadline | None, text: Deadline | None, hidden: Deadline | None) -> tuple[Deadline, ...]:
    """The deadline with its hour from the page when the page agrees with itself and with the dataset.

    If the hidden field and the "Scade il" line disagree, or the page's day differs from the dataset's,
    the dataset date is kept (the register is the official record).
    """
    page_values = [d for d in (text, hidden) if d is not None]
    if not page_values:
        return (dataset,) if dataset else ()
    if len({d.at for d in page_values}) > 1:
        return (dataset,) if dataset else ()
    chosen = page_values[0]
    if dataset is not None and dataset.day != chosen.day:
        return (dataset,)
    return (chosen,)


SPEC = SourceSpec(
    name="lombardia", scraper=LombardiaScraper, base_url="https://www.dati.lombardia.it", options=LombardiaOptions,
    about="Open Data Lombardia register `bukx-h2uy` (Socrata), enriched from each call's Bandi e Servizi page",
    tested_on="real recorded register row (2026-09-01) and call pages (2026-10-01)",
    recordings="lombardia", demo_options={"base_url": "{replay}", "portal_url": "{replay}", "detail_pages": False},
    demo_note="lombardia: call pages not replayed (the register row's own page was recorded only as fragments); "
              "the call is shown as the register has it",
)
