"""Attached documents: real PDF files (built here with fpdf2) are fetched as follow-ups of a call page, their
text is extracted page by page, stored with the call, and read by the classifier with evidence that names
the document and the page. Over real sockets, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fpdf import FPDF

from calltracker.domain import Document, ScrapedCall
from calltracker.errors import ParseError
from calltracker.http import HttpClient, HttpPolicy
from calltracker.pdftext import pdf_pages
from calltracker.pipeline import Pipeline, SourceJob
from calltracker.replay import ReplayServer, Reply, Route
from calltracker.scraping import CallDocument, Page, Request
from calltracker.storage import Store
from calltracker.tagging import classify_pending
from scrapers.piemonte import PiemonteScraper

ROOT = Path(__file__).resolve().parent.parent
PAGE = "/contributi-finanziamenti/energie-rinnovabili-nelle-imprese-2026"
RECORDED_PAGE = "detail_aperto_energie-rinnovabili-imprese-2026_LIGHTLY_TRIMMED.html"
BANDO = "/system/files/1_Bando%202026_Azione%20II.2ii.2%2BAll.1-7.pdf"
DECREE = ("/system/files/Rep__DD-A16_22_05_2026_375_I%20-%20File%20primario%20%28vers.%20integrale%29%20-%20"
          "DD-A16-375-2026_timbrato.pdf")
HTML = {"Content-Type": "text/html; charset=utf-8"}
PDF = {"Content-Type": "application/pdf"}
NOW = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
FAST = HttpPolicy(user_agent="calltracker-test/1", allow_loopback=True, timeout=2.0, max_retries=1, retry_max_wait=1.0,
                  backoff_base=0.01, min_delay=0.0)


def build_pdf(*pages: str) -> bytes:
    """A real PDF with one page per text (core font: Latin-1 text)."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


BANDO_PDF = build_pdf(
    "Regione Piemonte - Bando 2026. Articolo 1: finalita dell'intervento e dotazione finanziaria.",
    "Articolo 4: progetti ammissibili. Sono ammissibili progetti di space economy: servizi satellitari "
    "di osservazione della Terra per il monitoraggio degli impianti.",
)


def test_the_text_of_each_page_of_a_real_pdf() -> None:
    pages = pdf_pages(BANDO_PDF, name="bando")
    assert tuple(" ".join(p.split()) for p in pages) == (  # the PDF wraps lines where it likes
        "Regione Piemonte - Bando 2026. Articolo 1: finalita dell'intervento e dotazione finanziaria.",
        "Articolo 4: progetti ammissibili. Sono ammissibili progetti di space economy: servizi satellitari di "
        "osservazione della Terra per il monitoraggio degli impianti.",
    )


@pytest.mark.parametrize("body", [b"<html>Pagina non trovata</html>", BANDO_PDF[:200], b"%PDF-1.4\n%garbage"])
def test_what_is_not_a_readable_pdf_raises_naming_the_document(body: bytes) -> None:
    with pytest.raises(ParseError, match="bando.pdf"):
        pdf_pages(body, name="bando.pdf")


def test_a_call_page_asks_for_its_pdfs_bando_first_and_size_bounded() -> None:
    html = (ROOT / "tests" / "fixtures" / "piemonte" / RECORDED_PAGE).read_bytes()
    scraper = PiemonteScraper({"base_url": "https://bandi.regione.piemonte.it", "max_documents": 2,
                               "max_document_bytes": 1000})
    url = "https://bandi.regione.piemonte.it" + PAGE
    call, *follow = scraper.parse_detail(Page.recorded(html, url=url, request=Request(url=url)))
    assert [r.url for r in follow if isinstance(r, Request)] == [
        "https://bandi.regione.piemonte.it" + BANDO, "https://bandi.regione.piemonte.it" + DECREE]
    first = follow[0]
    assert isinstance(first, Request) and first.callback == "parse_document" and first.max_bytes == 1000
    assert first.meta == {"call": "node-2484", "name": "Bando 2026 - Azione II.2ii.2 e Allegati"}
    assert first.fallback == (call,)  # a document that fails loses nothing


