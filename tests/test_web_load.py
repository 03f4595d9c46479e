"""`calltracker serve` under a bounded load: 2,000 requests from 8 concurrent clients over real sockets, mixing
every page kind (good and bad member links, feeds, searches, 404s). No request fails, the server's memory
stays flat, and the access log has one line per request with no token in it."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from calltracker.bootstrap import signing_key
from calltracker.config import load_settings
from calltracker.storage import MemberInput, Store
from calltracker.tokens import make_token
from tests.process_support import serving
from tests.test_web_serve import _free_port

REQUESTS = 2_000
CONCURRENCY = 8
WARMUP = 200
#: Allowed growth of the server's resident memory between the end of the warm-up and the end of the load.
MAX_GROWTH_KIB = 16 * 1024


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory from /proc")
def test_two_thousand_requests_at_concurrency_8_no_errors_flat_memory_one_clean_log_line_each(
        store: Store, config_file: Path, tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "serve.toml"
    config.write_text(config_file.read_text(encoding="utf-8")
                      + f'[web]\nbase_url = "{base}"\nhost = "127.0.0.1"\nport = {port}\n', "utf-8")
    key = signing_key(load_settings(config))
    now = datetime.now(UTC)
    store.import_members("LAC", [MemberInput(f"socio{i}@lac.example", f"Socio {i}", "", "lombardia", "it", ())
                                 for i in range(20)], now)
    members = store.members()
    unsub = [make_token(key, "unsubscribe", m.id, m.token_version, now) for m in members]
    prefs = [make_token(key, "prefs", m.id, m.token_version, now) for m in members]
    paths = ["/calls", "/calls?q=spazio&status=all", "/calls.atom", "/calls.ics", "/calls/1", "/calls/999999",
             "/healthz", "/nope", "/u/forged.token", "/calls?q=%00"]
    paths += [f"/u/{t}" for t in unsub[:5]] + [f"/p/{t}" for t in prefs[:5]]
    paths += [f"/f/{m.feed_token}/calls.atom" for m in members[:3]]
    statuses_ok = {200, 307, 400, 404}

    log = tmp_path / "serve.log"
    with serving(config, log) as process:

        errors: list[str] = []

        async def load(count: int, offset: int) -> None:
            queue = iter(range(offset, offset + count))
            async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False) as client:
                async def worker() -> None:
                    for i in queue:
                        path = paths[i % len(paths)]
                        try:
                            response = await client.get(path)
                        except httpx.HTTPError as exc:
                            errors.append(f"{path}: {exc!r}")
                            continue
                        if response.status_code not in statuses_ok:
                            errors.append(f"{path}: {response.status_code}")

                await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

        asyncio.run(load(WARMUP, 0))
        before = rss_kib(process.pid)
        asyncio.run(load(REQUESTS - WARMUP, WARMUP))
        after = rss_kib(process.pid)
        assert errors == []
        assert after - before < MAX_GROWTH_KIB, f"RSS grew {before} -> {after} KiB"

    text = log.read_text()
    lines = [line for line in text.splitlines() if "calltracker.access" in line]
    health = sum(1 for i in range(REQUESTS) if paths[i % len(paths)] == "/healthz")
    # One line per request, exactly (the test waits for the server's own "serving on" line, not by polling).
    assert len([line for line in lines if "/healthz" not in line]) == REQUESTS - health
    assert len([line for line in lines if "/healthz" in line]) == health
    for token in unsub + prefs + [m.feed_token for m in members]:
        assert token not in text
    assert re.search(r'127\.0\.0\.1 "GET /u/… HTTP/1\.1" 200 \d+ [\d.]+ms', text)
    assert re.search(r'"GET /f/…/calls\.atom HTTP/1\.1" 200', text)
