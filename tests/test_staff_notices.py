from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from calltracker.bootstrap import App
from calltracker.errors import DeliveryError
from calltracker.jobs import StopToken
from calltracker.staff_notices import Transport, notify_broken_sources
from tests.opsjobs import make_app, make_runner

T0 = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
STAFF = ["segreteria@lombardiaerospace.it", "ops@dap.example.org"]


def notify(app: App, transport: Transport) -> list[EmailMessage]:
    return notify_broken_sources(app.settings, app.store, transport, app.clock())


class RecordingTransport:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[EmailMessage] = []
        self.fail = fail

    def send(self, message: EmailMessage) -> None:
        if self.fail:
            raise DeliveryError("451 try again later")
        self.sent.append(message)


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[App]:
    a = make_app(db_url, tmp_path / "data", mail={"staff_addresses": STAFF, "from_address": "bandi@lac.example.org"},
                 scrape={"broken_after": 3})
    a.clock = lambda: T0 + timedelta(days=5)
    yield a
    a.close()


def add_runs(app: App, source: str, *outcomes: str) -> None:
    for i, outcome in enumerate(outcomes):
        at = T0 + timedelta(days=i)
        run_id = app.store.start_run(source, at)
        app.store.finish_run(run_id, outcome=outcome, finished_at=at,
                             error="HTTP 503 from esastar-publication-ext.sso.esa.int" if outcome == "failed" else None)


def test_staff_are_told_once_when_a_source_breaks(app: App) -> None:
    add_runs(app, "esa", "ok", "failed", "failed", "failed")
    add_runs(app, "eu_ft", "failed", "failed")  # two in a row is not broken yet
    transport = RecordingTransport()
    sent = notify(app, transport)
    assert sent == transport.sent and len(sent) == 1
    msg = sent[0]
    assert msg["To"] == ", ".join(STAFF)
    assert "esa" in msg["Subject"] and "eu_ft" not in msg["Subject"]
    body = msg.get_content()
    assert "3 esecuzioni fallite o sospette di seguito" in body and "3 runs failed or suspect in a row" in body
    assert "HTTP 503" in body
    assert app.store.source_states()["esa"] == (app.clock(), app.clock())
    assert notify(app, transport) == [] and len(transport.sent) == 1


def test_staff_are_told_again_when_it_recovers(app: App) -> None:
    add_runs(app, "esa", "failed", "failed", "failed")
    transport = RecordingTransport()
    notify(app, transport)
    add_runs(app, "esa", "ok")
    sent = notify(app, transport)
    assert len(sent) == 1 and "ripristinate" in sent[0]["Subject"] and "recovered: esa" in sent[0]["Subject"]
    assert "working again" in sent[0].get_content()
    assert app.store.source_states()["esa"] == (None, None)
    assert notify(app, transport) == []


def test_a_failed_notice_is_tried_again_next_time(app: App) -> None:
    add_runs(app, "esa", "failed", "failed", "failed")
    with pytest.raises(DeliveryError):
        notify(app, RecordingTransport(fail=True))
    assert app.store.source_states()["esa"] == (None, None)
    assert len(notify(app, RecordingTransport())) == 1


def test_without_staff_nobody_is_mailed_but_the_breakage_is_recorded(db_url: str, tmp_path: Path) -> None:
    app = make_app(db_url, tmp_path / "data")
    try:
        add_runs(app, "esa", "failed", "failed", "failed")
        transport = RecordingTransport()
        assert notify(app, transport) == [] and transport.sent == []
        since, notified = app.store.source_states()["esa"]
        assert since is not None and notified is None
    finally:
        app.close()


def test_the_scrape_job_is_followed_by_the_notice(app: App) -> None:
    transport = RecordingTransport()

    def scrape(a: App) -> dict[str, object]:
        add_runs(a, "piemonte", "failed", "failed", "failed")
        return {"failed": ["piemonte"], "summary": "scrape: 1 of 6 sources failed"}

    runner = make_runner(app, ({"scrape": scrape}), stop=StopToken(),
                       after={"scrape": lambda a: (notify(a, transport), None)[1]})
    result = runner.run("scrape")
    assert not result.ok
    assert len(transport.sent) == 1 and "piemonte" in transport.sent[0]["Subject"]


def test_a_disabled_source_is_not_reported(db_url: str, tmp_path: Path) -> None:
    app = make_app(db_url, tmp_path / "data", mail={"staff_addresses": STAFF},
                   sources={"esa": {"enabled": False}})
    try:
        add_runs(app, "esa", "failed", "failed", "failed")
        assert notify(app, RecordingTransport()) == []
    finally:
        app.close()
