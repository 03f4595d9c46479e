"""Config-defined sources (rss / html / json): validation messages and parsing on recorded payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from calltracker.domain import Region, Scope, ScrapedCall, Status
from calltracker.errors import ConfigError, ParseError
from calltracker.normalize import ROME
from calltracker.scraping import Page, Request
from scrapers.generic import HtmlScraper, JsonScraper, RssScraper, validate_config

PIEMONTE_RSS: dict[str, Any] = {"type": "rss", "enabled": True, "base_url": "https://bandi.regione.piemonte.it",
                                "url": "/tutti/rss.xml", "region": "piemonte", "scope": "regional",
                                "link_pattern": "/contributi-finanziamenti/"}


def test_a_valid_table_has_no_problems() -> None:
    assert validate_config("piemonte_feed", PIEMONTE_RSS) == []


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"type": "html", "base_url": "https://x.it", "item": "div >"},
         'sources.s.item: not a valid CSS selector, got "div >"'),
        ({"type": "html", "base_url": "https://x.it"},
         "sources.s.item: required for an html source (a CSS selector), got nothing"),
        ({"type": "html", "base_url": "https://x.it", "item": "li", "detail_deadline": "p:nth-child("},
         'sources.s.detail_deadline: not a valid CSS selector, got "p:nth-child("'),
        ({"type": "html", "base_url": "https://x.it", "item": "li", "region": "lazio"},
         'sources.s.region: expected one of lombardia, piemonte, liguria, got "lazio"'),
        ({"type": "html", "base_url": "https://x.it", "item": "li", "scope": "global"},
         'sources.s.scope: expected one of eu, national, regional, interreg, other, got "global"'),
        ({"type": "html", "base_url": "https://x.it", "item": "li", "link_pattern": "call("},
         'sources.s.link_pattern: not a valid regular expression (missing ), unterminated subpattern at '
         'position 4), got "call("'),
        ({"type": "html", "base_url": "https://x.it", "item": "li", "max_pages": 0},
         "sources.s.max_pages: expected an integer from 1 to 100, got 0"),
        ({"type": "html", "base_url": "https://x.it", "item": "li", "timezone": "Europe/Milano"},
         'sources.s.timezone: not a known time zone (e.g. Europe/Rome), got "Europe/Milano"'),
        ({"type": "rss", "base_url": "https://x.it", "item": "li"},
         'sources.s.item: unknown key for a rss source, got "li"'),
        ({"type": "rss", "base_url": "https://x.it", "url": "ftp://x.it/feed"},
         'sources.s.url: expected an http(s) URL or a path starting with /, got "ftp://x.it/feed"'),
        ({"type": "json", "base_url": "https://x.it", "items": "results..hits", "fields": {"title": "t", "url": "u"}},
         'sources.s.items: not a dotted path like "results.0.hits", got "results..hits"'),
        ({"type": "json", "base_url": "https://x.it", "items": "", "fields": {"title": "t"}},
         "sources.s.fields.url: required (a dotted path in an item), got nothing"),
        ({"type": "json", "base_url": "https://x.it", "items": "", "fields": {"title": "t", "url": "u", "when": "d"}},
         'sources.s.fields.when: unknown field (known: deadline, description, id, opening, status, summary, title, '
         'url), got "d"'),
        ({"type": "json", "base_url": "https://x.it", "items": "", "fields": {"title": "t", "url": "u"},
          "method": "PUT"}, 'sources.s.method: expected "GET" or "POST", got "PUT"'),
    ],
)
def test_bad_tables_are_named_with_key_and_value(table: dict[str, Any], message: str) -> None:
    assert validate_config("s", table)[0] == message


def test_the_constructor_refuses_a_bad_table() -> None:
    with pytest.raises(ConfigError, match=r"sources\.s\.item: not a valid CSS selector"):
        HtmlScraper({"type": "html", "base_url": "https://x.it", "item": "a["}, name="s")


def feed_page(fixtures: Path, request: Request) -> Page:
    body = (fixtures / "piemonte" / "rss_tutti.xml").read_bytes()
    text = body.decode()
    return Page(request=request, url=request.url, status=200, body=body, text=text,
                fetched_at=datetime(2026, 9, 18, 8, 0, tzinfo=UTC))


def test_an_rss_source_on_the_real_piemonte_feed(fixtures: Path) -> None:
    scraper = RssScraper(PIEMONTE_RSS, name="piemonte_feed")
    (request,) = scraper.start_requests()
    assert request.url == "https://bandi.regione.piemonte.it/tutti/rss.xml"
    calls = [c for c in scraper.parse(feed_page(fixtures, request)) if isinstance(c, ScrapedCall)]
    assert len(calls) == 3  # 10 items, 3 in the funding section
    first = calls[0]
    assert first.source == "piemonte_feed"
    assert first.title == "Programmazione dell'offerta formativa di Istruzione e Formazione Tecnica Superiore 2026-2029"
    assert first.external_id == first.url
    assert first.regions == (Region.PIEMONTE,) and first.scope is Scope.REGIONAL
    assert first.summary is not None and first.summary.startswith("Contributi e finanziamenti\nAperto\n")
    assert first.raw["pubDate"] == "Thu, 17 Sep 2026 09:06:05 +0200"


def test_detail_selectors_turn_items_into_follow_ups_with_a_fallback(fixtures: Path) -> None:
    table = {**PIEMONTE_RSS, "detail_deadline": ".field--name-field-data-scadenza time",
             "detail_status": "dl.field--name-field-stato dd"}
    scraper = RssScraper(table, name="piemonte_feed")
    (request,) = scraper.start_requests()
    follow = [r for r in scraper.parse(feed_page(fixtures, request)) if isinstance(r, Request)]
    assert len(follow) == 3 and all(r.callback == "parse_detail" and len(r.fallback) == 1 for r in follow)
    html = (fixtures / "piemonte" / "detail_esito_iefp-2026-2030_TRIMMED.html").read_text(encoding="utf-8")
    (call,) = scraper.parse_detail(Page.recorded(html, url=follow[0].url, request=follow[0]))
    assert isinstance(call, ScrapedCall)
    assert call.status is Status.CLOSED  # "Esito"
    assert [d.at for d in call.deadlines] == [datetime(2026, 7, 30, 17, 0, tzinfo=ROME)]
    assert call.title == follow[0].fallback[0].title
    broken = html.replace("field--name-field-data-scadenza", "field--name-field-deadline")
    with pytest.raises(ParseError, match="detail_deadline"):
        list(scraper.parse_detail(Page.recorded(broken, url=follow[0].url, request=follow[0])))


def test_an_rss_source_on_something_that_is_not_a_feed_raises() -> None:
    scraper = RssScraper(PIEMONTE_RSS, name="piemonte_feed")
    with pytest.raises(ParseError):
        list(scraper.parse(Page.recorded("<html><body>down for maintenance</body></html>")))


def test_an_html_source_reads_items_with_selectors(fixtures: Path) -> None:
    """On a real Lombardia detail page: its attachment list stands in for a listing of items."""
    table = {"type": "html", "enabled": True, "base_url": "https://www.bandi.regione.lombardia.it",
             "item": "ul.it-list.bg-white li", "title": "span.text", "region": "lombardia", "scope": "regional"}
    html = (fixtures / "lombardia" / "detail_aperto_sportello_senza_scadenza_RLD12026053844_TRIMMED.html") \
        .read_text(encoding="utf-8")
    scraper = HtmlScraper(table, name="lombardia_docs")
    calls = [c for c in scraper.parse(Page.recorded(html, url="https://www.bandi.regione.lombardia.it/x"))
             if isinstance(c, ScrapedCall)]
    assert len(calls) == 16
    assert calls[0].title == "Informativa sul Trattamento dei Dati Personali - 25/05/2026"
    assert calls[0].url.startswith("https://www.bandi.regione.lombardia.it/servizi/servizio/bandi/download/")
    assert calls[0].regions == (Region.LOMBARDIA,)


def test_an_html_item_selector_matching_nothing_on_a_non_empty_page_raises(fixtures: Path) -> None:
    table = {"type": "html", "enabled": True, "base_url": "https://x.it", "item": "div.call-card"}
    html = (fixtures / "lombardia" / "detail_chiuso_RLO12021022783_TRIMMED.html").read_text(encoding="utf-8")
    with pytest.raises(ParseError, match="matches nothing"):
        list(HtmlScraper(table, name="x").parse(Page.recorded(html)))
    assert list(HtmlScraper(table, name="x").parse(Page.recorded(""))) == []


def test_a_json_source_on_the_real_interreg_eu_answer(fixtures: Path) -> None:
    table = {"type": "json", "enabled": True, "base_url": "https://www.interreg.eu", "items": "results.0.hits",
             "fields": {"id": "objectID", "title": "title", "url": "callExternalUrl", "deadline": "callDeadlineDate",
                        "opening": "callOpenDate", "status": "callStatus"},
             "scope": "interreg", "timezone": "Europe/Madrid"}
    body = (fixtures / "interreg" / "interreg_eu_algolia_callForProjectsPage_3hits_SUDOE.json").read_text(
        encoding="utf-8")
    calls = [c for c in JsonScraper(table, name="interreg_eu").parse(Page.recorded(body))
             if isinstance(c, ScrapedCall)]
    assert [c.external_id for c in calls] == ["callForProjectsPage_3129", "callForProjectsPage_3090",
                                              "callForProjectsPage_3091"]
    first = calls[0]
    assert first.title == "3rd Interreg Sudoe call: on the road to capitalisation"
    assert first.url == "https://interreg-sudoe.eu/3a-convocatoria/"
    assert first.status is Status.OPEN and first.scope is Scope.INTERREG and first.regions == ()
    (deadline,) = first.deadlines
    assert deadline.date_only and deadline.day.isoformat() == "2026-09-30"  # UTC midnight: a bare day
    assert first.opening_date is not None and first.opening_date.date().isoformat() == "2026-05-04"


def test_a_json_items_path_that_is_no_longer_a_list_raises() -> None:
    table = {"type": "json", "enabled": True, "base_url": "https://x.it", "items": "results.0.hits",
             "fields": {"title": "title", "url": "url"}}
    with pytest.raises(ParseError, match="is not a list"):
        list(JsonScraper(table, name="x").parse(Page.recorded('{"results": []}')))
    with pytest.raises(ParseError, match="no title or url"):
        list(JsonScraper(table, name="x").parse(Page.recorded('{"results": [{"hits": [{"name": "x"}]}]}')))
