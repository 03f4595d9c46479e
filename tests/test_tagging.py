"""Stored calls are classified as they are stored, reclassified when rules change, and explainable."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from calltracker.classify import RULES_VERSION
from calltracker.cli import cli
from calltracker.config import load_settings
from calltracker.domain import Deadline, Region, Scope, ScrapedCall, Status
from calltracker.storage import CallFilter, Store
from calltracker.tagging import classify_pending

NOW = datetime(2026, 11, 25, tzinfo=UTC)
CLEAN_AVIATION = ScrapedCall(
    source="eu_ft", external_id="HORIZON-JU-CLEAN-AVIATION-2027-01-HPA-01",
    identifier="HORIZON-JU-CLEAN-AVIATION-2027-01-HPA-01",
    title="Hybrid-electric regional aircraft: thermal management for hydrogen-electric propulsion",
    description=("Research and Innovation Action. Proposals shall develop zero-emission aircraft propulsion, "
                 "reducing CO2 emissions of regional aviation. A consortium of at least three independent "
                 "legal entities from different Member States is required."),
    url="https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/topic-details/x",
    programme="Clean Aviation Joint Undertaking", scope=Scope.EU, status=Status.OPEN, language="en",
    deadlines=(Deadline(datetime(2027, 4, 15, 17, tzinfo=ZoneInfo("Europe/Brussels"))),),
    regions=(Region.LOMBARDIA, Region.PIEMONTE, Region.LIGURIA),
)
TOURISM = ScrapedCall(
    source="piemonte", external_id="turismo-2027", title="Contributi per eventi turistici nei borghi",
    description="Contributi a fondo perduto per le imprese turistiche con sede operativa in Piemonte.",
    url="https://bandi.regione.piemonte.it/contributi-finanziamenti/turismo-2027", scope=Scope.REGIONAL,
    status=Status.OPEN, language="it", regions=(Region.PIEMONTE,),
)


def test_new_calls_are_classified_and_filterable(store: Store) -> None:
    ids = store.save_calls("eu_ft", [CLEAN_AVIATION], run_id=None, now=NOW).new_ids
    ids += store.save_calls("piemonte", [TOURISM], run_id=None, now=NOW).new_ids
    assert classify_pending(store, NOW) == 2
    aviation, tourism = store.get_call(ids[0]), store.get_call(ids[1])
    assert aviation.themes == ["green_aviation"]
    assert aviation.classification is not None and aviation.classification.tri_regional_fit
    assert aviation.classification.rules_version == RULES_VERSION
    assert tourism.themes == []
    assert tourism.classification is not None
    assert tourism.classification.eligible == {"lombardia": False, "piemonte": True, "liguria": False}
    assert [c.id for c in store.find_calls(CallFilter(region="liguria"), now=NOW)] == [ids[0]]
    assert classify_pending(store, NOW) == 0  # nothing stale


def test_changed_calls_and_new_rules_are_reclassified(store: Store) -> None:
    (call_id,) = store.save_calls("eu_ft", [CLEAN_AVIATION], run_id=None, now=NOW).new_ids
    classify_pending(store, NOW)
    later = NOW + timedelta(days=1)
    store.save_calls("eu_ft", [replace(CLEAN_AVIATION, title=CLEAN_AVIATION.title + " (corrigendum)")],
                     run_id=None, now=later)
    assert store.calls_to_classify(RULES_VERSION) == [call_id]
    assert classify_pending(store, later + timedelta(seconds=1)) == 1
    assert store.calls_to_classify(RULES_VERSION + "-next") == [call_id]


def test_classify_stored_call_explains_every_rule(config_file: Path) -> None:
    store = Store.from_url(load_settings(config_file).database_url())
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config_file), "db", "upgrade"]).exit_code == 0
    store.save_calls("eu_ft", [CLEAN_AVIATION], run_id=None, now=NOW)
    store.close()
    result = runner.invoke(cli, ["--config", str(config_file), "classify", CLEAN_AVIATION.identifier or "",
                                 "--explain"])
    assert result.exit_code == 0, result.output
    assert "green_aviation" in result.stdout
    assert "CLEAN-AVIATION" in result.stdout.upper()
    missing = runner.invoke(cli, ["--config", str(config_file), "classify", "NO-SUCH-CALL", "--explain"])
    assert missing.exit_code == 1
    assert 'no call with id or identifier "NO-SUCH-CALL"' in missing.stderr
