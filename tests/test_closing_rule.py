"""One closing rule everywhere: a call due "15/10/2026" (date-only, Europe/Rome) is open all of the 15th.

Storage (`calls list --open`, `close_expired`), digest selection, alerts, the web list and page, and the
feeds all follow `Deadline.passed`; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from icalendar import Calendar
from starlette.testclient import TestClient

from calltracker.bootstrap import App
from calltracker.cli import calls_cmds
from calltracker.cli.context import CliState
from calltracker.config import load_settings
from calltracker.digest import choose_alerts, choose_digest
from calltracker.domain import Deadline, Scope, ScrapedCall, Status
from calltracker.normalize import parse_deadline
from calltracker.storage import CallFilter, MemberInput, Store
from calltracker.web import create_app

ROME = ZoneInfo("Europe/Rome")
BRUSSELS = ZoneInfo("Europe/Brussels")
SAVED = datetime(2026, 10, 1, 9, 0, tzinfo=ROME)
LAST_EVENING = datetime(2026, 10, 15, 23, 30, tzinfo=ROME)  # 21:30 UTC: after midnight UTC's "15th 00:00"
AFTER_MIDNIGHT = datetime(2026, 10, 16, 0, 0, 30, tzinfo=ROME)
ATOM = "{http://www.w3.org/2005/Atom}"


def due_15th() -> Deadline:
    deadline = parse_deadline("Scadenza: 15/10/2026")
    assert deadline is not None and deadline.date_only and deadline.at.tzinfo == ROME
    return deadline


# -- the rule ---------------------------------------------------------------------------------------------


def test_a_date_only_deadline_closes_at_the_end_of_its_day_in_its_own_zone() -> None:
    d = due_15th()
    assert d.closes_at == datetime(2026, 10, 15, 23, 59, 59, 999999, tzinfo=ROME)
    assert not d.passed(LAST_EVENING) and d.passed(AFTER_MIDNIGHT)
    # the same day in Brussels, read from Italy: still the end of the 15th there
    bxl = Deadline(datetime(2026, 10, 15, tzinfo=BRUSSELS), date_only=True)
    assert not bxl.passed(LAST_EVENING) and bxl.passed(AFTER_MIDNIGHT)
    timed = Deadline(datetime(2026, 10, 15, 17, 0, tzinfo=BRUSSELS))
    assert timed.closes_at == timed.at and not timed.passed(timed.at) and timed.passed(timed.at + timedelta(seconds=1))


def test_a_scraped_call_is_open_all_of_its_last_day() -> None:
    call = ScrapedCall(source="lombardia", external_id="X", title="t", url="https://x.it", deadlines=(due_15th(),))
    assert call.status_at(LAST_EVENING) is Status.OPEN
    assert call.status_at(AFTER_MIDNIGHT) is Status.CLOSED
    forthcoming = ScrapedCall(source="eu_ft", external_id="Y", title="t", url="https://x.eu",
                              opening_date=datetime(2026, 10, 20, tzinfo=BRUSSELS), deadlines=(due_15th(),))
    assert forthcoming.status_at(SAVED) is Status.FORTHCOMING


# -- storage, CLI, digest, alerts ------------------------------------------------------------------------


def _save(store: Store, *, now: datetime = SAVED) -> int:
    call = ScrapedCall(source="lombardia", external_id="BANDO-15", title="Bando aerospazio e cybersicurezza",
                       url="https://www.bandi.regione.lombardia.it/x", scope=Scope.REGIONAL, status=Status.OPEN,
                       deadlines=(due_15th(),))
    store.save_calls("lombardia", [call], run_id=None, now=now)
    call_id = store.get_call("lombardia:BANDO-15").id
    store.save_classification(call_id, rules_version="t", themes={"cybersecurity": 1.0},
                              eligible=dict.fromkeys(("lombardia", "piemonte", "liguria"), True), scope="regional",
                              consortium="optional", tri_regional_fit=True, fit_score=2, fit_reason="why",
                              fit_reason_it="perché", evidence={}, now=now)
    return call_id


def _open_ids(store: Store, now: datetime) -> list[int]:
    return [c.id for c in store.find_calls(CallFilter(open_only=True), now=now)]


def test_storage_keeps_the_call_open_until_the_end_of_its_last_day(store: Store) -> None:
    call_id = _save(store)
    assert _open_ids(store, LAST_EVENING) == [call_id]
    assert [c.id for c in store.find_calls(CallFilter(closing_within_days=1), now=LAST_EVENING)] == [call_id]
    assert store.close_expired(LAST_EVENING) == 0
    assert store.get_call(call_id).status == "open"
    assert _open_ids(store, AFTER_MIDNIGHT) == []
    assert store.close_expired(AFTER_MIDNIGHT) == 1
    assert store.get_call(call_id).status == "closed"


def test_a_call_saved_on_its_last_evening_is_stored_open(store: Store) -> None:
    call_id = _save(store, now=LAST_EVENING)
    assert store.get_call(call_id).status == "open"
    assert _open_ids(store, LAST_EVENING) == [call_id]


def _calls_list(store: Store, tmp_path: Path, now: datetime) -> str:
    config = tmp_path / "calltracker.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    app = App(settings=load_settings(config), store=store, clock=lambda: now)
    result = CliRunner().invoke(calls_cmds.calls, ["list", "--open"], obj=CliState(_app=app))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_calls_list_open_shows_the_call_on_its_last_evening(store: Store, tmp_path: Path) -> None:
    _save(store)
    shown = _calls_list(store, tmp_path, LAST_EVENING)
    assert "Bando aerospazio" in shown and "2026-10-15" in shown
    assert "Bando aerospazio" not in _calls_list(store, tmp_path, AFTER_MIDNIGHT)


def test_digest_and_alerts_choose_the_call_on_its_last_evening(store: Store) -> None:
    _save(store)
    store.import_members("LAC", [MemberInput("anna@aero.it", "Anna", "AeroLab", "lombardia", "it", ())], SAVED)
    member = store.member("LAC:anna@aero.it")
    calls = store.find_calls(CallFilter(canonical_only=True), now=LAST_EVENING)
    content = choose_digest(member, calls, {}, since=None, now=LAST_EVENING, closing_soon_days=14)
    assert [e.call.title for e in content.entries] == ["Bando aerospazio e cybersicurezza"]
    reminders = choose_alerts(member, calls, now=LAST_EVENING, lead_days=[7, 1])
    assert [(r.lead_days, r.days_left) for r in reminders] == [(1, 0)]
    later = choose_digest(member, calls, {}, since=None, now=AFTER_MIDNIGHT, closing_soon_days=14)
    assert later.entries == [] and choose_alerts(member, calls, now=AFTER_MIDNIGHT, lead_days=[7, 1]) == []


# -- web pages and feeds ---------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def web(store: Store, config_file: Path) -> Iterator[tuple[TestClient, Clock, int]]:
    call_id = _save(store)
    store.import_members("LAC", [MemberInput("anna@aero.it", "Anna", "AeroLab", "lombardia", "it", ())], SAVED)
    clock = Clock(LAST_EVENING)
    app = App(settings=load_settings(config_file), store=store, clock=clock)
    with TestClient(create_app(app), follow_redirects=False) as client:
        yield client, clock, call_id


def test_web_list_page_and_feeds_show_the_call_open_on_its_last_evening(web: tuple[TestClient, Clock, int],
                                                                         store: Store) -> None:
    client, clock, call_id = web
    token = store.member("LAC:anna@aero.it").feed_token

    def state() -> tuple[bool, str, int, int, int]:
        listed = "Bando aerospazio e cybersicurezza" in client.get("/calls").text
        page = client.get(f"/calls/{call_id}").text
        status = page[page.index('<dd class="status-'):].split(">", 2)[1].split("<")[0]
        atom = ET.fromstring(client.get("/calls.atom").content).findall(f"{ATOM}entry")
        mine = ET.fromstring(client.get(f"/f/{token}/calls.atom").content).findall(f"{ATOM}entry")
        ics = list(Calendar.from_ical(client.get(f"/f/{token}/deadlines.ics").content).walk("VEVENT"))
        return listed, status, len(atom), len(mine), len(ics)

    assert state() == (True, "Aperto", 1, 1, 1)
    clock.now = AFTER_MIDNIGHT
    assert state() == (False, "Chiuso", 0, 0, 0)


def test_a_past_deadline_call_never_reads_open_before_the_next_run(web: tuple[TestClient, Clock, int]) -> None:
    client, clock, call_id = web
    clock.now = AFTER_MIDNIGHT + timedelta(days=3)  # no run has closed it: the stored status is still "open"
    page = client.get(f"/calls/{call_id}?lang=en").text
    assert '<dd class="status-closed">Closed</dd>' in page and 'class="status-open"' not in page
    listed = client.get("/calls?status=all").text
    assert "Bando aerospazio" in listed and 'class="status-open"' not in listed


def test_calls_show_prints_an_eu_opening_date_on_its_official_day(store: Store, tmp_path: Path) -> None:
    opening = datetime(2026, 10, 15, tzinfo=BRUSSELS)  # 14 Oct, 22:00 UTC
    call = ScrapedCall(source="eu_ft", external_id="HORIZON-X", identifier="HORIZON-X", title="EU topic",
                       url="https://ec.europa.eu/x", opening_date=opening,
                       deadlines=(Deadline(datetime(2027, 1, 20, 17, 0, tzinfo=BRUSSELS)),))
    store.save_calls("eu_ft", [call], run_id=None, now=SAVED)
    config = tmp_path / "calltracker.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    app = App(settings=load_settings(config), store=store, clock=lambda: SAVED.astimezone(UTC))
    result = CliRunner().invoke(calls_cmds.calls, ["show", "HORIZON-X"], obj=CliState(_app=app))
    assert result.exit_code == 0, result.output
    assert "opens:      2026-10-15\n" in result.stdout
    assert "deadline:   2027-01-20 17:00 CET" in result.stdout


def test_scrapers_judge_a_date_only_closing_by_the_same_rule() -> None:
    from calltracker.normalize import status_from_dates
    from scrapers.esa import ISSUED, _status

    paris_day = Deadline(datetime(2026, 10, 15, tzinfo=ZoneInfo("Europe/Paris")), date_only=True)
    assert _status({}, ISSUED, None, paris_day, LAST_EVENING) is Status.OPEN
    assert _status({}, ISSUED, None, paris_day, AFTER_MIDNIGHT) is Status.CLOSED
    assert status_from_dates(None, due_15th(), LAST_EVENING) is Status.OPEN
    assert status_from_dates(None, due_15th(), AFTER_MIDNIGHT) is Status.CLOSED


def test_migration_0004_recomputes_stored_closing_instants(db_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from calltracker import migrate
    from calltracker.storage import make_engine

    engine = make_engine(db_url)
    migrate.upgrade(engine, db_url)
    store = Store(engine)
    call_id = _save(store)

    def stored() -> datetime:
        """The call's last closing instant as stored, in naive UTC (SQLite keeps no zone)."""
        with engine.connect() as conn:
            value = conn.execute(text("SELECT last_deadline_at FROM calls WHERE id = :id"), {"id": call_id}).scalar()
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at

    def migrate_to(revision: str, down: bool = False) -> None:
        cfg = migrate.alembic_config(db_url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, revision)

    end_of_day = datetime(2026, 10, 15, 23, 59, 59, 999999, tzinfo=ROME)
    assert stored() == end_of_day.astimezone(UTC).replace(tzinfo=None)
    migrate_to("0003", down=True)  # back to the old columns: the deadline's midnight
    assert stored() == datetime(2026, 10, 14, 22, 0)
    migrate_to("head")
    assert stored() == end_of_day.astimezone(UTC).replace(tzinfo=None)
    assert _open_ids(store, LAST_EVENING) == [call_id]
    kept = store.get_call(call_id)  # nothing else was lost on the way down and up
    assert kept.deadlines == (due_15th(),) and kept.classification is not None
    store.close()


def test_status_filters_follow_the_status_at_now(store: Store) -> None:
    call_id = _save(store)

    def ids(status: str, now: datetime) -> list[int]:
        return [c.id for c in store.find_calls(CallFilter(status=status), now=now)]

    assert (ids("open", LAST_EVENING), ids("closed", LAST_EVENING)) == ([call_id], [])
    # past its deadline, before any run has closed it
    assert (ids("open", AFTER_MIDNIGHT), ids("closed", AFTER_MIDNIGHT)) == ([], [call_id])


def test_the_interest_board_shows_a_date_only_deadline_on_its_last_evening(store: Store) -> None:
    from calltracker.consortium import next_deadline as board_deadline

    call = store.get_call(_save(store))
    assert board_deadline(call, LAST_EVENING) == due_15th().at  # it read `at >= now`: gone at 00:00 of the 15th
    assert board_deadline(call, AFTER_MIDNIGHT) is None
