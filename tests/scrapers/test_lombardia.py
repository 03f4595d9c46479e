"""Lombardia: Socrata register rows enriched from Bandi e Servizi detail pages (recorded payloads)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from calltracker.domain import Region, Scope, ScrapedCall, Status
from calltracker.errors import ParseError
from calltracker.normalize import ROME
from calltracker.scraping import Page, Request
from scrapers.lombardia import LombardiaScraper

CONFIG = {"enabled": True, "base_url": "https://www.dati.lombardia.it"}
FETCHED = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)  # the day the Tertium row was recorded


def recorded(fixtures: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((fixtures / "lombardia" / "socrata_row_and_detail_fragments_PARTIAL.json")
                                      .read_text(encoding="utf-8"))
    return data


def dataset_page(scraper: LombardiaScraper, rows: list[dict[str, Any]], offset: int = 0) -> Page:
    request = scraper.dataset_request(offset, date(2026, 9, 1))
    page = Page.recorded(json.dumps(rows), url=request.url, request=request)
    return Page(request=page.request, url=page.url, status=200, body=page.body, text=page.text, fetched_at=FETCHED)


def detail_page(request: Request, html: str, url: str | None = None) -> Page:
    page = Page.recorded(html, url=url or request.url, request=request)
    return Page(request=request, url=page.url, status=200, body=page.body, text=page.text, fetched_at=FETCHED)


def tertium_html(fixtures: Path) -> str:
    """A detail page assembled from the verbatim fragments recorded from the Tertium page."""
    f = recorded(fixtures)["detail_fragments"]
    return ("<!DOCTYPE HTML><html><head><title>Bandi | Bandi e Servizi</title></head><body><h1>Bando Tertium</h1>"
            f"{f['status_chip']}<div>{f['dates']}</div><div class=\"info-dettaglio-bando\"><div class=\"col-sm-9\">"
            f"<p>{f['fonti_finanziamento']}</div></div>{f['eligibility_heading']}{f['eligibility_body']}</body></html>")


def test_a_register_row_becomes_a_regional_lombardia_call_with_a_detail_request(fixtures: Path) -> None:
    scraper = LombardiaScraper(CONFIG)
    row = recorded(fixtures)["socrata_row"]
    out = list(scraper.parse(dataset_page(scraper, [row])))
    assert len(out) == 1  # one row, shorter than a page: no next-page request
    request = out[0]
    assert isinstance(request, Request)
    assert request.callback == "parse_detail"
    assert request.url == "https://www.bandi.regione.lombardia.it/servizi/servizio/bandi/dettaglio/RLP12026052483"
    (call,) = request.fallback
    assert request.meta == {"row": row}  # JSON, so the engine can memo the page's follow-ups
    assert call.external_id == call.identifier == "RLP12026052483"
    assert call.title == "Bando Tertium"
    assert call.scope is Scope.REGIONAL
    assert call.regions == (Region.LOMBARDIA,)
    assert call.status is Status.OPEN
    assert call.opening_date == datetime(2026, 6, 16, tzinfo=ROME)
    (deadline,) = call.deadlines
    assert deadline.date_only and deadline.day == date(2026, 9, 7) and deadline.at.tzinfo is ROME


def test_the_first_request_filters_open_and_sportello_calls() -> None:
    (request,) = LombardiaScraper(CONFIG).start_requests()
    assert request.url == "https://www.dati.lombardia.it/resource/bukx-h2uy.json"
    assert request.params is not None
    assert request.params["$offset"] == "0" and request.params["$limit"] == "1000"
    assert "chiusura_adesione >= '" in request.params["$where"]
    assert "chiusura_adesione IS NULL" in request.params["$where"]


def test_a_full_page_asks_for_the_next_one_and_job_competitions_are_skipped(fixtures: Path) -> None:
    scraper = LombardiaScraper({**CONFIG, "page_size": 3})
    row = recorded(fixtures)["socrata_row"]
    rows = [row, {**row, "codice_bando": "RLP12026052484"},
            {**row, "codice_bando": "RLA12026000001", "tipo_strumento": "Concorsi Pubblici e Avvisi sul Personale"}]
    out = list(scraper.parse(dataset_page(scraper, rows)))
    details = [r for r in out if isinstance(r, Request) and r.callback == "parse_detail"]
    assert [r.fallback[0].external_id for r in details] == ["RLP12026052483", "RLP12026052484"]
    (next_page,) = [r for r in out if isinstance(r, Request) and r.callback == "parse"]
    assert next_page.params is not None and next_page.params["$offset"] == "3"
    assert "'2026-09-01T00:00:00'" in next_page.params["$where"]


def test_an_empty_closing_date_is_an_always_open_sportello_call(fixtures: Path) -> None:
    scraper = LombardiaScraper(CONFIG)
    row = {**recorded(fixtures)["socrata_row"], "chiusura_adesione": None}
    (request,) = scraper.parse(dataset_page(scraper, [row]))
    assert isinstance(request, Request)
    call = request.fallback[0]
    assert call.deadlines == ()
    assert call.status is Status.OPEN
    assert call.deadline_text is not None and "sportello" in call.deadline_text.lower()


def test_the_detail_page_adds_the_hour_status_programme_and_eligibility(fixtures: Path) -> None:
    scraper = LombardiaScraper(CONFIG)
    (request,) = scraper.parse(dataset_page(scraper, [recorded(fixtures)["socrata_row"]]))
    assert isinstance(request, Request)
    url = recorded(fixtures)["_source"]["detail_url"]
    (call,) = scraper.parse_detail(detail_page(request, tertium_html(fixtures), url))
    assert isinstance(call, ScrapedCall)
    assert call.url == url
    assert call.status is Status.OPEN
    assert [(d.at, d.date_only) for d in call.deadlines] == [(datetime(2026, 9, 7, 12, 0, tzinfo=ROME), False)]
    assert call.opening_date == datetime(2026, 6, 16, 10, 0, tzinfo=ROME)
    assert call.programme == "PR Lombardia FESR 2021-2027"
    assert call.description is not None and call.description.startswith("Chi può partecipare:\npossono presentare")
    assert "Sede operativa" in call.description
    assert call.raw["detail"]["published"] == "2026-05-14T09:16:00+02:00"
    assert call.regions == (Region.LOMBARDIA,) and call.scope is Scope.REGIONAL


def _base(scraper: LombardiaScraper, code: str, opening: str, closing: str | None) -> Request:
    """A register row for a recorded detail page, with the page's own code and dates."""
    row = {"codice_bando": code, "titolo_bando": "x", "apertura_adesione": opening, "chiusura_adesione": closing,
           "tipo_strumento": "Bando"}
    (request,) = scraper.parse(dataset_page(scraper, [row]))
    assert isinstance(request, Request)
    return request


