"""`calltracker digest send` SIGKILLed again and again mid-batch against a sink that ACCEPTS every message,
then rerun to completion: how many members get a digest twice, and does anyone get none?

The refusing sink of test_delivery_kill.py holds the in-flight message, so it never sees the real window:
a message the server accepted whose acceptance the sender had not yet recorded. Here the kill lands wherever
the sender happens to be. A sender records "sending" before each DATA, so a kill leaves at most one delivery
in doubt, settled after the claim lease by `mail.in_doubt`: "resend" (same Message-ID; a duplicate at most
per kill, nobody without a digest) or "hold" (no duplicate ever; the in-doubt one waits for staff).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from calltracker.delivery import CLAIM_LEASE
from calltracker.storage import MemberInput, Store, UtcDateTime
from tests.digest_support import fixture_records, store_fixture_calls
from tests.smtp_sink import SinkHandler, SmtpSink
from tests.test_delivery_kill import PERIOD, ROOT, env, write_config

MEMBERS = 150
KILLS = 5
WAIT = 60.0


@dataclass
class CountingHandler(SinkHandler):
    """Accepts everything; records (recipient, Message-ID) and wakes whoever waits for a count."""

    accepted: list[tuple[str, str]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        head = envelope.content.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
        mid = next((line.split(":", 1)[1].strip() for line in head.split("\r\n")
                    if line.lower().startswith("message-id:")), "")
        with self.changed:
            self.accepted.append((str(envelope.rcpt_tos[0]), mid))
            self.changed.notify_all()
        return "250 OK"

    def wait_for(self, count: int) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.accepted) >= count, timeout=WAIT)

    def snapshot(self) -> list[tuple[str, str]]:
        with self.changed:
            return list(self.accepted)


def setup(store: Store) -> list[str]:
    now = datetime.now(UTC)
    closes = (now + timedelta(days=60)).astimezone(ZoneInfo("Europe/Brussels")).replace(tzinfo=None)
    records = [dict(r, deadlines=[[closes.strftime("%Y-%m-%dT17:00:00"), "Europe/Brussels", False, None]])
               for r in fixture_records()[:4]]
    store_fixture_calls(store, now - timedelta(days=2), records)
    emails = [f"socio{i:03d}@example.it" for i in range(MEMBERS)]
    store.import_members("LAC", [MemberInput(e, f"Socio {i}", "", None, "it", ()) for i, e in enumerate(emails)],
                         now)
    return emails


def age_claims(store: Store) -> None:
    """Standing in for the claim lease passing (the subprocess runs on the real clock)."""
    stale = datetime.now(UTC) - CLAIM_LEASE - timedelta(minutes=1)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE deliveries SET claimed_at = :at WHERE claimed_by IS NOT NULL")
                     .bindparams(sa.bindparam("at", type_=UtcDateTime())), {"at": stale})


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["resend", "hold"])
def test_repeated_sigkills_against_an_accepting_sink_leave_at_most_one_delivery_in_doubt_per_kill(
        store: Store, db_url: str, tmp_path: Path, policy: str, capsys: pytest.CaptureFixture[str]) -> None:
    emails = setup(store)
    handler = CountingHandler(keep=False)
    with SmtpSink(handler) as sink:
        config = write_config(tmp_path, db_url, sink.port)
        text = config.read_text(encoding="utf-8").replace('from_name = "Bandi LAC"\n',
                                                           f'from_name = "Bandi LAC"\nin_doubt = "{policy}"\n')
        assert f'in_doubt = "{policy}"' in text
        config.write_text(text, "utf-8")
        command = [sys.executable, "-m", "calltracker", "--config", str(config), "digest", "send", "--period",
                   PERIOD, "--json"]
        step = MEMBERS // (KILLS + 2)
        for kill in range(1, KILLS + 1):
            proc = subprocess.Popen(command, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            try:
                assert handler.wait_for(kill * step), f"kill {kill}: the sender stalled"
                os.kill(proc.pid, signal.SIGKILL)
                assert proc.wait(WAIT) == -signal.SIGKILL
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            age_claims(store)
        for _ in range(2):  # to completion, then once more: nothing left to send
            done = subprocess.run(command, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
        got = handler.snapshot()

    per_member = Counter(e for e, _ in got)
    duplicates = sum(n - 1 for n in per_member.values())
    statuses = Counter(d.status for d in store.deliveries("digest"))
    with capsys.disabled():
        sys.stdout.write(f"\n[{policy}] {KILLS} SIGKILLs, {MEMBERS} members, accepting sink: {duplicates} "
                         f"duplicate digests, {statuses.get('in_doubt', 0)} held in doubt, {dict(statuses)}\n")
    # Same Message-ID for a member, however many times: a duplicate is recognisable as one.
    assert all(len({m for e2, m in got if e2 == e}) == 1 for e in per_member)
    assert max(per_member.values()) <= 2
    assert duplicates <= KILLS
    if policy == "resend":
        assert set(per_member) == set(emails)  # nobody without a digest
        assert statuses == Counter({"sent": MEMBERS})
    else:
        assert duplicates == 0
        assert statuses["in_doubt"] <= KILLS
        assert statuses["sent"] + statuses["in_doubt"] == MEMBERS
        missing = set(emails) - set(per_member)
        assert len(missing) <= statuses["in_doubt"]  # only a held one can be missing
