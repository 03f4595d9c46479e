"""`type = "json"`: a JSON API, a list of items at a dotted path, fields mapped by dotted paths."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urljoin

from calltracker.scraping import Page, ParseError, Request, Yield, clean_text
from calltracker.scraping import text_of_html as html_to_text
from scrapers.generic.common import ConfiguredScraper, lookup


class JsonScraper(ConfiguredScraper):
    """A JSON API: a list of items at a dotted path, fields mapped by dotted paths."""

    name: ClassVar[str] = "json"
    source_type: ClassVar[str] = "json"

    def start_requests(self) -> Iterable[Request]:
        params = self.config.get("params") or None
        for url in self.urls:
            yield Request(url=url, method=str(self.config.get("method", "GET")), params=params,
                          headers={"Accept": "application/json"})

    def parse(self, page: Page) -> Iterable[Yield]:
        items = lookup(page.json(), str(self.config["items"]))
        if not isinstance(items, list):
            raise ParseError(f"{page.url}: {self.source_name}.items {self.config['items']!r} is not a list here")
        fields: Mapping[str, str] = self.config["fields"]
        prefix = str(self.config.get("url_prefix") or page.url)

        def value(item: Any, key: str) -> str | None:
            path = fields.get(key)
            found = lookup(item, path) if path else None
            if found is None or isinstance(found, (dict, list)):
                return None
            return str(found)

        for item in items:
            title = clean_text(value(item, "title"))
            link = value(item, "url")
            if not title or not link:
                raise ParseError(f"{page.url}: an item has no title or url at the configured paths")
            url = urljoin(prefix, link)
            if not self.link_ok(url):
                continue
            call = self.build(page, title=title, url=url, external_id=value(item, "id") or url,
                              deadline_text=value(item, "deadline"), opening_text=value(item, "opening"),
                              summary=html_to_text(value(item, "summary")),
                              description=html_to_text(value(item, "description")),
                              status_label=value(item, "status"))
            yield from self.emit(call)
