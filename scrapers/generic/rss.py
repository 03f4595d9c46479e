"""`type = "rss"`: each item of an RSS 2.0 feed is a call (title, link, description, guid)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar
from urllib.parse import urljoin

from calltracker.scraping import Page, Yield, clean_text, rss_channel
from calltracker.scraping import text_of_html as html_to_text
from scrapers.generic.common import ConfiguredScraper


class RssScraper(ConfiguredScraper):
    """An RSS 2.0 feed: one call per item."""

    name: ClassVar[str] = "rss"
    source_type: ClassVar[str] = "rss"

    def parse(self, page: Page) -> Iterable[Yield]:
        channel = rss_channel(page)
        for item in channel.iter("item"):
            title = clean_text(item.findtext("title"))
            link = clean_text(item.findtext("link"))
            if not title or not link:
                continue
            link = urljoin(page.url, link)
            if not self.link_ok(link):
                continue
            guid = clean_text(item.findtext("guid")) or link
            call = self.build(page, title=title, url=link, external_id=guid,
                              summary=html_to_text(item.findtext("description") or ""),
                              raw={"pubDate": clean_text(item.findtext("pubDate")) or None})
            yield from self.emit(call)
