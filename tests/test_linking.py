"""Linking the same call across sources, on the recorded (and, for Liguria, synthesised) payloads."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from calltracker.domain import Deadline, Region, ScrapedCall
from calltracker.linking import link_keys, links_by, normalise_title, normalise_url, same_call
from calltracker.scraping import Page, Request
from scrapers.incentivi import IncentiviScraper
from scrapers.liguria import LiguriaScraper
from scrapers.lombardia import LombardiaScraper

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FETCHED = datetime(2026, 9, 2, 9, 0, tzinfo=UTC)


def incentivi(*docs: dict[str, Any], include_other_regions: bool = False) -> dict[str, ScrapedCall]:
    scraper = IncentiviScraper({"base_url": "https://www.incentivi.gov.it",
                                "include_other_regions": include_other_regions})
    request = scraper.request(0)
    body = json.dumps({"response": {"numFound": len(docs), "docs": list(docs)}})
    page = Page(request=request, url=request.url, status=200, body=body.encode(), text=body)
    return {c.external_id: c for c in scraper.parse(page) if isinstance(c, ScrapedCall)}


def raw_docs() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "incentivi" / "solr_docs_raw_fieldnames_curated_PARTIAL.json")
                                      .read_text(encoding="utf-8"))
    return data


def full_docs() -> dict[str, dict[str, Any]]:
    path = FIXTURES / "incentivi" / "solr_response_aliased_fieldnames_FULL.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return {d["ID_Incentivo"]: d for d in data["response"]["docs"]}


def liguria_calls() -> dict[str, ScrapedCall]:
    """FILSE's (synthesised) answer and the real Regione Liguria search answer of 2026-06-12."""
    scraper = LiguriaScraper({"base_url": "https://www.regione.liguria.it"})
    out: dict[str, ScrapedCall] = {}
    body = (FIXTURES / "liguria" / "filse_ajaxLoadBandi_SYNTHESISED.json").read_bytes()
    filse = scraper.filse_request(0)
    out.update((c.external_id, c) for c in scraper.parse_filse(Page.recorded(body, url=filse.url, request=filse))
               if isinstance(c, ScrapedCall))
    html = (FIXTURES / "liguria" / "listing_contributi_attivi_POST_result_FULL.html").read_text(encoding="utf-8")
    regione = Request(url="https://www.regione.liguria.it/homepage-bandi-e-avvisi.html", method="POST",
                      callback="parse_listing", meta={"page": 1})
    out.update((c.external_id, c) for c in scraper.parse_listing(Page.recorded(html, url=regione.url,
                                                                               request=regione))
               if isinstance(c, ScrapedCall))
    return out


def test_a_liguria_measure_on_incentivi_and_on_the_regional_list_share_the_competition_id() -> None:
    """The measure on incentivi.gov.it links to Regione Liguria's competition 3836 (not among the ten recorded
    calls): the regional list's calls carry the same kind of key, so the two records of one call meet."""
    national = incentivi(raw_docs()["specific"])["1556"]
    assert "publiccompetition:regione.liguria.it:3836" in link_keys(national)
    regional = liguria_calls()["regione-4645"]
    assert "publiccompetition:regione.liguria.it:4645" in link_keys(regional)
    assert not same_call(national, regional)


def test_a_liguria_measure_on_filse_links_by_title_region_and_deadline_day() -> None:
    national = incentivi(raw_docs()["specific"])["1556"]
    filse = liguria_calls()["filse-447"]
    shared = link_keys(national) & link_keys(filse)
    assert shared == {"title:pr fesr liguria 2021 2027 sostegno all accesso al credito a favore del comparto "
                      "artigianato|2026-12-14"}
    assert same_call(national, filse)
    assert not same_call(national, liguria_calls()["filse-812"])


