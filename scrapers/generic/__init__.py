"""Sources defined in configuration, without code: `[sources.NAME] type = "rss" | "html" | "json"`.

See `scrapers.generic.common` for the keys each type takes; `validate_config` checks a table up front.
"""

from __future__ import annotations

from scrapers.generic.common import ConfiguredScraper, validate_config
from scrapers.generic.html import HtmlScraper
from scrapers.generic.json import JsonScraper
from scrapers.generic.rss import RssScraper

#: `type` -> the generic scraper class for it.
TYPES: dict[str, type[ConfiguredScraper]] = {"rss": RssScraper, "html": HtmlScraper, "json": JsonScraper}

__all__ = ["TYPES", "ConfiguredScraper", "HtmlScraper", "JsonScraper", "RssScraper", "validate_config"]