def test_a_closed_page_without_hidden_date_uses_the_scade_il_line(fixtures: Path) -> None:
    scraper = LombardiaScraper(CONFIG)
    request = _base(scraper, "RLO12021022783", "2025-04-28T00:00:00.000", "2025-07-25T00:00:00.000")
    html = (fixtures / "lombardia" / "detail_chiuso_RLO12021022783_TRIMMED.html").read_text(encoding="utf-8")
    (call,) = scraper.parse_detail(detail_page(request, html))
    assert isinstance(call, ScrapedCall)
    assert call.title == "Fondo “Confidiamo nella ripresa - Energia”"
    assert call.status is Status.CLOSED
    assert [d.at for d in call.deadlines] == [datetime(2025, 7, 25, 12, 0, tzinfo=ROME)]
    assert call.opening_date == datetime(2025, 4, 28, 10, 0, tzinfo=ROME)
    assert call.budget_eur == 38_817_000.0 and call.budget_text == "38.817.000,00"
    assert call.programme == "QUOTA REGIONE"
    assert call.summary is not None and call.summary.startswith("La Giunta regionale, con delibera n. 7156")
    assert call.description is not None and call.description.startswith("L’intervento di cui al presente Bando")
    assert call.raw["detail"]["procedure"] == "A sportello"