def test_a_title_and_deadline_day_link_two_records_only_when_they_share_a_region() -> None:
    at = datetime(2027, 3, 31, 12, tzinfo=UTC)
    a = ScrapedCall(source="incentivi", external_id="1", title="Bando Voucher Digitali", url="https://a.it/1",
                    regions=(Region.LOMBARDIA, Region.PIEMONTE), deadlines=(Deadline(at),))
    b = replace(a, source="piemonte", external_id="2", url="https://b.it/2", title="BANDO voucher digitali!")
    assert link_keys(a) & link_keys(b) == {"title:bando voucher digitali|2027-03-31"}
    assert same_call(a, b)
    assert not same_call(a, replace(b, regions=(Region.LIGURIA,)))
    assert not same_call(a, replace(b, regions=()))
    assert not same_call(a, replace(b, deadlines=(Deadline(datetime(2027, 4, 1, 12, tzinfo=UTC)),)))
    assert links_by("title:x|2027-03-31", ["liguria", "piemonte"], ["piemonte"])
    assert not links_by("title:x|2027-03-31", ["liguria"], ["piemonte"])
    assert links_by("url:a.it/1", ["liguria"], [])


def test_a_lombardia_measure_on_incentivi_links_to_the_register_by_its_code() -> None:
    national = incentivi(full_docs()["1468"])["1468"]
    scraper = LombardiaScraper({"base_url": "https://www.dati.lombardia.it"})
    row = {"codice_bando": "RLO12024036663", "titolo_bando": "Rafforzamento filiere",
           "apertura_adesione": "2024-03-28T00:00:00.000", "chiusura_adesione": None}
    request = scraper.dataset_request(0, date(2026, 9, 1))
    (follow,) = scraper.parse(Page.recorded(json.dumps([row]), url=request.url, request=request))
    assert isinstance(follow, Request)
    regional = follow.fallback[0]
    assert "id:RLO12024036663" in link_keys(national) & link_keys(regional)
    assert same_call(national, regional)


def test_records_of_one_source_sharing_a_landing_page_stay_distinct() -> None:
    docs = full_docs()
    found = incentivi(docs["1433"], docs["1434"], include_other_regions=True)
    a, b = found["1433"], found["1434"]
    assert link_keys(a) & link_keys(b)  # the same generic provincia.bz.it page
    assert not same_call(a, b)
    assert same_call(a, a)


def test_unrelated_calls_do_not_link() -> None:
    docs = full_docs()
    found = incentivi(docs["1442"], docs["1468"], docs["143"])
    regional = liguria_calls()
    for call in found.values():
        for other in regional.values():
            assert not same_call(call, other), (call.external_id, other.external_id)


def test_normalisation() -> None:
    assert normalise_title("  Sostegno all’accesso — al CREDITO! ") == "sostegno all accesso al credito"
    assert normalise_title("Attività però") == "attivita pero"
    assert normalise_url("HTTPS://WWW.Filse.it/it/bandi/#top") == "filse.it/it/bandi"
    assert normalise_url("https://x.it/a.asp?id=3") == "x.it/a.asp?id=3"
    assert normalise_url("mailto:someone@example.org") is None


def _normalise_url_by_urlsplit(url: str) -> str | None:
    """The rule as written before normalise_url had its fast path for plain http(s) URLs: urlsplit alone."""
    parts = urlsplit(unquote(url.strip()))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


def test_url_keys_are_those_urlsplit_gives() -> None:
    # Stored link keys are matched by their text: the fast path must give the very same key for every URL.
    urls = ["https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/x-1",
            "http://www.Regione.Lombardia.it/wps/portal/bandi/", "https://WWW.x.it", "https://x.it/", "https://x.it//",
            "https://x.it?b=2", "https://x.it#frag?no", "https://x.it/a?q=1#f", "https://x.it/a#f?q=1",
            "https://x.it/a/?q=1/b", "https://user:pw@x.it:8443/a/b/", "http://", "https://", "http:///only/path",
            "https://?q", "https://#f", "  https://x.it/pad  ", "https://x.it/a%20b/%3Fq%3D1", "https://x.it/%0Anl",
            "https://x.it/tab\there", "https://x.it/a\r\nb", "https://[::1]/ipv6", "https://x.it/è", "https://x.it/%C3%A8",
            "https://bücher.de/a", "HTTPS://x.it/Upper", "Https://x.it/a", "https:x.it/a", "https:/x.it/a",
            "ftp://x.it/a", "mailto:a@x.it", "", "   ", "x.it/a", "//x.it/a", "https://x.it/a;params?q",
            "https://www.www.x.it/a", "https://x.it/a?", "https://x.it/a?#", "https://x.it/publiccompetition/12:3/"]
    for url in urls:
        assert normalise_url(url) == _normalise_url_by_urlsplit(url), url