def test_an_unreadable_attachment_is_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    scraper = PiemonteScraper({"base_url": "https://x.test"})
    request = Request(url="https://x.test/a.pdf", callback="parse_document", meta={"call": "node-1", "name": "A"})
    assert list(scraper.parse_document(Page.recorded(b"<html>login</html>", url=request.url,
                                                     request=request))) == []
    assert "is not readable" in caplog.text
    (found,) = scraper.parse_document(Page.recorded(BANDO_PDF, url=request.url, request=request))
    assert isinstance(found, CallDocument) and found.external_id == "node-1" and len(found.document.pages) == 2


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    html = (ROOT / "tests" / "fixtures" / "piemonte" / RECORDED_PAGE).read_bytes()
    routes = [Route("/robots.txt", [Reply(body=b"User-agent: *\nAllow: /\n")]),
              Route("/listing", [Reply(body=f'<article about="{PAGE}"><dl class="field--name-field-display-title">'
                                            f'<dd class="field__item"><h2>Energie</h2></dd></dl></article>'.encode(),
                                       headers=HTML)]),
              Route(PAGE, [Reply(body=html, headers=HTML)]),
              Route(BANDO, [Reply(body=BANDO_PDF, headers=PDF)]),
              # the decree is over the size bound
              Route(DECREE, [Reply(body=build_pdf(*(str(n) * 40 for n in range(400))), headers=PDF)])]
    with ReplayServer(routes, etags=True) as srv:
        yield srv


def scrape(store: Store, server: ReplayServer) -> str:
    scraper = PiemonteScraper({"base_url": server.base_url, "listing_path": "/listing", "feeds": [],
                               "max_documents": 2, "max_document_bytes": 2000})
    with HttpClient(FAST) as http:
        (report,) = Pipeline(store, http, clock=lambda: NOW).run([SourceJob("piemonte", scraper)])
    return report.line()


def test_documents_are_stored_and_the_classifier_names_document_and_page(store: Store,
                                                                          server: ReplayServer) -> None:
    line = scrape(store, server)
    assert "1 seen" in line and "1 failed" in line and "FAILED" not in line  # the decree is over the bound
    (call,) = store.find_calls()
    (document,) = store.documents(call.id)
    assert document.name == "Bando 2026 - Azione II.2ii.2 e Allegati"
    assert document.url == server.base_url + BANDO and document.pages == pdf_pages(BANDO_PDF)

    classify_pending(store, NOW)
    stored = store.get_call(str(call.id)).classification
    assert stored is not None and "space_economy" in stored.themes
    found = [e for e in stored.evidence["themes"]["space_economy"] if "document" in e]
    assert found and all(e["document"] == document.name and e["page"] == 2 for e in found)
    assert {e["matched"].lower() for e in found} >= {"space economy"}

    # a second run: the PDF answers 304, nothing is lost or stored twice
    scrape(store, server)
    assert store.documents(call.id) == [document]


class InlineScraper:
    """A source whose calls come with their documents already read (ScrapedCall.documents)."""

    name = "inline"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def start_requests(self) -> list[Request]:
        return [Request(url=self.base_url + "/robots.txt")]

    def parse(self, page: Page) -> list[ScrapedCall]:
        doc = Document(name="Bando", url=self.base_url + "/bando.pdf", pages=pdf_pages(BANDO_PDF))
        return [ScrapedCall(source="inline", external_id="1", title="Bando", url=self.base_url + "/1",
                            documents=(doc,))]


def test_documents_given_with_their_call_are_stored_too(store: Store, server: ReplayServer) -> None:
    with HttpClient(FAST) as http:
        (report,) = Pipeline(store, http, clock=lambda: NOW).run([SourceJob("inline",
                                                                            InlineScraper(server.base_url))])
    assert report.outcome == "ok"
    (call,) = store.find_calls()
    assert [d.name for d in store.documents(call.id)] == ["Bando"]
    assert store.documents(call.id)[0].pages == pdf_pages(BANDO_PDF)