def test_an_open_sportello_page_without_deadline_is_no_deadline_not_a_failure(fixtures: Path) -> None:
    scraper = LombardiaScraper(CONFIG)
    request = _base(scraper, "RLD12026053844", "2026-06-04T00:00:00.000", None)
    html = (fixtures / "lombardia" / "detail_aperto_sportello_senza_scadenza_RLD12026053844_TRIMMED.html") \
        .read_text(encoding="utf-8")
    (call,) = scraper.parse_detail(detail_page(request, html))
    assert isinstance(call, ScrapedCall)
    assert call.status is Status.OPEN
    assert call.deadlines == ()
    assert call.deadline_text == "Procedura valutativa a sportello"
    assert call.opening_date == datetime(2026, 6, 4, 12, 0, tzinfo=ROME)
    assert call.budget_eur == 13_408_000.0
    assert call.programme == "PRSS XII Legislatura"


def test_when_the_page_day_disagrees_with_the_register_the_register_wins(fixtures: Path) -> None:
    scraper = LombardiaScraper(CONFIG)
    request = _base(scraper, "RLO12021022783", "2025-04-28T00:00:00.000", "2025-07-31T00:00:00.000")
    html = (fixtures / "lombardia" / "detail_chiuso_RLO12021022783_TRIMMED.html").read_text(encoding="utf-8")
    (call,) = scraper.parse_detail(detail_page(request, html))
    assert isinstance(call, ScrapedCall)
    assert [(d.day, d.date_only) for d in call.deadlines] == [(date(2025, 7, 31), True)]


def test_an_http_200_error_page_is_detected(fixtures: Path) -> None:
    scraper = LombardiaScraper(CONFIG)
    request = _base(scraper, "RLO12021022783", "2025-04-28T00:00:00.000", "2025-07-25T00:00:00.000")
    html = ("<!DOCTYPE HTML><html><head><title>Errore | Bandi e Servizi</title></head>"
            "<body><h1>Errore</h1></body></html>")
    (call,) = scraper.parse_detail(detail_page(request, html))
    assert call == request.fallback[0]  # the register's record, nothing read from the error page
    assert isinstance(call, ScrapedCall)
    assert call.title == "x" and call.status is Status.CLOSED  # register dates, fetched after closing
    assert [(d.day, d.date_only) for d in call.deadlines] == [(date(2025, 7, 25), True)]


def test_a_changed_layout_without_status_chip_raises(fixtures: Path) -> None:
    scraper = LombardiaScraper(CONFIG)
    request = _base(scraper, "RLO12021022783", "2025-04-28T00:00:00.000", "2025-07-25T00:00:00.000")
    html = (fixtures / "lombardia" / "detail_chiuso_RLO12021022783_TRIMMED.html").read_text(encoding="utf-8")
    with pytest.raises(ParseError, match="chip"):
        list(scraper.parse_detail(detail_page(request, html.replace("chip-label", "badge-label"))))


def test_a_detail_page_for_another_code_raises(fixtures: Path) -> None:
    scraper = LombardiaScraper(CONFIG)
    request = _base(scraper, "RLP12026052483", "2026-06-16T00:00:00.000", "2026-09-07T00:00:00.000")
    html = (fixtures / "lombardia" / "detail_chiuso_RLO12021022783_TRIMMED.html").read_text(encoding="utf-8")
    with pytest.raises(ParseError, match="not RLP12026052483"):
        list(scraper.parse_detail(detail_page(request, html)))


def test_a_dataset_answer_that_is_not_rows_raises(fixtures: Path) -> None:
    scraper = LombardiaScraper(CONFIG)
    request = scraper.dataset_request(0, date(2026, 9, 1))
    with pytest.raises(ParseError):
        list(scraper.parse(Page.recorded('{"error": true, "message": "query failed"}', request=request)))
    with pytest.raises(ParseError):
        list(scraper.parse(Page.recorded("[]", request=request)))
    with pytest.raises(ParseError, match="codice_bando"):
        list(scraper.parse(Page.recorded('[{"titolo_bando": "x"}]', request=request)))
