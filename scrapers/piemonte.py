"""Regione Piemonte: bandi.regione.piemonte.it (Drupal), the listing for businesses, its RSS feeds and
each call's page.

The listing (`/contributi-finanziamenti?destinatari=imprese&stato=aperto`, 20 items a page, `page=N`
from 0) and the feeds only give links: no recorded listing page exists, so the listing is read for its
links to call pages (`/contributi-finanziamenti/<slug>`, `/pre-informazione-fondi-ue/<slug>`) and
nothing else. Feeds carry no deadline, so every call comes from its own page: status field
(aperto / scaduto / esito / pre-informazione ...), "Domande dal" and "Scadenza" `<time datetime>` in
UTC, and on pre-information pages a free-text "Data presunta di apertura" that is never a deadline.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from calltracker.domain import Deadline, Region, Scope, ScrapedCall, Status
from calltracker.errors import ParseError
from calltracker.normalize import ROME, clean_text, html_to_text, parse_amount, parse_iso_datetime
from calltracker.scraping import Page, Request, Yield, require, rss_channel

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


class PiemonteScraper:
    name: ClassVar[str] = "piemonte"
    config_keys: ClassVar[dict[str, type]] = {"listing_path": str, "feeds": list, "max_pages": int}

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.base_url = str(config["base_url"]).rstrip("/")
        self.listing_path = str(config.get("listing_path",
                                           "/contributi-finanziamenti?destinatari=imprese&stato=aperto"))
        # the section feed has the latest calls of any audience; the root feed only pre-information
        self.feeds = [str(f) for f in config.get("feeds", ["/contributi-finanziamenti/rss.xml", "/rss.xml"])]
        self.max_pages = int(config.get("max_pages", 15))
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
        if parts.netloc and parts.netloc != urlsplit(self.base_url).netloc:
            return False
        segments = [s for s in parts.path.split("/") if s]
        return len(segments) == 2 and segments[0] in CALL_SECTIONS

    def _detail(self, url: str, summary: str | None = None) -> Request | None:
        clean = url.split("#")[0].split("?")[0]
        if clean in self._asked:
            return None
        self._asked.add(clean)
        return Request(url=clean, callback="parse_detail", meta={"summary": summary} if summary else {})

    def parse(self, page: Page) -> Iterable[Yield]:
        """A listing page: a request per call page found, then the next listing page."""
        tree = LexborHTMLParser(page.text)
        links = []
        for a in tree.css("a[href]"):
            url = urljoin(page.url, a.attributes.get("href") or "")
            if self.is_call_url(url):
                links.append(url)
        number = int(page.request.meta.get("page", 0))
        if not links and number == 0:
            raise ParseError(f"{page.url}: no links to call pages on the first listing page; "
                             "the layout may have changed")
        new = [r for r in (self._detail(u) for u in links) if r is not None]
        yield from new
        if new and number + 1 < self.max_pages:
            yield self.listing_request(number + 1)

    def parse_feed(self, page: Page) -> Iterable[Yield]:
        """An RSS feed: requests for the call pages among its items (other sections are skipped)."""
        channel = rss_channel(page)
        for item in channel.iter("item"):
            link = clean_text(require(item.findtext("link"), "item link", page))
            if not self.is_call_url(link):
                continue
            summary = _feed_summary(item.findtext("description") or "")
            request = self._detail(link, summary)
            if request is not None:
                yield request

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
        yield ScrapedCall(
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
