"""Digests and alerts end to end: a real SMTP server on 127.0.0.1, the outbox on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from calltracker.bootstrap import App
from calltracker.config import parse_settings
from calltracker.delivery import CLAIM_LEASE, send_alerts, send_digests
from calltracker.errors import DeliveryError
from calltracker.mailer import SmtpTransport
from calltracker.storage import NewDelivery, Store
from calltracker.tokens import read_token
from tests.digest_support import add_member, fixture_records, scraped, store_fixture_calls
from tests.smtp_sink import SinkHandler, SmtpSink

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
KEY = "test-signing-key-0123456789abcdef"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as s:
        yield s


def make_app(store: Store, tmp_path: Path, port: int, clock: Clock, **digest: Any) -> App:
    settings = parse_settings({
        "data_dir": str(tmp_path / "data"), "database": {"url": "sqlite:///unused"},
        "mail": {"transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_timeout": 5.0,
                 "from_address": "bandi@lac.example.it", "from_name": "Bandi LAC"},
        "web": {"base_url": "https://bandi.example.org", "signing_key": KEY},
        "digest": digest,
    }, environ={})
    return App(settings=settings, store=store, clock=clock)


def setup_members(store: Store) -> None:
    store_fixture_calls(store, NOW - timedelta(days=2))
    add_member(store, "giulia@example.it", name="Giulia", language="it", region="piemonte", now=NOW)
    add_member(store, "john@example.com", name="John", language="en", region="liguria",
               themes=("artificial_intelligence",), now=NOW)
    add_member(store, "space@example.it", language="it", themes=("space_economy",), cluster="DAP", now=NOW)


def by_recipient(messages: Sequence[EmailMessage]) -> dict[str, list[EmailMessage]]:
    out: dict[str, list[EmailMessage]] = {}
    for m in messages:
        out.setdefault(m["To"].addresses[0].addr_spec, []).append(m)
    return out


def parts(msg: EmailMessage) -> tuple[str, str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    ics = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(ics) == 1
    return text.get_content(), html.get_content(), ics[0].get_content()


def test_each_member_gets_one_digest_in_their_language_with_sections_parts_and_headers(
        store: Store, tmp_path: Path, sink: SmtpSink) -> None:
    setup_members(store)
    app = make_app(store, tmp_path, sink.port, Clock(NOW))
    report = send_digests(app, period="2026-W48")
    assert (report.prepared, report.sent, report.failed) == (3, 3, 0)
    got = by_recipient(sink.handler.parsed())
    assert sorted(got) == ["giulia@example.it", "john@example.com", "space@example.it"]
    assert all(len(v) == 1 for v in got.values())

    it = got["giulia@example.it"][0]
    text, html, ics = parts(it)
    assert it["Subject"].startswith("Bandi aerospazio, settimana 48")
    assert "PER UNA CANDIDATURA CONGIUNTA TRI-REGIONALE" in text and "IN SCADENZA" in text
    assert "18 marzo 2027, 17:00 (ora di Bruxelles)" in text
    assert "Per una candidatura congiunta tri-regionale" in html and 'style="' in html
    assert "@media" in html  # the <style> block for narrow screens stays in <head>
    assert it.get_body(("html",))["Content-Transfer-Encoding"] == "8bit"  # type: ignore[index]
    assert it["Content-Language"] == "it"
    assert "serve un consorzio, quindi LAC, DAP" in html  # the Italian fit reason
    assert "BEGIN:VEVENT" in ics and "HORIZON-CL4-2027-04-DIGITAL-EMERGING-10" in ics
    assert it["Message-ID"] == f"<digest.2026-W48.{store.member('giulia@example.it').id}@lac.example.it>"
    assert it["List-Id"] == "calltracker <calltracker.lac-dap.it>"
    assert it["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert it["Date"] is not None
    https, mailto = (x.strip(" <>") for x in str(it["List-Unsubscribe"]).split(","))
    assert https.startswith("https://bandi.example.org/u/") and mailto.startswith("mailto:bandi@lac.example.it")
    claims = read_token(KEY, "unsubscribe", https.rsplit("/", 1)[1], NOW)
    assert claims.member_id == store.member("giulia@example.it").id

    en = got["john@example.com"][0]
    text, html, _ = parts(en)
    assert en["Subject"].startswith("Aerospace funding calls, week 48")
    assert "Other calls for you" in html or "For a joint tri-regional bid" in html
    assert "Living labs" not in text  # space_economy only: not one of John's themes
    # The SOIL call is not open to Liguria: the Ligurian member never sees it; the Piemonte one does.
    assert "Living labs" in got["space@example.it"][0].get_body(("plain",)).get_content()  # type: ignore[union-attr]

    assert {d.status for d in store.deliveries("digest")} == {"sent"}
    assert all("eml" not in d.payload for d in store.deliveries("digest"))


def test_sending_twice_for_the_same_period_sends_nothing_the_second_time(
        store: Store, tmp_path: Path, sink: SmtpSink) -> None:
    setup_members(store)
    app = make_app(store, tmp_path, sink.port, Clock(NOW))
    assert send_digests(app, period="2026-W48").sent == 3
    again = send_digests(app, period="2026-W48")
    assert (again.prepared, again.sent, again.skipped) == (0, 0, 3)
    assert len(sink.handler.messages) == 3


def test_next_week_only_new_or_changed_calls_and_nothing_new_means_no_email(
        store: Store, tmp_path: Path, sink: SmtpSink) -> None:
    setup_members(store)
    clock = Clock(NOW)
    app = make_app(store, tmp_path, sink.port, clock)
    send_digests(app, period="2026-W48")
    clock.now = NOW + timedelta(days=7)
    record = next(r for r in fixture_records() if r["external_id"] == "HORIZON-CL4-2027-04-DIGITAL-EMERGING-10")
    moved = scraped(record, deadlines=(scraped(record).deadlines[0].__class__(
        datetime(2027, 4, 1, 17, 0, tzinfo=scraped(record).deadlines[0].at.tzinfo)),))
    store.save_calls("eu_ft", [moved], run_id=None, now=NOW + timedelta(days=6))
    report = send_digests(app, period="2026-W49")
    # Only members interested in that call hear about it; the space-only member has nothing new.
    assert report.sent == 2 and report.skipped == 1
    latest = by_recipient(sink.handler.parsed()[3:])
    text = latest["giulia@example.it"][0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "CAMBIATI DALL'ULTIMA VOLTA" in text
    assert "18 marzo 2027, 17:00 (ora di Bruxelles) -> 1 aprile 2027, 17:00 (ora di Bruxelles)" in text
    assert "Living labs" not in text


def test_a_refused_recipient_fails_alone_and_the_others_are_delivered(
        store: Store, tmp_path: Path) -> None:
    setup_members(store)
    with SmtpSink(SinkHandler(refuse={"john@example.com"})) as sink:
        app = make_app(store, tmp_path, sink.port, Clock(NOW))
        report = send_digests(app, period="2026-W48")
        assert (report.sent, report.failed) == (2, 1)
        assert sorted(by_recipient(sink.handler.parsed())) == ["giulia@example.it", "space@example.it"]
    failed = store.deliveries("digest", status="failed")
    assert [d.email for d in failed] == ["john@example.com"]
    assert failed[0].last_error is not None and "550" in failed[0].last_error


def test_a_message_refused_at_the_end_of_data_is_failed_or_retried_not_recorded_as_sent(
        store: Store, tmp_path: Path) -> None:
    setup_members(store)
    refusals = {"john@example.com": "554 5.7.1 content rejected", "space@example.it": "451 4.3.0 try later"}
    with SmtpSink(SinkHandler(refuse_data=refusals)) as sink:
        app = make_app(store, tmp_path, sink.port, Clock(NOW))
        report = send_digests(app, period="2026-W48")
        assert (report.sent, report.failed, report.retrying) == (1, 1, 1)
        assert sorted(by_recipient(sink.handler.parsed())) == ["giulia@example.it"]
    status = {d.email: (d.status, d.last_error or "") for d in store.deliveries("digest")}
    assert status["john@example.com"][0] == "failed" and "554" in status["john@example.com"][1]
    assert status["space@example.it"][0] == "pending" and "451" in status["space@example.it"][1]


def test_a_dropped_connection_mid_batch_is_reopened_and_nothing_is_lost(store: Store, tmp_path: Path) -> None:
    setup_members(store)
    with SmtpSink(SinkHandler(drop_on_mail={2})) as sink:
        app = make_app(store, tmp_path, sink.port, Clock(NOW))
        report = send_digests(app, period="2026-W48")
        assert report.sent == 3
        got = by_recipient(sink.handler.parsed())
        assert len(got) == 3 and all(len(v) == 1 for v in got.values())
        assert sink.handler.mails == 4  # the dropped MAIL FROM was sent again on a new connection


def test_an_unreachable_server_keeps_everything_queued_for_the_next_run(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("calltracker.delivery.send.FIRST_CHUNK", 1)  # the rest is still to prepare when it fails
    setup_members(store)
    from tests.smtp_sink import free_port

    app = make_app(store, tmp_path, free_port(), Clock(NOW))
    report = send_digests(app, period="2026-W48")
    assert (report.prepared, report.sent, report.deferred) == (3, 0, 1)
    assert [(d.status, d.attempts) for d in store.deliveries("digest")] == [("pending", 0)] * 3
    queued = store.due_deliveries("digest", NOW, lease=CLAIM_LEASE)
    assert len(queued) == 3 and all(d.message and d.message.startswith(b"Subject: ") for d in queued)
    with SmtpSink() as sink:
        app = make_app(store, tmp_path, sink.port, Clock(NOW + timedelta(minutes=1)))
        assert send_digests(app, period="2026-W48").sent == 3
    assert stored_messages(store) == 0  # sent: the bytes are not kept


def stored_messages(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM delivery_messages")).scalar_one())


def test_a_delivery_queued_with_its_message_in_the_payload_is_still_sent(
        store: Store, tmp_path: Path, sink: SmtpSink) -> None:
    # How deliveries were queued before the messages had a table of their own.
    member = add_member(store, "giulia@example.it", now=NOW)
    eml = "Subject: vecchio\r\nFrom: bandi@lac.example.it\r\nTo: giulia@example.it\r\n\r\nciao\r\n"
    store.add_deliveries([NewDelivery(member, "digest", "2026-W47", "vecchio", "<old@x>",
                                      {"from": "bandi@lac.example.it", "to": ["giulia@example.it"], "eml": eml})],
                         NOW - timedelta(days=7))
    app = make_app(store, tmp_path, sink.port, Clock(NOW))
    assert send_digests(app, period="2026-W48").sent == 1  # nothing new this week; last week's goes out
    assert sink.handler.parsed()[0]["Subject"] == "vecchio"
    (old,) = store.deliveries("digest")
    assert old.status == "sent" and "eml" not in old.payload


class CrashingTransport(SmtpTransport):
    """Dies like a killed process (BaseException, nothing recorded) on the n-th message, before or after
    the server accepted it."""

    def __init__(self, port: int, crash_at: int, *, after_accept: bool) -> None:
        super().__init__("127.0.0.1", port, timeout=5.0)
        self.count, self.crash_at, self.after_accept = 0, crash_at, after_accept

    def send_bytes(self, sender: str, recipients: Sequence[str], data: bytes, *,
                   before_data: Callable[[], None] | None = None,
                   meanwhile: Callable[[], bool | None] | None = None) -> None:
        self.count += 1
        if self.count == self.crash_at and not self.after_accept:
            if before_data is not None:
                before_data()  # killed after MAIL FROM, where the delivery is claimed
            raise SystemExit("killed")
        super().send_bytes(sender, recipients, data, before_data=before_data, meanwhile=meanwhile)
        if self.count == self.crash_at:
            raise SystemExit("killed")


@pytest.mark.parametrize("after_accept", [False, True])
def test_a_crash_mid_batch_then_a_rerun_sends_each_digest_once(
        store: Store, tmp_path: Path, sink: SmtpSink, after_accept: bool) -> None:
    setup_members(store)
    clock = Clock(NOW)
    app = make_app(store, tmp_path, sink.port, clock)
    with pytest.raises(SystemExit):
        send_digests(app, period="2026-W48", transport=CrashingTransport(sink.port, 2, after_accept=after_accept))
    assert len(sink.handler.messages) == (2 if after_accept else 1)
    # An immediate rerun sends the rest but not the delivery that was in flight (its claim is still held).
    rerun = send_digests(app, period="2026-W48")
    assert rerun.prepared == 0 and rerun.sent == 1
    # Once the claim lease has expired, the abandoned delivery is sent by the next run.
    clock.now = NOW + CLAIM_LEASE + timedelta(seconds=1)
    later = send_digests(app, period="2026-W48")
    assert later.sent == 1
    got = by_recipient(sink.handler.parsed())
    assert len(got) == 3
    counts = sorted(len(v) for v in got.values())
    if after_accept:
        # The residual window: accepted but not recorded. The copy is byte-identical, same Message-ID.
        assert counts == [1, 1, 2]
        twice = next(v for v in got.values() if len(v) == 2)
        assert twice[0]["Message-ID"] == twice[1]["Message-ID"]
    else:
        assert counts == [1, 1, 1]
    assert {d.status for d in store.deliveries("digest")} == {"sent"}


def test_temporary_failures_are_retried_with_backoff_then_given_up(store: Store, tmp_path: Path) -> None:
    setup_members(store)

    class Busy(SmtpTransport):
        def send_bytes(self, sender: str, recipients: Sequence[str], data: bytes, *,
                       before_data: Callable[[], None] | None = None,
                       meanwhile: Callable[[], bool | None] | None = None) -> None:
            raise DeliveryError("451 try again later", permanent=False)

    clock = Clock(NOW)
    app = make_app(store, tmp_path, 1, clock)
    first = send_digests(app, period="2026-W48", transport=Busy("127.0.0.1", 1))
    assert (first.sent, first.retrying) == (0, 3)
    waits = [d.next_attempt_at for d in store.deliveries("digest")]
    assert all(w is not None and w > NOW for w in waits)
    assert send_digests(app, period="2026-W48", transport=Busy("127.0.0.1", 1)).retrying == 0  # not due yet
    for _ in range(10):
        clock.now += timedelta(hours=9)
        send_digests(app, period="2026-W48", transport=Busy("127.0.0.1", 1))
    final = store.deliveries("digest")
    assert {d.status for d in final} == {"failed"} and {d.attempts for d in final} == {7}
    assert all("gave up after 7 attempts" in (d.last_error or "") for d in final)


def test_hostile_scraped_title_and_link_arrive_inert(store: Store, tmp_path: Path, sink: SmtpSink) -> None:
    record = fixture_records()[0]
    hostile = scraped(record, title='Bando <script>alert("pwn")</script><img src=x onerror=alert(1)> Droni',
                      url="javascript:alert(document.cookie)")
    store.save_calls("eu_ft", [hostile], run_id=None, now=NOW - timedelta(days=1))
    from tests.digest_support import classify

    classify(store, store.get_call(f"eu_ft:{record['external_id']}").id, record["classification"], NOW)
    add_member(store, "giulia@example.it", now=NOW)
    app = make_app(store, tmp_path, sink.port, Clock(NOW))
    assert send_digests(app, period="2026-W48").sent == 1
    (msg,) = sink.handler.parsed()
    text, html, _ = parts(msg)
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert "alert" not in html
    assert "Bando Droni" in html and "Bando Droni" in text and "javascript:" not in text


def test_alerts_remind_once_per_lead_time(store: Store, tmp_path: Path, sink: SmtpSink) -> None:
    setup_members(store)
    clock = Clock(NOW)
    app = make_app(store, tmp_path, sink.port, clock, alert_lead_days=[30, 14, 3])
    first = send_alerts(app)
    # HORIZON-CL6-2026-04-GOVERNANCE-01 closes tomorrow: its 3-day reminder, to members interested in it.
    assert first.sent == 3
    keys = {d.period_key for d in store.deliveries("alert")}
    call_id = store.get_call("eu_ft:HORIZON-CL6-2026-04-GOVERNANCE-01").id
    assert keys == {f"{call_id}:3:2026-11-26"}
    assert send_alerts(app).sent == 0
    msg = by_recipient(sink.handler.parsed())["john@example.com"][0]
    assert msg["Subject"].startswith("Reminder: closes tomorrow")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


class Watching(SmtpTransport):
    """The SMTP transport, noting what the outbox holds when each message starts and the order of events."""

    def __init__(self, port: int, store: Store, events: list[str]) -> None:
        super().__init__("127.0.0.1", port, timeout=5.0)
        self.store, self.events, self.queued = store, events, []  # type: list[int]

    def send_bytes(self, sender: str, recipients: Sequence[str], data: bytes, *,
                   before_data: Callable[[], None] | None = None,
                   meanwhile: Callable[[], bool | None] | None = None) -> None:
        assert before_data is not None and meanwhile is not None
        self.queued.append(len(self.store.deliveries("digest")))

        def claim() -> None:
            self.events.append("claim")
            before_data()

        def work() -> None:
            self.events.append("meanwhile")
            meanwhile()

        super().send_bytes(sender, recipients, data, before_data=claim, meanwhile=work)
        self.events.append("accepted")


class RecordingHandler(SinkHandler):
    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.events.append("server has the message")
        return await super().handle_DATA(server, session, envelope)


def test_later_messages_are_prepared_while_earlier_ones_are_sent_each_claimed_before_data(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("calltracker.delivery.send.FIRST_CHUNK", 1)
    monkeypatch.setattr("calltracker.delivery.send.CHUNK", 1)
    setup_members(store)
    events: list[str] = []
    with SmtpSink(RecordingHandler(events)) as sink:
        app = make_app(store, tmp_path, sink.port, Clock(NOW))
        tx = Watching(sink.port, store, events)
        report = send_digests(app, period="2026-W48", transport=tx)
        assert (report.prepared, report.sent) == (3, 3)
        assert sorted(len(v) for v in by_recipient(sink.handler.parsed()).values()) == [1, 1, 1]
    assert tx.queued[0] == 1 and tx.queued[-1] == 3  # the first message went out before the others existed
    # Per message: claimed (while the server reads MAIL FROM) before the server has it, then accepted.
    per_message = [e for e in events if e != "meanwhile"]
    assert per_message == ["claim", "server has the message", "accepted"] * 3
    assert events.count("meanwhile") == 3  # while the server reads each message (once: `work` says no more)
    assert {(d.status, d.attempts) for d in store.deliveries("digest")} == {("sent", 1)}


class HoldingHandler(SinkHandler):
    """Holds its answer to a message until released, as a server still checking it."""

    def __init__(self) -> None:
        super().__init__()
        self.checking = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.checking.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 10.0)
        return await super().handle_DATA(server, session, envelope)


def test_work_goes_on_while_the_server_checks_the_message_as_long_as_there_is_more() -> None:
    handler = HoldingHandler()
    done_while_checking: list[int] = []

    def work() -> bool:
        if handler.checking.is_set():  # the server has the whole message and has not answered yet
            done_while_checking.append(1)
            if len(done_while_checking) == 3:
                handler.release.set()
        return True  # there is always more to do

    with SmtpSink(handler) as sink, SmtpTransport("127.0.0.1", sink.port, timeout=5.0) as tx:
        tx.send_bytes("a@example.it", ["b@example.it"], b"Subject: one\r\n\r\none\r\n", meanwhile=work)
    # the third released the answer; the transport went on until it came, then read it
    assert len(done_while_checking) >= 3
    assert len(handler.messages) == 1


def test_a_message_not_claimed_is_not_sent_and_the_connection_goes_on(sink: SmtpSink) -> None:
    class TakenError(Exception):
        pass

    def taken() -> None:
        raise TakenError

    with SmtpTransport("127.0.0.1", sink.port, timeout=5.0) as tx:
        with pytest.raises(TakenError):
            tx.send_bytes("a@example.it", ["b@example.it"], b"Subject: one\r\n\r\none\r\n", before_data=taken)
        tx.send_bytes("a@example.it", ["c@example.it"], b"Subject: two\r\n\r\n.two\r\n", before_data=lambda: None)
        assert tx.connections == 1
    (msg,) = sink.handler.parsed()
    assert msg["Subject"] == "two" and msg.get_content().splitlines() == [".two"]  # a leading dot survives the stuffing


def test_stored_messages_are_compressed_and_read_back_as_they_were(store: Store) -> None:
    setup_members(store)
    member = store.member("giulia@example.it")
    data = b"Subject: x\r\n\r\n" + b"<p style='font-size:13px'>ciao</p>\r\n" * 2000
    store.add_deliveries([NewDelivery(member_id=member.id, kind="digest", period_key="2026-W48", subject="x",
                                      message_id="<x@y>", payload={"from": "a@b.it", "to": [member.email]},
                                      message=data)], NOW)
    with store.engine.connect() as conn:
        (stored,) = conn.execute(text("SELECT data FROM delivery_messages")).scalars()
    assert len(stored) < len(data) // 10
    (due,) = store.due_deliveries("digest", NOW, lease=CLAIM_LEASE)
    assert due.message == data
    # A message stored before messages were compressed reads back as it is.
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE delivery_messages SET data = :d"), {"d": data})
    (due,) = store.due_deliveries("digest", NOW, lease=CLAIM_LEASE)
    assert due.message == data


def test_plain_smtp_does_not_load_the_certificate_store(sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise AssertionError("no TLS context needed for security = none")

    monkeypatch.setattr("ssl.create_default_context", refuse)
    with SmtpTransport("127.0.0.1", sink.port, timeout=5.0) as tx:
        tx.send_bytes("a@example.it", ["b@example.it"], b"Subject: one\r\n\r\none\r\n")
    assert len(sink.handler.messages) == 1
