"""Service: the whole pipeline offline, on the recorded real payloads that ship with the package.

A replay server on 127.0.0.1 serves `calltracker/data/replay/<source>/`; a fresh SQLite database in the
output folder receives the scrape, the classification and example members; each member's digest is written
as an `.eml` (through the outbox transport, as a real send would) and as an `.html` preview.
"""

from __future__ import annotations

import csv
import io
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calltracker.bootstrap import App, build_app, build_http
from calltracker.collect import scrape_and_classify
from calltracker.config import parse_settings
from calltracker.delivery import DeliveryReport, preview_digest, send_digests
from calltracker.pipeline import SourceReport
from calltracker.replay import ReplayServer, Route, load_manifest
from calltracker.storage import CallFilter, MemberInput, parse_member_row

DATA = Path(__file__).resolve().parent / "data"
REPLAY = DATA / "replay"
MEMBERS = DATA / "demo" / "members.csv"
#: Sources whose recorded payloads ship with the package. Liguria and ESA have no real recording (their
#: tests use synthesised payloads), so the demo leaves them out rather than show invented calls.
DEMO_SOURCES = ("eu_ft", "incentivi", "lombardia", "piemonte")
#: The recordings were made in the summer of 2026; by today many of their calls have closed. The demo's clock
#: starts on this day so that the digests show what members would have received then (`--as-of` changes it).
RECORDED_AS_OF = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)


def clock_from(start: datetime) -> Callable[[], datetime]:
    """A clock that starts at `start` and then runs at the real pace."""
    offset = start - datetime.now(UTC)
    return lambda: datetime.now(UTC) + offset


@dataclass
class DemoSummary:
    output: Path
    as_of: datetime
    database: str
    sources: list[SourceReport]
    calls: int
    open_calls: int
    tri_regional: int
    by_theme: dict[str, int]
    members: int
    digest: DeliveryReport
    eml_files: list[Path] = field(default_factory=list)
    html_files: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def demo_routes() -> list[Route]:
    routes: list[Route] = []
    for name in DEMO_SOURCES:
        routes += load_manifest(REPLAY / name)
    return routes


def demo_settings(output: Path, base_url: str) -> Any:
    raw: dict[str, Any] = {
        "data_dir": str(output / "data"),
        "database": {"url": f"sqlite:///{output / 'demo.sqlite3'}"},
        "mail": {"transport": "outbox", "outbox_dir": str(output / "outbox"),
                 "from_address": "bandi@calltracker.example.org", "from_name": "calltracker demo"},
        "web": {"base_url": "http://127.0.0.1:8080"},
        "http": {"min_delay": 0.0, "max_retries": 1, "retry_max_wait": 1.0, "timeout": 10.0},
        "sources": {
            "eu_ft": {"base_url": base_url},
            "incentivi": {"base_url": base_url},
            "lombardia": {"base_url": base_url, "portal_url": base_url},
            "piemonte": {"base_url": base_url, "feeds": []},
            "liguria": {"enabled": False},
            "esa": {"enabled": False},
        },
    }
    return parse_settings(raw, origin="calltracker demo", environ={})


def import_demo_members(app: App) -> int:
    """The example members: one CSV with a cluster column, imported cluster by cluster."""
    by_cluster: dict[str, list[MemberInput]] = defaultdict(list)
    for row in csv.DictReader(io.StringIO(MEMBERS.read_text(encoding="utf-8"))):
        by_cluster[row["cluster"]].append(parse_member_row(row))
    for cluster, members in by_cluster.items():
        app.store.import_members(cluster, members, app.clock())
    return sum(len(m) for m in by_cluster.values())


def run_demo(output: Path, as_of: datetime = RECORDED_AS_OF) -> DemoSummary:
    """Run the whole pipeline offline into `output` (created; must be empty or new), as on `as_of`."""
    started = time.monotonic()
    output.mkdir(parents=True, exist_ok=True)
    if any(output.iterdir()):
        from calltracker.errors import InputError

        raise InputError(f"{output} is not empty; give a new or empty folder")
    with ReplayServer(demo_routes()) as server:
        settings = demo_settings(output, server.base_url)
        app = build_app(settings, clock=clock_from(as_of))
        with build_http(settings, clock=app.clock) as http:  # scrapers judge status as on `as_of` too
            reports = scrape_and_classify(settings, app.store, http, clock=app.clock)
    try:
        members = import_demo_members(app)
        html_dir = output / "html"
        html_dir.mkdir()
        html_files = []
        for member in app.store.members():
            preview = preview_digest(app, f"{member.cluster}:{member.email}")
            if not preview.content.news:
                continue
            path = html_dir / f"{member.cluster}-{member.email}.html"
            path.write_text(preview.rendered.html, encoding="utf-8")
            html_files.append(path)
        digest = send_digests(app)
        calls = app.store.find_calls(CallFilter(canonical_only=True), now=app.clock())
        open_calls = [c for c in calls if c.status != "closed"]
        by_theme: dict[str, int] = defaultdict(int)
        for c in open_calls:
            for theme in c.themes:
                by_theme[theme] += 1
        return DemoSummary(
            output=output, as_of=as_of, database=settings.database.url, sources=reports, calls=len(calls),
            open_calls=len(open_calls),
            tri_regional=sum(1 for c in open_calls if c.classification and c.classification.tri_regional_fit),
            by_theme=dict(sorted(by_theme.items())), members=members, digest=digest,
            eml_files=sorted((output / "outbox").glob("*.eml")), html_files=html_files,
            seconds=time.monotonic() - started)
    finally:
        app.close()
