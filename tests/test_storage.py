from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calltracker.domain import Deadline, Region, Scope, ScrapedCall, Status
from calltracker.errors import InputError
from calltracker.storage import CallFilter, MemberInput, Store, read_members_csv

BRUSSELS = ZoneInfo("Europe/Brussels")
ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def make_call(ext: str = "HORIZON-CL5-2027-D5-01-01", **kw: object) -> ScrapedCall:
    base = ScrapedCall(
        source="eu_ft", external_id=ext, identifier=ext, title="Hydrogen-powered aircraft",
        url=f"https://ec.europa.eu/{ext}", programme="Horizon Europe", scope=Scope.EU, status=Status.OPEN,
        deadlines=(Deadline(datetime(2027, 4, 15, 17, 0, tzinfo=BRUSSELS)),), budget_eur=12_000_000.0,
        regions=(Region.LOMBARDIA, Region.PIEMONTE, Region.LIGURIA), raw={"id": ext},
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_saving_twice_is_idempotent(store: Store) -> None:
    first = store.save_calls("eu_ft", [make_call()], run_id=None, now=NOW)
    assert len(first.new_ids) == 1
    second = store.save_calls("eu_ft", [make_call()], run_id=None, now=NOW + timedelta(hours=1))
    assert second.new_ids == [] and second.changed_ids == [] and second.unchanged == 1
    assert store.changes() == []
    view = store.get_call(first.new_ids[0])
    assert view.last_seen_at == NOW + timedelta(hours=1)
    assert view.last_changed_at == NOW


def test_new_ids_are_those_of_the_stored_new_calls_after_other_pages_and_sources(store: Store) -> None:
    # A page's new calls get their ids in one go (drawn before the insert): each id must be its own call's.
    store.save_calls("other", [make_call(f"O-{i}", source="other") for i in range(3)], run_id=None, now=NOW)
    store.save_calls("eu_ft", [make_call("E-1"), make_call("E-3")], run_id=None, now=NOW)
    page = [make_call(f"E-{i}") for i in (5, 1, 2, 3, 4)]  # two of them stored already
    result = store.save_calls("eu_ft", page, run_id=None, now=NOW + timedelta(hours=1))
    assert result.unchanged == 2
    assert result.new_ids == [store.get_call(f"eu_ft:E-{i}").id for i in (5, 2, 4)]
    assert [store.get_call(i).external_id for i in result.new_ids] == ["E-5", "E-2", "E-4"]
    assert len({v.id for v in store.find_calls()}) == 8


def test_content_hashes_stay_those_already_stored() -> None:
    # Stored calls are compared by these digests: a new formula would report every stored call as changed.
    assert make_call().content_hash() == "59effc0f0d6c7416203f1206288b14360daae028c399c402a39b7682834c51ad"
    odd = make_call(title="Università: aerei “verdi” — H₂", description="testo\nsu due righe\t\\ \"citato\"",
                    deadlines=(Deadline(datetime(2027, 4, 15, tzinfo=ROME), date_only=True, label="fase 1"),
                               Deadline(datetime(2027, 9, 1, 17, tzinfo=BRUSSELS))),
                    opening_date=datetime(2027, 1, 10, 9, tzinfo=ROME), budget_text="€ 12 mln")
    assert odd.content_hash() == "1c1baf142752089f6a045cc024c7119d9cbc233fb450d5d2a6a13d612975f06a"


def test_deadline_keeps_its_official_zone(store: Store) -> None:
    call_id = store.save_calls("eu_ft", [make_call()], run_id=None, now=NOW).new_ids[0]
    (deadline,) = store.get_call(call_id).deadlines
    assert deadline.at == datetime(2027, 4, 15, 17, 0, tzinfo=BRUSSELS)
    assert deadline.at.tzinfo == BRUSSELS
    assert deadline.at.strftime("%H:%M %Z") == "17:00 CEST"


def test_a_moved_deadline_is_recorded_field_by_field(store: Store) -> None:
    run_id = store.start_run("eu_ft", NOW)
    call_id = store.save_calls("eu_ft", [make_call()], run_id=run_id, now=NOW).new_ids[0]
    moved = make_call(deadlines=(Deadline(datetime(2027, 5, 6, 17, 0, tzinfo=BRUSSELS)),), budget_eur=15e6)
    result = store.save_calls("eu_ft", [moved], run_id=run_id, now=NOW + timedelta(days=1))
    assert result.changed_ids == [call_id]
    fields = {c.field: (c.old, c.new) for c in store.changes(call_id)}
    assert set(fields) == {"deadlines", "budget_eur"}
    assert fields["budget_eur"] == (12e6, 15e6)
    assert "2027-04-15T15:00:00+00:00[Europe/Brussels]" in fields["deadlines"][0][0]
    assert "2027-05-06T15:00:00+00:00[Europe/Brussels]" in fields["deadlines"][1][0]
    assert store.get_call(call_id).deadlines[0].at.day == 6


def test_status_forthcoming_to_open_is_a_change(store: Store) -> None:
    call_id = store.save_calls("eu_ft", [make_call(status=Status.FORTHCOMING)], run_id=None, now=NOW).new_ids[0]
    store.save_calls("eu_ft", [make_call(status=Status.OPEN)], run_id=None, now=NOW + timedelta(days=1))
    (change,) = store.changes(call_id)
    assert (change.field, change.old, change.new) == ("status", "forthcoming", "open")


def test_past_last_deadline_closes_a_call_even_if_source_says_open(store: Store) -> None:
    past = make_call(deadlines=(Deadline(datetime(2026, 1, 10, 17, 0, tzinfo=BRUSSELS)),))
    call_id = store.save_calls("eu_ft", [past], run_id=None, now=NOW).new_ids[0]
    assert store.get_call(call_id).status == "closed"


def test_close_expired_closes_only_calls_past_their_last_deadline(store: Store) -> None:
    two_stage = make_call("TWO", deadlines=(Deadline(datetime(2026, 12, 1, 17, 0, tzinfo=BRUSSELS)),
                                            Deadline(datetime(2027, 3, 1, 17, 0, tzinfo=BRUSSELS))))
    single = make_call("ONE", deadlines=(Deadline(datetime(2026, 12, 1, 17, 0, tzinfo=BRUSSELS)),))
    sportello = make_call("OPEN-ENDED", deadlines=())
    store.save_calls("eu_ft", [two_stage, single, sportello], run_id=None, now=NOW)
    assert store.close_expired(datetime(2026, 12, 5, tzinfo=UTC)) == 1
    assert store.get_call("eu_ft:ONE").status == "closed"
    assert store.get_call("eu_ft:TWO").status == "open"
    assert store.get_call("eu_ft:OPEN-ENDED").status == "open"
    assert [c.field for c in store.changes(store.get_call("eu_ft:ONE").id)] == ["status"]


def test_a_smaller_scrape_deletes_nothing(store: Store) -> None:
    store.save_calls("eu_ft", [make_call("A"), make_call("B"), make_call("C")], run_id=None, now=NOW)
    store.save_calls("eu_ft", [make_call("A")], run_id=None, now=NOW + timedelta(days=1))
    assert store.count_calls() == 3
    assert store.get_call("eu_ft:B").status == "open"


def test_find_calls_filters_by_theme_region_and_open(store: Store) -> None:
    ids = store.save_calls("eu_ft", [make_call("A"), make_call("B"),
                                      make_call("OLD", status=Status.CLOSED)], run_id=None, now=NOW).new_ids
    store.save_classification(ids[0], rules_version="t1", themes={"green_aviation": 3.0},
                              eligible={"lombardia": True, "piemonte": True, "liguria": True}, scope="eu",
                              consortium="required", tri_regional_fit=True, fit_score=2, fit_reason="EU-wide",
                              fit_reason_it="UE", evidence={"themes": []}, now=NOW)
    store.save_classification(ids[1], rules_version="t1", themes={},
                              eligible={"lombardia": False, "piemonte": True, "liguria": False}, scope="regional",
                              consortium="single", tri_regional_fit=False, fit_score=0, fit_reason="",
                              fit_reason_it=None, evidence={}, now=NOW)
    assert [c.id for c in store.find_calls(CallFilter(theme="green_aviation"), now=NOW)] == [ids[0]]
    assert [c.id for c in store.find_calls(CallFilter(region="liguria"), now=NOW)] == [ids[0]]
    assert {c.id for c in store.find_calls(CallFilter(region="piemonte"), now=NOW)} == set(ids[:2])
    assert {c.id for c in store.find_calls(CallFilter(open_only=True), now=NOW)} == set(ids[:2])
    view = store.get_call(ids[0])
    assert view.themes == ["green_aviation"] and view.classification is not None
    assert view.classification.tri_regional_fit is True
    assert store.calls_to_classify("t1") == [ids[2]]
    assert set(store.calls_to_classify("t2")) == set(ids)


def test_get_call_by_identifier_or_source_key(store: Store) -> None:
    call_id = store.save_calls("eu_ft", [make_call()], run_id=None, now=NOW).new_ids[0]
    assert store.get_call("horizon-cl5-2027-d5-01-01").id == call_id
    assert store.get_call("eu_ft:HORIZON-CL5-2027-D5-01-01").id == call_id
    with pytest.raises(InputError, match='no call with id or identifier "NOPE"'):
        store.get_call("NOPE")


def test_runs_and_consecutive_failures(store: Store) -> None:
    for outcome in ("ok", "failed", "failed"):
        run = store.start_run("eu_ft", NOW)
        store.finish_run(run, outcome=outcome, finished_at=NOW, seen=10 if outcome == "ok" else 0,
                         error=None if outcome == "ok" else "HTTP 500")
    assert store.consecutive_failures("eu_ft") == 2
    assert store.last_good_seen("eu_ft") == 10
    assert store.last_runs()["eu_ft"].error == "HTTP 500"


def test_members_csv_reports_each_bad_row_by_line() -> None:
    text = ("email,name,organisation,region,language,themes\n"
            "anna@aero.it,Anna,AeroLab,Lombardia,it,green_aviation;space_economy\n"
            "not-an-email,Bruno,X,piemonte,it,\n"
            "carla@sat.it,Carla,Sat,Sicilia,en,\n"
            "dario@uav.it,Dario,UAV,liguria,de,\n"
            "elsa@ai.it,Elsa,AI,piemonte,en,robots\n"
            "ANNA@aero.it,Anna again,AeroLab,lombardia,it,\n")
    good, bad = read_members_csv(text)
    assert [m.email for _, m in good] == ["anna@aero.it"]
    assert good[0][1].themes == ("green_aviation", "space_economy")
    assert [(p.line, p.message.split(":")[0]) for p in bad] == [
        (3, "email"), (4, "region"), (5, "language"), (6, "themes"), (7, "email")]
    assert 'unknown region "Sicilia"' in bad[1].message


def test_members_import_creates_then_updates(store: Store) -> None:
    anna = MemberInput("anna@aero.it", "Anna", "AeroLab", "lombardia", "it", ("green_aviation",))
    assert store.import_members("lac", [anna], NOW) == (1, 0, 0)
    assert store.import_members("LAC", [anna], NOW) == (0, 0, 1)
    assert store.import_members("Lac", [replace(anna, language="en")], NOW) == (0, 1, 0)
    (member,) = store.members("LAC")
    assert member.language == "en" and member.receives_mail and len(member.feed_token) > 20
    with pytest.raises(InputError, match=r'unknown cluster "XYZ" \(known clusters: DAP, LAC, LIG\)'):
        store.import_members("XYZ", [anna], NOW)


def test_the_same_call_from_two_sources_is_linked_and_listed_once(store: Store) -> None:
    filse = ScrapedCall(source="liguria", external_id="filse-123", title="Bando Innovazione PMI liguri 2027",
                        url="https://www.filse.it/bandi/innovazione-pmi-2027", regions=(Region.LIGURIA,),
                        deadlines=(Deadline(datetime(2027, 3, 31, 12, tzinfo=ZoneInfo("Europe/Rome"))),))
    catalogue = ScrapedCall(source="incentivi", external_id="inc-9", title="Bando innovazione PMI liguri 2027",
                            url="https://www.incentivi.gov.it/it/catalogo/bando-innovazione-pmi-liguri",
                            regions=(Region.LIGURIA,), raw={"link": "https://filse.it/bandi/innovazione-pmi-2027/"},
                            deadlines=(Deadline(datetime(2027, 3, 31, 12, tzinfo=ZoneInfo("Europe/Rome"))),))
    other = make_call("HORIZON-X")
    (first,) = store.save_calls("liguria", [filse], run_id=None, now=NOW).new_ids
    (second,) = store.save_calls("incentivi", [catalogue], run_id=None, now=NOW).new_ids
    store.save_calls("eu_ft", [other], run_id=None, now=NOW)
    assert store.get_call(second).canonical_id == first
    assert store.get_call(first).canonical_id is None
    listed = [c.id for c in store.find_calls(CallFilter(canonical_only=True), now=NOW)]
    assert first in listed and second not in listed and len(listed) == 2
    assert store.count_calls() == 3  # both source records are kept
