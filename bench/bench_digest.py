"""Render and send N member digests (20 calls each) to a local SMTP sink; compare with raw smtplib.

    python bench/bench_digest.py [N [ROUNDS]]        (default 10000 digests, 3 rounds)

`measure(n, rounds)` returns the figures for bench/run.py (`digest_ratio`).

The sink (aiosmtpd, accepting and discarding) runs in its own process, so it does not share our GIL.
"ours" is `send_digests` end to end on SQLite: choose calls, render text+HTML, build MIME with the .ics,
write the outbox, claim each delivery, send, record. "raw" is one smtplib connection sending the very same
bytes, nothing else. The ratio is ours / raw in messages per second.
"""

from __future__ import annotations

import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calltracker import migrate  # noqa: E402
from calltracker.bootstrap import App  # noqa: E402
from calltracker.config import parse_settings  # noqa: E402
from calltracker.delivery import send_digests  # noqa: E402
from calltracker.mailer import SmtpTransport  # noqa: E402
from calltracker.storage import MemberInput, Store, make_engine  # noqa: E402
from tests.digest_support import classify, fixture_records, scraped  # noqa: E402
from tests.smtp_sink import free_port  # noqa: E402

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
SINK = """
import sys, time
from aiosmtpd.controller import Controller
class H:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
c = Controller(H(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"""


class RecordingTransport(SmtpTransport):
    """The real SMTP transport, keeping a copy of what it sent for the raw baseline."""

    def __init__(self, port: int) -> None:
        super().__init__("127.0.0.1", port, timeout=30.0)
        self.sent: list[tuple[str, list[str], bytes]] = []

    def send_bytes(self, sender: str, recipients: Sequence[str], data: bytes, *,
                   before_data: Callable[[], None] | None = None,
                   meanwhile: Callable[[], bool | None] | None = None) -> None:
        super().send_bytes(sender, recipients, data, before_data=before_data, meanwhile=meanwhile)
        self.sent.append((sender, list(recipients), data))


def seed(store: Store, members: int) -> None:
    records = fixture_records()
    calls = []
    for i in range(20):
        r = records[i % len(records)]
        ext = f"{r['external_id']}-{i}"
        calls.append((replace(scraped(r), external_id=ext, identifier=ext, title=f"{r['title']} ({i})"), r))
    store.save_calls("eu_ft", [c for c, _ in calls], run_id=None, now=NOW - timedelta(days=1))
    for call, r in calls:
        classify(store, store.get_call(f"eu_ft:{call.external_id}").id, r["classification"], NOW)
    store.import_members("LAC", [MemberInput(email=f"member{i:05d}@example.it", name=f"Socio {i}", organisation="",
                                             region=None, language="it" if i % 3 else "en", themes=())
                                 for i in range(members)], NOW)


def _forget_deliveries(store: Store) -> None:
    """Empty the outbox, so the next round prepares the same digests again (same content, same bytes)."""
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM delivery_messages"))
        conn.execute(sa.text("DELETE FROM deliveries"))


def _raw(port: int, sent: Sequence[tuple[str, list[str], bytes]]) -> float:
    t0 = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as conn:
        for sender, recipients, data in sent:
            conn.sendmail(sender, recipients, data)
    return time.perf_counter() - t0


def measure(n: int = 1000, rounds: int = 3) -> dict[str, float]:
    """`send_digests` (the public delivery function, end to end on SQLite) against raw smtplib sending the
    same bytes over one connection, `rounds` times in alternating order (ours first, then raw first, ...).
    Returns messages per second of each (medians) and `digest_ratio`, the median of the rounds' ratios."""
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    ours: list[float] = []
    raw: list[float] = []
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            engine = make_engine(url)
            migrate.upgrade(engine, url)
            store = Store(engine)
            store.ensure_default_clusters()
            seed(store, n)
            settings = parse_settings({"data_dir": tmp, "database": {"url": url},
                                       "mail": {"transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port},
                                       "web": {"base_url": "https://bandi.example.org", "signing_key": "b" * 32}},
                                      environ={})
            app = App(settings=settings, store=store, clock=lambda: NOW)
            previous: list[tuple[str, list[str], bytes]] = []
            for r in range(rounds):
                raw_first = r % 2 == 1 and bool(previous)
                if raw_first:
                    raw.append(_raw(port, previous))
                _forget_deliveries(store)
                transport = RecordingTransport(port)
                t0 = time.perf_counter()
                report = send_digests(app, period="2026-W48", transport=transport)
                ours.append(time.perf_counter() - t0)
                assert report.sent == n, report.line()
                previous = transport.sent
                if not raw_first:
                    raw.append(_raw(port, previous))
            store.close()
    finally:
        if sink.stdin:
            sink.stdin.close()
        sink.wait(timeout=30)
    ratios = sorted(r / o for o, r in zip(ours, raw, strict=True))
    return {"digest_per_s": n / statistics.median(ours), "digest_raw_per_s": n / statistics.median(raw),
            "digest_ratio": ratios[len(ratios) // 2]}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    got = measure(n, rounds)
    print(f"{n} digests of 20 calls, {rounds} rounds in alternating order, medians")
    print(f"ours (choose+render+MIME+ics+outbox+claim+send+record): {got['digest_per_s']:7.1f} msg/s")
    print(f"raw smtplib, same bytes, one connection:                {got['digest_raw_per_s']:7.1f} msg/s")
    print(f"ratio ours/raw: {got['digest_ratio']:.2f}")


if __name__ == "__main__":
    main()
