"""The Interreg programmes defined in config.example.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from calltracker.config import parse_settings
from calltracker.domain import Region, Scope, ScrapedCall
from calltracker.scraping import Page
from scrapers import build_scraper
from scrapers.generic import HtmlScraper, validate_config

TOML = Path(__file__).resolve().parents[2] / "config.example.toml"
ALL = (Region.LOMBARDIA, Region.PIEMONTE, Region.LIGURIA)


def tables() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = tomllib.loads(TOML.read_text(encoding="utf-8"))["sources"]
    return {name: table for name, table in data.items() if name.startswith("interreg_")}


def test_the_five_programmes_are_valid_interreg_sources() -> None:
    found = tables()
    assert sorted(found) == ["interreg_alcotra", "interreg_alpine_space", "interreg_central_europe",
                             "interreg_euro_med", "interreg_italia_svizzera"]
    for name, table in found.items():
        assert validate_config(name, table) == [], name
        assert table["scope"] == "interreg"
    settings = parse_settings({"sources": found})
    assert {n for n in settings.sources if n.startswith("interreg_")} == set(found)


def test_programme_areas_give_the_regions() -> None:
    found = {name: build_scraper(name, t) for name, t in tables().items()}
    assert found["interreg_alcotra"].regions == (Region.PIEMONTE, Region.LIGURIA)
    assert found["interreg_italia_svizzera"].regions == (Region.LOMBARDIA, Region.PIEMONTE)
    for name in ("interreg_alpine_space", "interreg_central_europe", "interreg_euro_med"):
        assert found[name].regions == ALL, name


def test_central_europe_keeps_only_call_links(fixtures: Path) -> None:
    table = tables()["interreg_central_europe"]
    scraper = HtmlScraper(table, name="interreg_central_europe")
    (request,) = scraper.start_requests()
    assert request.url == "https://www.interreg-central.eu/calls-for-proposals/"
    html = (fixtures / "interreg" / "central_europe_calls_SYNTHESISED.html").read_text(encoding="utf-8")
    calls = [c for c in scraper.parse(Page.recorded(html, url=request.url, request=request))
             if isinstance(c, ScrapedCall)]
    assert [(c.title, c.url) for c in calls] == [
        ("Fourth call for proposals", "https://www.interreg-central.eu/fourth-call-for-proposals/"),
        ("Call for small-scale projects", "https://www.interreg-central.eu/small-scale-projects-call/"),
    ]
    assert all(c.source == "interreg_central_europe" and c.scope is Scope.INTERREG and c.regions == ALL
               and c.programme == "Interreg CENTRAL EUROPE 2021-2027" for c in calls)
