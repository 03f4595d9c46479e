"""Regione Piemonte: bandi.regione.piemonte.it (Drupal), the listing of open calls, its RSS feeds and
each call's page, with the PDF documents attached to it.

The listing (recorded 2026-06-12: `/contributi-finanziamenti?field_stato_target_id=19`, state "Aperto",
9 teasers a page, a pager `?field_stato_target_id=19&page=N` from 0) has one
`<article about="/contributi-finanziamenti/<slug>">` teaser per call with its state, procedure, title
and themes but no dates: each teaser is a call (status from its state), and the call's own page
completes it (the teaser is the fallback if that page fails). Feeds carry no deadline either. A call page
gives the status field (aperto / scaduto / esito / pre-informazione ...), "Domande dal" and "Scadenza"
`<time datetime>` in UTC, on pre-information pages a free-text "Data presunta di apertura" that is never
a deadline, and attachments: PDF ones (`span.file--mime-application-pdf a`) are fetched as follow-ups,
size-bounded, and their text kept with the call (`documents`, up to `max_documents`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

from pydantic import Field
from selectolax.lexbor import LexborHTMLParser, LexborNode

from calltracker.scraping import (
    ROME,
    CallDocument,
    Deadline,
    Document,
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
    pdf_pages,
    require,
    rss_channel,
)
from calltracker.scraping import text_of_html as html_to_text

log = logging.getLogger(__name__)

CALL_SECTIONS = ("contributi-finanziamenti", "pre-informazione-fondi-ue")
STATUS_LABELS = {
    "aperto": Status.OPEN,
    "scaduto": Status.CLOSED,
    "esito": Status.CLOSED,  # the outcome is published
    "concluso": Status.CLOSED,
    "attuato": Status.CLOSED,  # the announced call has been carried out (maybe by another body)
    "sospeso": Status.CLOSED,
    "pre-informazione": Status.FORTHCOMING,
}


BASE_URL = "https://bandi.regione.piemonte.it"


class PiemonteOptions(Options):
    base_url: str = BASE_URL
    listing_path: str = Field("/contributi-finanziamenti?field_stato_target_id=19",
                              description="listing of open calls (state \"Aperto\" is term 19)")
    # the section feed has the latest calls of any audience; the root feed only pre-information
    feeds: list[str] = Field(["/contributi-finanziamenti/rss.xml", "/rss.xml"], description="RSS feeds read")
    max_pages: int = Field(15, ge=1, description="at most this many listing pages")
    detail_pages: bool = Field(True, description="read each call's own page (off: listing teasers and feeds only)")
    max_documents: int = Field(4, ge=0, le=20, description="PDF documents read per call (0: none)")
    max_document_bytes: int = Field(15_000_000, ge=1, description="a larger PDF is not downloaded")


class PiemonteScraper:
    name: ClassVar[str] = "piemonte"

    def __init__(self, config: PiemonteOptions | Mapping[str, Any]) -> None:
        options: PiemonteOptions = PiemonteOptions.from_table(config)
        self.options = options
        self.base_url = options.base_url.rstrip("/")
        self.listing_path = options.listing_path
        self.feeds = list(options.feeds)
        self.max_pages = options.max_pages
        self._asked: set[str] = set()  # call pages already requested in this run (listing and feeds overlap)

    def start_requests(self) -> Iterable[Request]:
        yield self.listing_request(0)
        for feed in self.feeds:
            yield Request(url=urljoin(self.base_url + "/", feed.lstrip("/")), callback="parse_feed")

    def listing_request(self, number: int) -> Request:
        path, _, query = self.listing_path.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if number:
            params["page"] = str(number)
        return Request(url=urljoin(self.base_url + "/", path.lstrip("/")), params=params, meta={"page": number})

    def is_call_url(self, url: str) -> bool:
        parts = urlsplit(url)
        # links to the site's own host count even when base_url points elsewhere (a mirror, the replay server)
        if parts.netloc and parts.netloc not in (urlsplit(self.base_url).netloc, urlsplit(BASE_URL).netloc):
            return False
        segments = [s for s in parts.path.split("/") if s]
        return len(segments) == 2 and segments[0] in CALL_SECTIONS

    def _detail(self, url: str, summary: str | None = None, fallback: ScrapedCall | None = None) -> Request | None:
        clean = url.split("#")[0].split("?")[0]
        if clean in self._asked:
            return None
        self._asked.add(clean)
        return Request(url=clean, callback="parse_detail", meta={"summary": summary} if summary else {},
                       fallback=(fallback,) if fallback is not None else ())

    def parse(self, page: Page) -> Iterable[Yield]:
        """A listing page: a call per teaser (completed by its own page), then the next listing page."""
        tree = LexborHTMLParser(page.text)
        number = int(page.request.meta.get("page", 0))
        teasers = [a for a in tree.css("article[about]") if self.is_call_url(urljoin(page.url, a.attributes["about"]
                                                                                   or ""))]
        if not teasers:
            if number == 0:
                raise ParseError(f"{page.url}: no call teasers (article[about]) on the first listing page; "
                                 "the layout may have changed")
            return
        for article in teasers:
            call = self.teaser_call(article, page)
            if not self.options.detail_pages:
                yield call
                continue
            request = self._detail(call.url, fallback=call)
            if request is not None:
                yield request
        has_next = tree.css_first(f'a[href*="page={number + 1}"]') is not None
        if has_next and number + 1 < self.max_pages:
            yield self.listing_request(number + 1)

    def teaser_call(self, article: LexborNode, page: Page) -> ScrapedCall:
        url = urljoin(page.url, article.attributes.get("about") or "").split("?")[0]
        title = _text(article.css_first(".field--name-field-display-title h2")) or \
            _text(article.css_first(".field--name-field-display-title .field__item"))
        title = require(title, "teaser title (field-display-title)", page)
        label = _text(article.css_first("dl.field--name-field-stato dd.field__item")) or \
            _text(article.css_first("dl.field--name-field-stato-preinf dd.field__item"))
        procedure = _text(article.css_first(".field--name-field-procedura .field__item"))
        themes = [_text(n) for n in article.css(".field--name-field-temi .field__item")]
        return ScrapedCall(
            source=self.name, external_id=url, title=title, url=url,
            summary="; ".join(t for t in themes if t) or None, scope=Scope.REGIONAL,
            status=STATUS_LABELS.get(label.lower()) if label else None,
            deadline_text=procedure if procedure and "sportello" in procedure.lower() else None,
            language="it", regions=(Region.PIEMONTE,),
            raw={"status": label or None, "procedure": procedure or None, "themes": themes, "from": "listing",
                 "section": urlsplit(url).path.strip("/").split("/")[0]},
        )

    def parse_feed(self, page: Page) -> Iterable[Yield]:
        """An RSS feed: requests for the call pages among its items (other sections are skipped)."""
        channel = rss_channel(page)
        for item in channel.iter("item"):
            link = clean_text(require(item.findtext("link"), "item link", page))
            if not self.is_call_url(link):
                continue
            summary = _feed_summary(item.findtext("description") or "")
            if not self.options.detail_pages:
                yield self.feed_call(item, link, page)
                continue
            request = self._detail(link, summary)
            if request is not None:
                yield request

    def feed_call(self, item: Any, link: str, page: Page) -> ScrapedCall:
        """A call as a feed item describes it: title, link, state (the description's second line), text."""
        title = require(clean_text(item.findtext("title")), "item title", page)
        lines = html_to_text(item.findtext("description") or "").split("\n")
        label = lines[1] if len(lines) > 1 else ""
        url = link.split("#")[0].split("?")[0]
        return ScrapedCall(
            source=self.name, external_id=url, title=title, url=url, summary=_feed_summary(
                item.findtext("description") or ""), scope=Scope.REGIONAL,
            status=STATUS_LABELS.get(label.lower()), language="it", regions=(Region.PIEMONTE,),
            raw={"status": label or None, "section": lines[0] if lines else None, "from": "feed",
                 "pubDate": clean_text(item.findtext("pubDate")) or None},
        )

    def parse_detail(self, page: Page) -> Iterable[Yield]:
        """A call page: one ScrapedCall; missing title or status raises ParseError."""
        tree = LexborHTMLParser(page.text)
        title = _text(tree.css_first(".field--name-field-display-title h1")) or _text(tree.css_first("article h1"))
        title = require(title, "title (h1)", page)
        status_node = tree.css_first("dl.field--name-field-stato dd.field__item") or \
            tree.css_first("dl.field--name-field-stato-preinf dd.field__item")
        label = require(_text(status_node), "status field (field-stato)", page)
        status = STATUS_LABELS.get(label.lower())
        if status is None:
            log.warning("piemonte: unknown status label %r on %s", label, page.url)
        opening = _time(tree, "field--name-field-data-inizio")
        deadline = _time(tree, "field--name-field-data-scadenza")
        procedure = _text(tree.css_first(".field--name-field-procedura .field__item"))
        presumed = _text(tree.css_first(".field--name-field-data-apertura .field__item"))
        if presumed:
            deadline_text: str | None = f"Data presunta di apertura del bando: {presumed}"
        elif deadline is None:
            deadline_text = procedure if procedure and "sportello" in procedure.lower() else None
        else:
            deadline_text = None
        budget_node = tree.css_first(".field--name-field-importo")
        budget_text = html_to_text(budget_node.html) if budget_node is not None else None
        subject = _text(tree.css_first(".field--name-field-oggetto-bando .field__item"))
        parts = [html_to_text(n.html) for n in tree.css(".field--name-body")]
        who = tree.css_first(".field--name-field-chi-puo-partecipare")
        if who is not None:
            parts.append("Chi può partecipare:\n" + html_to_text(who.html))
        body = tree.body
        node_id = re.search(r"\bpage-node-(\d+)\b", body.attributes.get("class") or "") if body else None
        url = page.url.split("?")[0]
        resources = [_text(n) for n in tree.css(".field--name-field-risorse .field__item")]
        targets = [_text(n) for n in tree.css(".field--name-field-target .field__item")]
        call = ScrapedCall(
            source=self.name,
            # the same node is reachable under two slugs; its Drupal id is the stable key
            external_id=f"node-{node_id.group(1)}" if node_id else url,
            title=title, url=url, identifier=None,
            summary=subject or page.request.meta.get("summary"),
            description="\n\n".join(p for p in parts if p) or None,
            programme=", ".join(r for r in resources if r) or None,
            scope=Scope.REGIONAL, status=status,
            opening_date=opening.at if opening else None,
            deadlines=(deadline,) if deadline else (), deadline_text=deadline_text,
            budget_eur=parse_amount(budget_text), budget_text=budget_text or None,
            language="it", regions=(Region.PIEMONTE,),
            raw={"status": label, "procedure": procedure, "targets": targets,
                 "section": urlsplit(url).path.strip("/").split("/")[0]},
        )
        yield call
        yield from self.document_requests(tree, page, call)

    def document_requests(self, tree: LexborHTMLParser, page: Page, call: ScrapedCall) -> Iterable[Request]:
        """Follow-ups for the call's PDF attachments: the "bando" first, at most `max_documents`."""
        links: dict[str, str] = {}
        for a in tree.css("span.file--mime-application-pdf a[href]"):
            url = urljoin(page.url, a.attributes.get("href") or "")
            links.setdefault(url, clean_text(a.text()) or clean_text(a.attributes.get("title")) or url)
        ranked = sorted(links.items(), key=lambda kv: _document_rank(kv[1]))
        for url, name in ranked[:self.options.max_documents]:
            # the call is the fallback: a document that cannot be fetched loses nothing and fails nothing else
            yield Request(url=url, callback="parse_document", meta={"call": call.external_id, "name": name},
                          fallback=(call,), max_bytes=self.options.max_document_bytes,
                          headers={"Accept": "application/pdf"})

    def parse_document(self, page: Page) -> Iterable[Yield]:
        """A PDF attachment: its text page by page, kept with the call. An unreadable file is logged, not fatal."""
        name = str(page.request.meta.get("name") or page.url)
        try:
            pages = pdf_pages(page.body, name=name)
        except ParseError as exc:
            log.warning("piemonte: %s (%s) is not readable: %s", name, page.url, exc)
            return
        yield CallDocument(external_id=str(page.request.meta["call"]),
                           document=Document(name=name, url=page.url, pages=pages))


def _document_rank(name: str) -> int:
    """The call's own text first ("Bando 2026 ..."), then documents about it (decrees, annexes), then the rest."""
    low = name.lower()
    if low.startswith(("bando", "avviso")):
        return 0
    return 1 if re.search(r"\b(?:bando|avviso|allegat\w*|disciplinare)\b", low) else 2


def _text(node: LexborNode | None) -> str:
    return clean_text(node.text()) if node is not None else ""


def _time(tree: LexborHTMLParser, field: str) -> Deadline | None:
    node = tree.css_first(f".{field} time[datetime]")
    if node is None:
        return None
    return parse_iso_datetime(node.attributes.get("datetime"), tz=ROME)


def _feed_summary(description_html: str) -> str | None:
    """The feed description minus its leading "<i><strong>section</strong></i><br><i>state</i>" lines."""
    lines = html_to_text(description_html).split("\n")
    return "\n".join(lines[2:]) or None


SPEC = SourceSpec(
    name="piemonte", scraper=PiemonteScraper, base_url=BASE_URL, options=PiemonteOptions,
    about="bandi.regione.piemonte.it listing of open calls (teasers and pager), RSS feeds, call pages and their "
          "PDF documents",
    tested_on="real recorded listing page (2026-06-12), feed (2026-09) and call pages (2026-09-30, 2026-10-01); "
              "PDF reading on PDFs the tests build",
    recordings="piemonte",
    demo_options={"base_url": "{replay}", "feeds": ["/tutti/rss.xml"], "max_pages": 1, "detail_pages": False},
    demo_note="piemonte: only the first listing page was recorded, and no call page of its teasers nor any PDF: "
              "the demo reads the listing and the feed without following them",
)
