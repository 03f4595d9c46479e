"""`calltracker digest send` killed for real (SIGKILL) mid-batch, then rerun: no duplicates, no loss.

The sender is a real subprocess talking SMTP to an aiosmtpd server on 127.0.0.1. The server answers each
message slowly and holds one message's DATA unanswered until the sender has been killed, so the kill always
lands while that message is in flight: transferred, but never accepted (SMTP accepts a message only when
the server answers 250 to the end of DATA).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from calltracker.delivery import CLAIM_LEASE
from calltracker.storage import Store, UtcDateTime
from tests.digest_support import add_member, fixture_records, store_fixture_calls
from tests.smtp_sink import SinkHandler, SmtpSink

ROOT = Path(__file__).resolve().parent.parent
PERIOD = "2026-W48"
MEMBERS = 12
ACCEPT_BEFORE_KILL = 4  # the sink accepts these, then holds the next one until the sender is dead
DATA_DELAY = 0.3  # seconds per accepted message: the batch takes seconds, the kill lands mid-batch
WAIT = 20.0  # generous upper bound for any single wait, so a broken run fails instead of hanging


@dataclass
class SlowHoldingHandler(SinkHandler):
    """Accepts each message after DATA_DELAY, recording (recipient, Message-ID); the message after
    `hold_after` accepted ones is held unanswered, unrecorded, until `release` is set, then refused with 451."""

    hold_after: int = ACCEPT_BEFORE_KILL
    delay: float = DATA_DELAY
    accepted: list[tuple[str, str]] = field(default_factory=list)
    held: list[tuple[str, str]] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)  # set when the held DATA arrived
    release: threading.Event = field(default_factory=threading.Event)  # set by the test after the kill

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        entry = (str(envelope.rcpt_tos[0]), str(msg["Message-ID"]))
        with self.lock:
            hold = not self.holding.is_set() and len(self.accepted) == self.hold_after
            if hold:
                self.held.append(entry)
                self.holding.set()
        if hold:
            await asyncio.to_thread(self.release.wait, WAIT)
            return "451 4.3.0 sender went away before the end of the transaction"
        await asyncio.sleep(self.delay)
        with self.lock:
            self.accepted.append(entry)
        return "250 OK"

    def accepted_now(self) -> list[tuple[str, str]]:
        with self.lock:
            return list(self.accepted)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    handler = SlowHoldingHandler()
    with SmtpSink(handler) as s:
        try:
            yield s
        finally:
            handler.release.set()  # never leave the server's loop waiting on a held message


def handler_of(sink: SmtpSink) -> SlowHoldingHandler:
    assert isinstance(sink.handler, SlowHoldingHandler)
    return sink.handler


def write_config(tmp_path: Path, db_url: str, port: int) -> Path:
    path = tmp_path / "kill.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        f'[database]\nurl = "{db_url}"\n'
        f'[mail]\ntransport = "smtp"\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_timeout = 10.0\n'
        f'from_address = "bandi@lac.example.it"\nfrom_name = "Bandi LAC"\noutbox_dir = "{tmp_path / "outbox"}"\n'
        f'[web]\nbase_url = "https://bandi.example.org"\nsigning_key = "kill-test-key-0123456789abcdef0123"\n',
        encoding="utf-8",
    )
    return path


def setup_database(store: Store) -> list[str]:
    """A few open calls (deadlines two months from the real now: the subprocess runs on the real clock)
    and MEMBERS receiving members interested in everything, so each gets a digest. Returns their emails."""
    now = datetime.now(UTC)
    closes = (now + timedelta(days=60)).astimezone(ZoneInfo("Europe/Brussels")).replace(tzinfo=None)
    records = [dict(r, deadlines=[[closes.strftime("%Y-%m-%dT17:00:00"), "Europe/Brussels", False, None]])
               for r in fixture_records()[:4]]
    assert len(store_fixture_calls(store, now - timedelta(days=2), records)) == 4
    emails = [f"member{i:02d}@example.it" for i in range(1, MEMBERS + 1)]
    for i, addr in enumerate(emails):
        add_member(store, addr, name=f"Member {i + 1}", language="it" if i % 3 else "en",
                   cluster=("LAC", "DAP", "LIG")[i % 3], now=now)
    return emails


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("CALLTRACKER_")}
    out["PYTHONPATH"] = str(ROOT)
    return out


def command(config: Path) -> list[str]:
    return [sys.executable, "-m", "calltracker", "--config", str(config), "digest", "send", "--period", PERIOD,
            "--json"]


def run_send(config: Path) -> dict[str, Any]:
    done = subprocess.run(command(config), cwd=ROOT, env=env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def rows(store: Store) -> list[sa.Row[Any]]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT d.id, m.email, d.status, d.attempts, d.claimed_by, d.message_id "
            "FROM deliveries d JOIN members m ON m.id = d.member_id ORDER BY d.id")))


def test_a_sender_killed_mid_batch_then_rerun_delivers_each_digest_exactly_once(
        store: Store, db_url: str, tmp_path: Path, sink: SmtpSink) -> None:
    handler = handler_of(sink)
    emails = setup_database(store)
    config = write_config(tmp_path, db_url, sink.port)

    log = (tmp_path / "killed.out").open("w")
    proc = subprocess.Popen(command(config), cwd=ROOT, env=env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        assert handler.holding.wait(WAIT), f"the sender never reached message {ACCEPT_BEFORE_KILL + 1}"
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(WAIT) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        handler.release.set()  # the held message is now answered 451 to nobody: it was never accepted

    # What the killed process left: every digest prepared before any was sent, the accepted ones recorded
    # as sent, the in-flight one still claimed (pending, attempt counted), the rest untouched.
    (in_flight,) = handler.held
    accepted = handler.accepted_now()
    assert len(accepted) == ACCEPT_BEFORE_KILL
    left = rows(store)
    assert len(left) == MEMBERS
    assert sorted(r.email for r in left if r.status == "sent") == sorted(e for e, _ in accepted)
    claimed = [r for r in left if r.claimed_by is not None]
    assert [(r.email, r.status, r.attempts) for r in claimed] == [(in_flight[0], "sending", 1)]
    assert claimed[0].message_id == in_flight[1]
    untouched = [r for r in left if r.status == "pending" and r.claimed_by is None]
    assert len(untouched) == MEMBERS - ACCEPT_BEFORE_KILL - 1
    assert {r.attempts for r in untouched} == {0}

    # An immediate rerun sends the rest, but not the in-flight delivery: its claim is held, and for all
    # this run knows the first sender may still be alive and about to finish it.
    rerun = run_send(config)
    assert (rerun["prepared"], rerun["skipped"], rerun["sent"], rerun["failed"]) == (
        0, MEMBERS, MEMBERS - ACCEPT_BEFORE_KILL - 1, 0)
    assert in_flight[0] not in [e for e, _ in handler.accepted_now()]
    assert [r.email for r in rows(store) if r.status != "sent"] == [in_flight[0]]

    # Standing in for time passing: the claim is made 16 minutes old, past CLAIM_LEASE, as if the next
    # scheduled run came a quarter of an hour later. (The subprocess runs on the real clock.)
    stale = datetime.now(UTC) - CLAIM_LEASE - timedelta(minutes=1)
    with store.engine.begin() as conn:
        changed = conn.execute(sa.text("UPDATE deliveries SET claimed_at = :at WHERE claimed_by IS NOT NULL")
                               .bindparams(sa.bindparam("at", type_=UtcDateTime())), {"at": stale}).rowcount
    assert changed == 1
    later = run_send(config)
    assert (later["prepared"], later["sent"], later["failed"]) == (0, 1, 0)
    assert run_send(config)["sent"] == 0

    got = handler.accepted_now()
    assert Counter(e for e, _ in got) == Counter(emails)  # each member exactly one digest
    assert len({mid for _, mid in got}) == MEMBERS  # no Message-ID twice
    assert (in_flight[0], in_flight[1]) in got  # the abandoned message, resent with the same Message-ID
    final = rows(store)
    assert len(final) == MEMBERS
    assert {r.status for r in final} == {"sent"}
    assert all(r.claimed_by is None for r in final)
    assert sorted(r.attempts for r in final) == [1] * (MEMBERS - 1) + [2]  # the killed attempt is counted


def test_the_held_message_is_never_recorded_as_accepted(sink: SmtpSink) -> None:
    """The sink itself: a message held at the kill point is refused 451 and not recorded (what makes the
    kill test's "in flight" unambiguous)."""
    import smtplib

    handler = handler_of(sink)
    handler.hold_after = 0
    handler.delay = 0.0
    threading.Timer(0.2, handler.release.set).start()
    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=WAIT) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("a@example.it", ["b@example.it"], b"Message-ID: <x@example.it>\r\n\r\nhello\r\n")
        assert refused.value.smtp_code == 451
        client.sendmail("a@example.it", ["c@example.it"], b"Message-ID: <y@example.it>\r\n\r\nhello\r\n")
    assert time.monotonic() - started >= 0.2
    assert handler.held == [("b@example.it", "<x@example.it>")]
    assert handler.accepted_now() == [("c@example.it", "<y@example.it>")]
