"""`type = "html"`: an HTML listing read with CSS selectors, optionally following each call to its page."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import ClassVar
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from calltracker.scraping import Page, ParseError, Request, Yield, clean_text
from scrapers.generic.common import ConfiguredScraper

log = logging.getLogger(__name__)


class HtmlScraper(ConfiguredScraper):
    """An HTML listing read with CSS selectors, optionally following each call to its page."""

    name: ClassVar[str] = "html"
    source_type: ClassVar[str] = "html"

    def parse(self, page: Page) -> Iterable[Yield]:
        tree = LexborHTMLParser(page.text)
        items = tree.css(self.config["item"])
        if not items:
            if page.text.strip():
                raise ParseError(f"{page.url}: {self.source_name}.item {self.config['item']!r} matches nothing; "
                                 "the layout may have changed")
            return
        found = 0
        for item in items:
            link_node = self._link_node(item)
            href = link_node.attributes.get("href") if link_node is not None else None
            if not href:
                continue
            url = urljoin(page.url, href).split("#")[0]
            if not self.link_ok(url):
                continue
            title = self._text(item, "title") or (clean_text(link_node.text()) if link_node is not None else "")
            if not title:
                continue
            found += 1
            call = self.build(page, title=title, url=url, deadline_text=self._text(item, "deadline"),
                              opening_text=self._text(item, "opening"), summary=self._text(item, "summary"),
                              status_label=self._text(item, "status"))
            yield from self.emit(call)
        log.debug("%s: %d of %d items are calls on %s", self.source_name, found, len(items), page.url)
        number = int(page.request.meta.get("page", 0))
        selector = self.config.get("next_page")
        if selector and number + 1 < int(self.config.get("max_pages", 5)):
            nxt = tree.css_first(selector)
            href = nxt.attributes.get("href") if nxt is not None else None
            if href:
                yield Request(url=urljoin(page.url, href), meta={"page": number + 1})

    def _link_node(self, item: LexborNode) -> LexborNode | None:
        selector = self.config.get("link")
        if selector:
            return item.css_first(selector)
        if item.tag == "a":
            return item
        return item.css_first("a[href]")

    def _text(self, item: LexborNode, key: str) -> str | None:
        selector = self.config.get(key)
        if not selector:
            return None
        node = item.css_first(selector)
        if node is None:
            return None
        return clean_text(node.text()) or None
