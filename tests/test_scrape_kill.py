"""`calltracker scrape` killed for real between a listing and its detail pages, then run again: no call lost.

The scraper is the real Lombardia one: its register (the recorded row's layout, five codes) lists five calls,
each with a detail page. The replay server holds every detail request until the test has signalled the
scraping subprocess (SIGTERM: it stops gracefully; SIGKILL: it just dies), then the detail pages are gone
(404, as for the demo, whose detail pages were not recorded). The rerun must store all five calls from the
register: the page memo of the register is not written until what it stands for is saved.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from calltracker import migrate
from calltracker.replay import Received, ReplayServer, Reply, Route
from calltracker.storage import Store, make_engine

ROOT = Path(__file__).resolve().parent.parent
ROW = json.loads((ROOT / "calltracker" / "data" / "replay" / "lombardia" / "dataset_rows.json").read_bytes())[0]
CODES = [f"RLP1202605248{i}" for i in range(5)]
DETAIL = "/servizi/servizio/bandi/dettaglio/"
WAIT = 30.0  # upper bound for any single wait, so a broken run fails instead of hanging
JSON = {"Content-Type": "application/json"}


def rows() -> bytes:
    return json.dumps([{**ROW, "codice_bando": code, "titolo_bando": f"{ROW['titolo_bando']} {i}"}
                       for i, code in enumerate(CODES)]).encode()


class Portal:
    """The register and the detail pages; details held (then 503) until `release`, 404 afterwards."""

    def __init__(self) -> None:
        self.release = threading.Event()
        held = Reply(503, b"busy", {"Content-Type": "text/plain", "Retry-After": "0"}, hold=self.release)
        routes = [Route("/resource/bukx-h2uy.json", [Reply(200, rows(), JSON)]),
                  Route("/robots.txt", [Reply(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})])]
        routes += [Route(DETAIL + code, [held]) for code in CODES]
        self.server = ReplayServer(routes)

    def details_gone(self) -> None:
        for code in CODES:
            self.server.add(Route(DETAIL + code, [Reply(404, b"not recorded", {"Content-Type": "text/plain"})]))


@pytest.fixture
def portal() -> Iterator[Portal]:
    p = Portal()
    with p.server:
        yield p
        p.release.set()


def write_config(tmp_path: Path, db_url: str, base_url: str) -> Path:
    path = tmp_path / "calltracker.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[database]\nurl = "{db_url}"\n'
        f'[mail]\noutbox_dir = "{tmp_path / "outbox"}"\n'
        '[http]\nmin_delay = 0.0\nmax_retries = 1\nallow_loopback = true\n'
        f'[sources.lombardia]\nbase_url = "{base_url}"\nportal_url = "{base_url}"\n',
        encoding="utf-8")
    return path


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CALLTRACKER_")}


def command(config: Path) -> list[str]:
    return [sys.executable, "-m", "calltracker", "--config", str(config), "scrape", "lombardia"]


def detail_requested(received: list[Received]) -> bool:
    return any(r.path.startswith(DETAIL) for r in received)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_scrape_killed_between_listing_and_details_loses_nothing(
        tmp_path: Path, db_url: str, portal: Portal, sig: signal.Signals) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine, db_url)
    store = Store(engine)
    config = write_config(tmp_path, db_url, portal.server.base_url)
    with (tmp_path / "first.log").open("wb") as log:
        proc = subprocess.Popen(command(config), cwd=ROOT, env=env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            assert portal.server.wait_for(detail_requested, WAIT), "the scrape never reached the detail pages"
            proc.send_signal(sig)
            portal.details_gone()
            portal.release.set()  # a SIGTERM-ed scrape finishes the request in flight (now 404) and stops
            proc.wait(WAIT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(WAIT)
    first = (tmp_path / "first.log").read_text(encoding="utf-8", errors="replace")
    assert proc.returncode == (-signal.SIGKILL if sig == signal.SIGKILL else 0), first

    rerun = subprocess.run(command(config), cwd=ROOT, env=env(), capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert rerun.stdout.startswith("lombardia: 5 seen")
    stored = {c.external_id for c in store.find_calls() if c.source == "lombardia"}
    assert stored == set(CODES), f"lost: {sorted(set(CODES) - stored)}\n{first}\n{rerun.stdout}{rerun.stderr}"
    # The killed run's row does not stay `running` for ever: the rerun closed it.
    outcomes = [r.outcome for r in store.runs("lombardia")]
    assert outcomes[0] == "ok" and "running" not in outcomes, outcomes
    store.close()
