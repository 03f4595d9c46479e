"""Piemonte: RSS feed, listing links and recorded call pages from bandi.regione.piemonte.it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from calltracker.domain import Region, Scope, ScrapedCall, Status
from calltracker.errors import ParseError
from calltracker.normalize import ROME
from calltracker.scraping import Page, Request
from scrapers.piemonte import PiemonteScraper

BASE = "https://bandi.regione.piemonte.it"
CONFIG = {"enabled": True, "base_url": BASE}


def detail(fixtures: Path, name: str, url: str) -> ScrapedCall:
    html = (fixtures / "piemonte" / name).read_text(encoding="utf-8")
    request = Request(url=url, callback="parse_detail")
    call, *documents = PiemonteScraper(CONFIG).parse_detail(Page.recorded(html, url=url, request=request))
    assert isinstance(call, ScrapedCall)
    assert all(isinstance(d, Request) and d.callback == "parse_document" for d in documents)
    return call


def test_start_requests_ask_for_the_business_listing_and_the_feeds() -> None:
    requests = list(PiemonteScraper(CONFIG).start_requests())
    assert requests[0].url == f"{BASE}/contributi-finanziamenti"
    assert requests[0].params == {"field_stato_target_id": "19"}
    assert [(r.url, r.callback) for r in requests[1:]] == [
        (f"{BASE}/contributi-finanziamenti/rss.xml", "parse_feed"), (f"{BASE}/rss.xml", "parse_feed")]


def test_the_feed_yields_call_pages_and_skips_tenders_and_nominations(fixtures: Path) -> None:
    body = (fixtures / "piemonte" / "rss_tutti.xml").read_bytes()
    out = list(PiemonteScraper(CONFIG).parse_feed(Page.recorded(body, url=f"{BASE}/tutti/rss.xml")))
    assert all(isinstance(r, Request) and r.callback == "parse_detail" for r in out)
    urls = [r.url for r in out if isinstance(r, Request)]
    assert urls == [
        f"{BASE}/contributi-finanziamenti/programmazione-dellofferta-formativa-istruzione-formazione-tecnica-superiore-2026-2029",
        f"{BASE}/contributi-finanziamenti/lr-n-18-25-giugno-2008-interventi-sostegno-stampa-informazione-periodica-locale",
        f"{BASE}/contributi-finanziamenti/contributo-2026-promozione-libro-lettura-dei-premi-dei-concorsi-letterari",
    ]
    first = out[0]
    assert isinstance(first, Request)
    assert first.meta["summary"].startswith("L’ Avviso è finalizzato a individuare:")


def test_a_feed_that_is_not_rss_raises() -> None:
    with pytest.raises(ParseError):
        list(PiemonteScraper(CONFIG).parse_feed(Page.recorded("<html><body>Manutenzione</body></html>")))


LISTING = "listing_contributi-finanziamenti_stato-aperto_FULL.html"
TEASERS = ["programmazione-offerta-formativa-its-academy-2026-2029",
           "apprendistato-diploma-istruzione-secondaria-superiore-specializzazione-enotecnico-certificato",
           "piani-integrati-welfare-vita-lavoro", "progetto-bandiera-piemonte-hydrogen-valley",
           "finanziamenti-centri-uomini-autori-potenziali-autori-violenza-genere",
           "csr-2023-2027-bando-il-sostegno-e-pagamento-allintervento-sra27-pagamento", "fondo-rotativo-foncooper",
           "progetti-e-iniziative-dedicati-alle-persone-con-disturbi-del-neuro", "realizzazione-di-case-rifugio"]


def listing_page(fixtures: Path, scraper: PiemonteScraper, number: int = 0) -> Page:
    body = (fixtures / "piemonte" / LISTING).read_bytes()
    return Page.recorded(body, url=f"{BASE}/contributi-finanziamenti?field_stato_target_id=19",
                         request=scraper.listing_request(number))


def test_the_real_listing_asks_for_each_teasers_page_with_the_teaser_as_fallback(fixtures: Path) -> None:
    scraper = PiemonteScraper(CONFIG)
    out = list(scraper.parse(listing_page(fixtures, scraper)))
    details = [r for r in out if isinstance(r, Request) and r.callback == "parse_detail"]
    assert [r.url for r in details] == [f"{BASE}/contributi-finanziamenti/{slug}" for slug in TEASERS]
    hydrogen = details[3].fallback[0]
    assert hydrogen.title == "Progetto BANDIERA “PIEMONTE HYDROGEN VALLEY”"
    assert hydrogen.status is Status.OPEN and hydrogen.summary == "Sviluppo"
    assert hydrogen.regions == (Region.PIEMONTE,) and hydrogen.raw["procedure"] == "Bando"
    (next_page,) = [r for r in out if isinstance(r, Request) and r.callback == "parse"]
    assert next_page.params == {"field_stato_target_id": "19", "page": "1"}
    # the same teasers again (a page that repeats): nothing asked twice
    again = [r for r in scraper.parse(listing_page(fixtures, scraper, 1)) if r.callback == "parse_detail"]
    assert again == []


def test_without_detail_pages_the_teasers_are_the_calls(fixtures: Path) -> None:
    scraper = PiemonteScraper({**CONFIG, "detail_pages": False, "max_pages": 1})
    out = list(scraper.parse(listing_page(fixtures, scraper)))
    assert all(isinstance(c, ScrapedCall) for c in out)  # max_pages 1: no next listing page
    assert [c.url.rsplit("/", 1)[1] for c in out] == TEASERS
    assert all(c.status is Status.OPEN and c.raw["from"] == "listing" for c in out)


def test_a_first_listing_page_without_call_links_raises(fixtures: Path) -> None:
    html = (fixtures / "piemonte" / "detail_preinformazione_welfare_TRIMMED.html").read_text(encoding="utf-8")
    scraper = PiemonteScraper(CONFIG)
    with pytest.raises(ParseError, match="no call teasers"):
        list(scraper.parse(Page.recorded(html, request=scraper.listing_request(0))))


def test_an_open_call_with_its_deadline_in_rome_time(fixtures: Path) -> None:
    url = f"{BASE}/contributi-finanziamenti/energie-rinnovabili-nelle-imprese-2026"
    call = detail(fixtures, "detail_aperto_energie-rinnovabili-imprese-2026_LIGHTLY_TRIMMED.html", url)
    assert call.title == "Energie rinnovabili nelle Imprese 2026"
    assert call.external_id == "node-2484"
    assert call.url == url
    assert call.status is Status.OPEN
    assert call.opening_date == datetime(2026, 6, 4, 10, 0, tzinfo=ROME)
    (deadline,) = call.deadlines
    assert deadline.at == datetime(2026, 11, 27, 12, 0, tzinfo=ROME) and deadline.at.tzinfo is ROME
    assert not deadline.date_only
    assert call.programme == "FESR"
    assert call.budget_eur == 12_200_000.0
    assert call.scope is Scope.REGIONAL and call.regions == (Region.PIEMONTE,) and call.language == "it"
    assert call.raw["procedure"] == "Bando a sportello"
    assert call.raw["targets"] == ["Imprese e liberi professionisti"]
    assert call.description is not None and "Chi può partecipare:" in call.description


def test_an_open_sportello_call_has_no_deadline(fixtures: Path) -> None:
    call = detail(fixtures, "detail_aperto_contratto-insediamento_TRIMMED.html",
                  f"{BASE}/contributi-finanziamenti/contratto-insediamento-attrazione-investimenti-piemonte-grandi-imprese-anno-2024")
    assert call.status is Status.OPEN
    assert call.deadlines == ()
    assert call.deadline_text == "Bando a sportello"
    assert call.opening_date == datetime(2024, 5, 24, 9, 0, tzinfo=ROME)
    assert call.budget_eur == 10_605_000.0
    assert call.programme == "Risorse statali, Risorse regionali"


def test_an_expired_call(fixtures: Path) -> None:
    call = detail(fixtures, "detail_scaduto_contributi-interessi-agricoli_TRIMMED.html",
                  f"{BASE}/contributi-finanziamenti/contributi-negli-interessi")
    assert call.status is Status.CLOSED
    assert call.external_id == "node-2527"
    assert [d.at for d in call.deadlines] == [datetime(2026, 9, 4, 23, 59, 59, tzinfo=ROME)]
    assert call.opening_date == datetime(2026, 6, 25, 0, 0, tzinfo=ROME)
    assert call.budget_eur is None  # a min-max range per loan, not the call's budget
    assert call.summary is not None and call.summary.startswith("Disposizioni, per l’anno 2026")


def test_an_outcome_page_is_closed(fixtures: Path) -> None:
    call = detail(fixtures, "detail_esito_iefp-2026-2030_TRIMMED.html",
                  f"{BASE}/contributi-finanziamenti/autorizzazione-finanziamento-offerta-formativa-iefp-ciclo-formativo-20262030")
    assert call.status is Status.CLOSED
    assert [d.at for d in call.deadlines] == [datetime(2026, 7, 30, 17, 0, tzinfo=ROME)]
    assert call.budget_eur == 126_110_000.0
    assert call.programme == "Fse Plus, Risorse statali, Risorse regionali"


def test_a_pre_information_page_is_forthcoming_and_its_presumed_date_is_never_a_deadline(fixtures: Path) -> None:
    url = (f"{BASE}/pre-informazione-fondi-ue/servizio-controllo-progetti-rafforzamento-welfare-territoriale-"
           "sostegno-persone-piu-vulnerabili")
    call = detail(fixtures, "detail_preinformazione_welfare_TRIMMED.html", url)
    assert call.status is Status.FORTHCOMING
    assert call.deadlines == () and call.opening_date is None
    assert call.deadline_text == "Data presunta di apertura del bando: metà Giugno 2026"
    assert call.budget_eur == 213_774.0
    assert call.raw["section"] == "pre-informazione-fondi-ue"


def test_a_carried_out_pre_information_is_closed(fixtures: Path) -> None:
    call = detail(fixtures, "detail_preinformazione_attuato_borse-stem_TRIMMED.html",
                  f"{BASE}/pre-informazione-fondi-ue/interventi-favorire-laccesso-alle-borse-studio")
    assert call.status is Status.CLOSED
    assert call.deadline_text == "Data presunta di apertura del bando: Giugno 2025"
    assert call.budget_eur == 10_000_000.0


def test_a_changed_layout_without_status_raises(fixtures: Path) -> None:
    path = fixtures / "piemonte" / "detail_scaduto_contributi-interessi-agricoli_TRIMMED.html"
    html = path.read_text(encoding="utf-8")
    broken = html.replace("field--name-field-stato", "field--name-field-state")
    with pytest.raises(ParseError, match="status"):
        list(PiemonteScraper(CONFIG).parse_detail(Page.recorded(broken, url=f"{BASE}/contributi-finanziamenti/x")))
