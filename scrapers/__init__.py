"""Registry of sources: name -> "module:Class", loaded lazily so importing this costs nothing.

Config-defined sources (`[sources.NAME] type = "rss" | "html" | "json"`) map their *type* to a generic
scraper in `scrapers.configured`.
"""

from __future__ import annotations

import importlib
from typing import Any

from calltracker.errors import ConfigError

SOURCES: dict[str, str] = {
    "eu_ft": "scrapers.eu_ft:EuFtScraper",
    "lombardia": "scrapers.lombardia:LombardiaScraper",
    "piemonte": "scrapers.piemonte:PiemonteScraper",
    "liguria": "scrapers.liguria:LiguriaScraper",
    "incentivi": "scrapers.incentivi:IncentiviScraper",
    "esa": "scrapers.esa:EsaScraper",
}

CONFIGURED_TYPES: dict[str, str] = {
    "rss": "scrapers.configured:RssScraper",
    "html": "scrapers.configured:HtmlScraper",
    "json": "scrapers.configured:JsonScraper",
}


def load_class(dotted: str) -> Any:
    module_name, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def scraper_class(name: str, source_type: str | None = None) -> Any:
    """The scraper class for a source name (coded) or a config-defined source's `type`."""
    if source_type and source_type != "coded":
        if source_type not in CONFIGURED_TYPES:
            known = ", ".join(sorted(CONFIGURED_TYPES))
            raise ConfigError(f"sources.{name}.type: unknown source type {source_type!r} (known: {known})")
        return load_class(CONFIGURED_TYPES[source_type])
    if name not in SOURCES:
        known = ", ".join(sorted(SOURCES))
        raise ConfigError(
            f"sources.{name}: no coded source of that name; set type = rss/html/json or use one of: {known}"
        )
    return load_class(SOURCES[name])
