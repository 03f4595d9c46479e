"""incentivi.gov.it: the Solr catalogue (recorded aliased response and curated raw-field documents)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from calltracker.domain import Region, Scope, ScrapedCall, Status
from calltracker.errors import ParseError
from calltracker.normalize import ROME
from calltracker.scraping import Page
from scrapers.incentivi import IncentiviScraper

BASE = "https://www.incentivi.gov.it"
CONFIG = {"enabled": True, "base_url": BASE}
ALL = (Region.LOMBARDIA, Region.PIEMONTE, Region.LIGURIA)


def page(body: str, fetched_at: datetime | None, config: dict[str, Any] | None = None) -> Page:
    scraper = IncentiviScraper(config or CONFIG)
    request = scraper.request(0)
    recorded = Page.recorded(body, url=request.url, request=request)
    return Page(request=request, url=recorded.url, status=200, body=recorded.body, text=recorded.text,
                fetched_at=fetched_at)


def full(fixtures: Path) -> str:
    return (fixtures / "incentivi" / "solr_response_aliased_fieldnames_FULL.json").read_text(encoding="utf-8")


def calls(body: str, fetched_at: datetime | None, config: dict[str, Any] | None = None) -> dict[str, ScrapedCall]:
    out = list(IncentiviScraper(config or CONFIG).parse(page(body, fetched_at, config)))
    assert all(isinstance(c, ScrapedCall) for c in out)
    return {c.external_id: c for c in out if isinstance(c, ScrapedCall)}


def raw_docs(fixtures: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((fixtures / "incentivi" / "solr_docs_raw_fieldnames_curated_PARTIAL.json")
                                      .read_text(encoding="utf-8"))
    return data


def test_the_request_aliases_the_solr_fields_to_the_export_names() -> None:
    (request,) = IncentiviScraper(CONFIG).start_requests()
    assert request.url == f"{BASE}/solr/coredrupal/select"
    assert request.params is not None
    assert request.params["q"] == "index_id:incentivi" and request.params["rows"] == "8000"
    assert "Data_chiusura:zs_field_close_date" in request.params["fl"].split(",")
    assert "zs_url" in request.params["fl"].split(",")


def test_it_keeps_national_and_three_region_measures_of_the_whole_recorded_catalogue(fixtures: Path) -> None:
    found = calls(full(fixtures), fetched_at=None)
    # 37 documents: 10 national (>= 15 regions), 4 single-region Lombardia/Piemonte ones, 23 elsewhere
    national = sorted(k for k, c in found.items() if c.scope is Scope.NATIONAL)
    regional = sorted(k for k, c in found.items() if c.scope is Scope.REGIONAL)
    assert regional == ["1428", "1442", "1448", "1468"]
    assert national == sorted(["1426", "1429", "143", "1430", "1431", "144", "1523", "154", "156", "175"])
    assert "1170" not in found and "1433" not in found  # Interreg Italia-Austria, Bolzano: other regions
    assert "137" not in found  # 8 southern regions: not national, none of ours
    assert all(c.regions == ALL for c in found.values() if c.scope is Scope.NATIONAL)
    assert found["1468"].regions == (Region.LOMBARDIA,)
    assert found["1442"].regions == (Region.PIEMONTE,)


def test_closed_measures_are_dropped_when_the_fetch_date_is_known(fixtures: Path) -> None:
    found = calls(full(fixtures), fetched_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    assert sorted(found) == ["1426", "143", "1468", "1523", "156"]
    assert {c.status for c in found.values()} == {Status.OPEN}


def test_a_full_record(fixtures: Path) -> None:
    call = calls(full(fixtures), fetched_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC))["1468"]
    assert call.title.startswith("Rafforzamento delle filiere produttive")
    assert call.scope is Scope.REGIONAL and call.regions == (Region.LOMBARDIA,)
    assert call.opening_date == datetime(2024, 3, 28, 0, 0, tzinfo=ROME)
    (deadline,) = call.deadlines
    assert deadline.date_only and deadline.day.isoformat() == "2027-12-31" and deadline.at.tzinfo is ROME
    assert call.deadline_text == "La chiusura può essere anticipata per esaurimento delle risorse disponibili"
    assert call.budget_eur == 34_000_000.0
    assert call.raw["link"].endswith("RLO12024036663")
    assert call.url == call.raw["link"]  # no catalogue path requested in that recording
    assert call.language == "it" and call.status is Status.OPEN


def test_rolling_measure_without_close_date_and_utc_rendered_midnight(fixtures: Path) -> None:
    call = calls(full(fixtures), fetched_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC))["143"]
    assert call.deadlines == ()
    assert call.deadline_text == "Fino ad esaurimento risorse"
    assert call.opening_date == datetime(2020, 1, 1, 0, 0, tzinfo=ROME)  # "2019-12-31T23:00:00" in UTC
    assert call.scope is Scope.NATIONAL and call.budget_eur is None


def test_noon_in_utc_becomes_noon_in_rome_and_ambiguous_budgets_stay_text(fixtures: Path) -> None:
    found = calls(full(fixtures), fetched_at=None, config={**CONFIG, "include_other_regions": True})
    assert found["175"].deadlines[0].at == datetime(2022, 11, 25, 12, 0, tzinfo=ROME)
    assert found["144"].deadlines[0].day.isoformat() == "2021-09-08"  # 22:00 UTC is midnight in Rome
    assert found["185"].budget_eur == 15_375_383.5
    assert found["137"].budget_eur is None
    assert found["137"].budget_text == "163000000 (con dm 29/7), 161800000 (con dm 09/08)"


def test_an_early_closure_note_closes_the_measure(fixtures: Path) -> None:
    found = calls(full(fixtures), fetched_at=None)
    assert found["1442"].status is Status.CLOSED
    assert found["1468"].status is None  # no fetch date: no guess from the dates


def test_other_regions_can_be_included_with_no_tracked_region(fixtures: Path) -> None:
    config = {**CONFIG, "include_other_regions": True}
    found = calls(full(fixtures), fetched_at=None, config=config)
    assert len(found) == 37
    assert found["1433"].regions == () and found["1433"].scope is Scope.REGIONAL
    assert found["1170"].scope is Scope.INTERREG and found["1170"].regions == ()


def test_raw_solr_field_names_are_read_too(fixtures: Path) -> None:
    docs = raw_docs(fixtures)
    body = json.dumps({"response": {"numFound": 2, "docs": [docs["specific"], docs["rolling_no_date"]]}})
    found = calls(body, fetched_at=datetime(2026, 9, 2, 9, 0, tzinfo=UTC))
    liguria = found["1556"]
    assert liguria.regions == (Region.LIGURIA,) and liguria.scope is Scope.REGIONAL
    assert liguria.url == (f"{BASE}/it/catalogo/pr-fesr-liguria-2021-2027-sostegno-allaccesso-al-credito-favore-"
                           "del-comparto-artigianato")
    assert "publiccompetition/3836:" in liguria.raw["link"]
    assert liguria.deadlines[0].day.isoformat() == "2026-12-14"
    assert liguria.status is Status.OPEN
    assert found["143"].scope is Scope.NATIONAL


def test_a_further_page_is_requested_when_numfound_is_larger(fixtures: Path) -> None:
    docs = raw_docs(fixtures)
    body = json.dumps({"response": {"numFound": 5, "docs": [docs["specific"], docs["national"]]}})
    out = list(IncentiviScraper(CONFIG).parse(page(body, None)))
    nxt = out[-1]
    assert not isinstance(nxt, ScrapedCall)
    assert nxt.params is not None and nxt.params["start"] == "2"


@pytest.mark.parametrize("body", ['{"error": {"msg": "undefined field"}}',
                                  '{"response": {"numFound": 37, "docs": []}}',
                                  '{"response": {"numFound": 1, "docs": [{"Titolo": "x"}]}}'])
def test_a_changed_answer_raises(body: str) -> None:
    with pytest.raises(ParseError):
        list(IncentiviScraper(CONFIG).parse(page(body, None)))
