"""Hostile records at the storage edge (issue #12, defect 2): bounded and cleaned, or quarantined, never
blocking the rest of their page. Both engines."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from calltracker.domain import Deadline, Region, Scope, ScrapedCall, Status
from calltracker.storage import PageMemo, Store
from calltracker.storage.bounds import clean_json, is_clean_json
from calltracker.storage.schema import CallDeadlineRow
from calltracker.storage.sql import insert_fresh_columns

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def call(ext: str, **kw: object) -> ScrapedCall:
    base = ScrapedCall(
        source="liguria", external_id=ext, title=f"Bando {ext}", url=f"https://www.filse.it/bandi/{ext}",
        programme="PR FESR 2021-2027", scope=Scope.REGIONAL, status=Status.OPEN,
        deadlines=(Deadline(datetime(2027, 3, 31, 12, tzinfo=ROME)),), regions=(Region.LIGURIA,),
        raw={"id": ext},
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_a_very_long_title_with_two_regions_and_a_deadline_is_saved_with_its_page(store: Store) -> None:
    long_title = "Bando per la transizione digitale delle imprese aerospaziali " * 10  # ~620 chars
    page = [call("ok-1"), call("long", title=long_title, regions=(Region.LIGURIA, Region.PIEMONTE)), call("ok-2")]
    result = store.save_calls("liguria", page, run_id=None, now=NOW)
    assert len(result.new_ids) == 3 and result.quarantined == []
    assert store.get_call("liguria:long").title == long_title
    # the same long title on another source still links (the bounded keys are the same for both)
    other = replace(page[1], source="incentivi", external_id="inc-long", url="https://www.incentivi.gov.it/x")
    (other_id,) = store.save_calls("incentivi", [other], run_id=None, now=NOW).new_ids
    assert store.get_call(other_id).canonical_id == store.get_call("liguria:long").id


def test_nul_bytes_long_programme_labels_and_non_finite_numbers_are_cleaned(store: Store) -> None:
    nasty = call("nasty\x00", title="Bando\x00 innovazione", description="testo\x00 con NUL",
                 programme="Programma " * 40, budget_eur=float("nan"), language="it-IT-x-very-long",
                 deadlines=(Deadline(datetime(2027, 3, 31, 12, tzinfo=ROME), label="fase " * 100),),
                 raw={"body\x00": "x\x00y", "ratio": float("inf"), "list": [float("nan")]})
    result = store.save_calls("liguria", [call("before"), nasty, call("after")], run_id=None, now=NOW)
    assert len(result.new_ids) == 3 and result.quarantined == []
    view = store.get_call("liguria:nasty")
    assert view.title == "Bando innovazione" and view.description == "testo con NUL"
    assert view.programme is not None and len(view.programme) <= 255 and view.programme.startswith("Programma")
    assert view.budget_eur is None
    assert view.language is not None and len(view.language) <= 8
    label = view.deadlines[0].label
    assert label is not None and len(label) <= 255
    # saving the same record again is recognised as unchanged
    again = store.save_calls("liguria", [nasty], run_id=None, now=NOW + timedelta(hours=1))
    assert again.unchanged == 1 and again.new_ids == [] and again.changed_ids == []


def test_raw_payloads_are_stored_as_their_json_round_trip_whether_plain_or_not(store: Store) -> None:
    plain = {"id": "p", "n": 3, "ratio": 0.5, "ok": True, "none": None, "tags": ["a", {"b": [1, 2]}], "città": "è"}
    odd = {"when": datetime(2027, 1, 2, tzinfo=UTC), "pair": (1, 2), 7: Scope.EU, "set": ["x"],
           "nested": {"tuple": ("a",), "surrogate": "a\ud800b"}}
    store.save_calls("liguria", [call("plain", raw=plain), call("odd", raw=odd)], run_id=None, now=NOW)
    assert store.call_text(store.get_call("liguria:plain").id)["raw"] == plain
    assert store.call_text(store.get_call("liguria:odd").id)["raw"] == {
        "when": "2027-01-02 00:00:00+00:00", "pair": [1, 2], "7": "eu", "set": ["x"],
        "nested": {"tuple": ["a"], "surrogate": "a?b"}}


def test_only_plain_clean_json_takes_the_fast_path() -> None:
    for value in ({"a": [1, 2.5, None, True, "x"]}, [], "testo è", 0):
        assert is_clean_json(value) and clean_json(value) == value and json.loads(json.dumps(value)) == value
    for value in ({"a": (1,)}, {1: "x"}, {"a": float("nan")}, ["x\x00"], "a\ud800", {"a": Scope.EU},
                  {"a": datetime(2027, 1, 1, tzinfo=UTC)}, float("inf")):
        assert not is_clean_json(value)


def test_fresh_rows_that_clash_with_stored_ones_raise_the_engines_integrity_error(store: Store) -> None:
    store.save_calls("liguria", [call("one")], run_id=None, now=NOW)
    call_id = store.get_call("liguria:one").id
    clash = {"call_id": [call_id], "position": [0], "at": [datetime(2027, 1, 1, tzinfo=ROME)],
             "timezone": ["Europe/Rome"], "date_only": [False], "label": [None]}
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        insert_fresh_columns(conn, CallDeadlineRow.__table__, clash)
    assert [d.at for d in store.get_call(call_id).deadlines] == [datetime(2027, 3, 31, 12, tzinfo=ROME)]


def test_a_page_memo_with_a_huge_etag_is_kept(store: Store) -> None:
    etag = '"' + "e" * 700 + '"'
    store.put_page_memo("liguria:page", PageMemo(url="https://www.filse.it/bandi", etag=etag,
                                                 last_modified="x" * 300, content_hash="h" * 64, memo={"n": 1}))
    memo = store.get_page_memo("liguria:page")
    assert memo is not None and memo.content_hash == "h" * 64 and memo.memo == {"n": 1}
    # an ETag we could not keep whole is not sent back: the content hash decides instead
    assert memo.etag is None


def test_a_record_that_cannot_be_stored_is_quarantined_and_the_rest_of_the_page_saved(store: Store) -> None:
    # A deadline one cannot express in UTC: the record cannot be hashed nor stored.
    impossible = call("impossible", deadlines=(Deadline(datetime(1, 1, 1, 0, 30,
                                                                  tzinfo=timezone(timedelta(hours=2)))),))
    run_id = store.start_run("liguria", NOW)
    result = store.save_calls("liguria", [call("a"), impossible, call("b")], run_id=run_id, now=NOW)
    assert len(result.new_ids) == 2
    assert [q.external_id for q in result.quarantined] == ["impossible"]
    assert "date value out of range" in result.quarantined[0].error
    assert store.count_calls() == 2
    (kept,) = store.quarantined()
    assert (kept.source, kept.external_id, kept.run_id) == ("liguria", "impossible", run_id)
    assert '"impossible"' in kept.record and "0001-01-01" in kept.record  # kept raw, as scraped
    assert store.quarantine_counts() == {"liguria": 1}


def test_a_record_the_database_refuses_is_quarantined_and_the_rest_of_the_page_saved(store: Store) -> None:
    # A rule of the database this code does not know about: it refuses one record, and only that one.
    with store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(sa.text("CREATE TRIGGER refuse BEFORE INSERT ON calls WHEN NEW.title = 'refused' "
                                 "BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"))
        else:
            conn.execute(sa.text("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                                 "IF NEW.title = 'refused' THEN RAISE EXCEPTION 'refused by a trigger'; END IF; "
                                 "RETURN NEW; END $$"))
            conn.execute(sa.text("CREATE TRIGGER refuse BEFORE INSERT ON calls FOR EACH ROW "
                                 "EXECUTE FUNCTION refuse()"))
    page = [call(f"c{i}") for i in range(5)]
    page[2] = call("bad\x00", title="refused")
    result = store.save_calls("liguria", page, run_id=None, now=NOW)
    assert len(result.new_ids) == 4
    assert [q.external_id for q in result.quarantined] == ["bad"]
    assert "refused by a trigger" in result.quarantined[0].error
    assert sorted(c.external_id for c in store.find_calls()) == ["c0", "c1", "c3", "c4"]
    (kept,) = store.quarantined(source="liguria")
    assert kept.error == result.quarantined[0].error
    assert "bad\\u0000" in kept.record  # the raw record, NUL byte included
    assert store.quarantined(source="eu_ft") == []


def test_a_page_mixing_whole_and_fractional_budgets_and_none_is_saved_whole(store: Store,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL writes a page's column as one typed array: an int among floats must not refuse the page
    (which would then be saved record by record)."""
    page = [call("B-1", budget_eur=1_000_000), call("B-2", budget_eur=2.5e6), call("B-3", budget_eur=None)]
    with caplog.at_level(logging.INFO, logger="calltracker.storage.calls"):
        result = store.save_calls("liguria", page, run_id=None, now=NOW)
    assert "one by one" not in caplog.text
    assert len(result.new_ids) == 3 and result.quarantined == []
    assert [store.get_call(i).budget_eur for i in result.new_ids] == [1e6, 2.5e6, None]
