"""Service: the whole pipeline offline, on the recorded real payloads that ship with the package.

A replay server on 127.0.0.1 serves `calltracker/data/replay/<source>/` for every source whose spec names
recordings (`scrapers.specs()`), configured with the spec's `demo_options`; what a source's recordings do
not cover is said in one line (its `demo_note`). A fresh SQLite database in the output folder receives the
scrape, the classification and example members; each member's digest is written as an `.eml` (through the
outbox transport, as a real send would) and as an `.html` preview, and the summary lists the calls each
member got and why.
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
from calltracker.demo_board import demo_interest
from calltracker.digest import ALL_THEMES, DigestContent
from calltracker.pipeline import SourceReport
from calltracker.replay import ReplayServer, Route, load_manifest
from calltracker.storage import CallFilter, MemberInput, MemberView, parse_member_row

DATA = Path(__file__).resolve().parent / "data"
REPLAY = DATA / "replay"
MEMBERS = DATA / "demo" / "members.csv"
#: The recordings were made between June and October 2026 (Liguria and the Piemonte listing on 12 June, ESA
#: on 31 August, the rest in September); by today many of their calls have closed. The demo's clock starts on
#: the first of September, when ESA's issued and intended actions, the Piemonte listing's open calls and the
#: EU topics of the recordings are open or forthcoming (`--as-of` changes it).
RECORDED_AS_OF = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
#: More sections of the summary: each gets the app after the digests and returns (heading, lines). The
#: consortium board plugs in here.
SECTIONS: list[Callable[[App], tuple[str, list[str]]]] = []


def demo_sources() -> dict[str, Any]:
    """The specs of the sources the demo replays (those with recordings), by name."""
    from scrapers import specs

    return {name: spec for name, spec in specs().items() if spec.recordings}


#: The sources the demo replays (every coded source with recordings).
DEMO_SOURCES: tuple[str, ...] = tuple(demo_sources())


@dataclass(frozen=True)
class MemberDigest:
    """What one example member got in the digest, and why."""

    cluster: str
    email: str
    region: str | None
    themes: tuple[str, ...]
    calls: tuple[tuple[str, str, str], ...]  # (source, title, why)


def why(member: MemberView, content: DigestContent) -> tuple[tuple[str, str, str], ...]:
    """Each call of a member's digest with the reason it is there: matching themes, region, section."""
    wanted = set(member.themes) if member.themes else set(ALL_THEMES)
    rows = []
    sections = (("joint tri-regional bid", content.joint), ("other calls", content.other),
                ("closing soon", content.closing), ("changed", content.changed))
    for section, entries in sections:
        for entry in entries:
            call = entry.call
            themes = sorted(wanted & set(call.classification.themes if call.classification else ()))
            where = f"open to {member.region}" if member.region else "any region"
            rows.append((str(getattr(call, "source", "")), call.title, f"{', '.join(themes)}; {where}; {section}"))
    return tuple(rows)


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
    notes: list[str] = field(default_factory=list)
    member_digests: list[MemberDigest] = field(default_factory=list)
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    eml_files: list[Path] = field(default_factory=list)
    html_files: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    board: list[str] = field(default_factory=list)


def demo_routes() -> list[Route]:
    routes: list[Route] = []
    for spec in demo_sources().values():
        routes += load_manifest(REPLAY / spec.recordings)
    return routes


def _with_replay(value: Any, base_url: str) -> Any:
    if isinstance(value, str):
        return value.replace("{replay}", base_url)
    if isinstance(value, list):
        return [_with_replay(v, base_url) for v in value]
    return value


def demo_notes() -> list[str]:
    """One line per source about what its recordings do not cover."""
    return [spec.demo_note for spec in demo_sources().values() if spec.demo_note]


def demo_settings(output: Path, base_url: str) -> Any:
    raw: dict[str, Any] = {
        "data_dir": str(output / "data"),
        "database": {"url": f"sqlite:///{output / 'demo.sqlite3'}"},
        "mail": {"transport": "outbox", "outbox_dir": str(output / "outbox"),
                 "from_address": "bandi@calltracker.example.org", "from_name": "calltracker demo"},
        "web": {"base_url": "http://127.0.0.1:8080"},
        "http": {"min_delay": 0.0, "allow_loopback": True, "max_retries": 1, "retry_max_wait": 1.0, "timeout": 10.0},
        "sources": _demo_source_tables(base_url),
    }
    return parse_settings(raw, origin="calltracker demo", environ={})


def _demo_source_tables(base_url: str) -> dict[str, Any]:
    from scrapers import specs

    replayed = demo_sources()
    tables: dict[str, Any] = {}
    for name in specs():
        if name in replayed:
            tables[name] = {k: _with_replay(v, base_url) for k, v in replayed[name].demo_options.items()}
        else:
            tables[name] = {"enabled": False}
    return tables


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
        member_digests = []
        for member in app.store.members():
            preview = preview_digest(app, f"{member.cluster}:{member.email}")
            member_digests.append(MemberDigest(member.cluster, member.email, member.region, tuple(member.themes),
                                               why(member, preview.content) if preview.content.news else ()))
            if not preview.content.news:
                continue
            path = html_dir / f"{member.cluster}-{member.email}.html"
            path.write_text(preview.rendered.html, encoding="utf-8")
            html_files.append(path)
        digest = send_digests(app)
        board = demo_interest(app)
        now = app.clock()
        calls = app.store.find_calls(CallFilter(canonical_only=True), now=now)
        open_calls = [c for c in calls if c.is_open_at(now)]
        by_theme: dict[str, int] = defaultdict(int)
        for c in open_calls:
            for theme in c.themes:
                by_theme[theme] += 1
        return DemoSummary(
            output=output, as_of=as_of, database=settings.database.url, sources=reports, calls=len(calls),
            open_calls=len(open_calls),
            tri_regional=sum(1 for c in open_calls if c.classification and c.classification.tri_regional_fit),
            by_theme=dict(sorted(by_theme.items())), members=members, digest=digest, notes=demo_notes(),
            member_digests=member_digests, sections=[section(app) for section in SECTIONS],
            eml_files=sorted((output / "outbox").glob("*.eml")), html_files=html_files,
            seconds=time.monotonic() - started, board=board)
    finally:
        app.close()
