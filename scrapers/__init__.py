"""The sources: one module per source, each declaring `SPEC` (see calltracker.scraping.SourceSpec).

`specs()` finds them by looking at the modules of this package, so adding a source is adding its module
(plus its recordings and its test): nothing here lists them. Config-defined sources
(`[sources.NAME] type = "rss" | "html" | "json"`) map their *type* to a generic scraper in
`scrapers.generic`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from functools import cache
from typing import Any

from calltracker.scraping import ConfigError, Scraper, SourceSpec


@cache
def specs() -> dict[str, SourceSpec]:
    """Every coded source's spec, by name (sorted)."""
    found: dict[str, SourceSpec] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.ispkg or module.name.startswith("_"):
            continue
        spec = getattr(importlib.import_module(f"{__name__}.{module.name}"), "SPEC", None)
        if isinstance(spec, SourceSpec):
            if spec.name in found:
                raise RuntimeError(f"two source modules declare the source {spec.name!r}")
            found[spec.name] = spec
    return dict(sorted(found.items()))


def spec(name: str) -> SourceSpec:
    known = specs()
    if name not in known:
        raise ConfigError(f"sources.{name}: no coded source of that name (known: {', '.join(known)}); "
                          'set type = "rss", "html" or "json" to define one in config')
    return known[name]


def generic_types() -> dict[str, Any]:
    from scrapers.generic import TYPES

    return dict(TYPES)


def build_scraper(name: str, table: Mapping[str, Any]) -> Scraper:
    """The scraper for `[sources.NAME]`: a coded source by its name, a config-defined one by its `type`."""
    source_type = table.get("type") or "coded"
    if source_type == "coded":
        return spec(name).build(table)
    types = generic_types()
    if source_type not in types:
        raise ConfigError(f"sources.{name}.type: unknown source type {source_type!r} (known: {', '.join(types)})")
    scraper: Scraper = types[source_type](table, name=name)
    return scraper


def default_tables() -> dict[str, dict[str, Any]]:
    """`[sources.NAME]` defaults: every coded source, at its default base URL."""
    return {name: {"base_url": s.base_url} for name, s in specs().items()}


BEGIN = "# >>> coded sources: generated from each module's SPEC by `python -m scrapers`; do not edit by hand"
END = "# <<< coded sources"


def _toml(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def example_toml() -> str:
    """The coded sources' part of config.example.toml: each source, its default base URL and every option
    with its default and description (commented out: the defaults apply)."""
    lines = [BEGIN]
    for name, s in specs().items():
        lines += ["", f"# {s.about}", f"[sources.{name}]", "enabled = true", f"base_url = {_toml(s.base_url)}",
                  "# min_delay = 1.0  # seconds between requests to its host (default: [http] min_delay)",
                  "# concurrency = 1  # requests at once to its host (default: [http] concurrency)",
                  "# allowed_hosts = []  # other hosts its redirects may lead to (\"host\" or \"host:port\")",
                  "# detail_refresh_hours = 24.0  # default: [scrape] detail_refresh_hours"]
        for key, default, about in s.option_docs():
            setting = f"# {key} = {_toml(default)}"
            lines.append(f"{setting}  # {about}" if about else setting)
    return "\n".join([*lines, "", END])
