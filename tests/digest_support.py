"""Test and bench support for digests: realistic calls from tests/fixtures/digest, stored with a classification."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from calltracker.domain import Deadline, Region, Scope, ScrapedCall, Status
from calltracker.storage import MemberInput, Store

FIXTURE = Path(__file__).parent / "fixtures" / "digest" / "eu_topics.json"


def _deadline(at: str, zone: str, date_only: bool, label: str | None) -> Deadline:
    tz = ZoneInfo(zone)
    if date_only:
        return Deadline(datetime.combine(date.fromisoformat(at), datetime.min.time(), tz), True, label)
    return Deadline(datetime.fromisoformat(at).replace(tzinfo=tz), False, label)


def fixture_records() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return records


def scraped(record: dict[str, Any], **overrides: Any) -> ScrapedCall:
    call = ScrapedCall(
        source=record["source"], external_id=record["external_id"], identifier=record["identifier"],
        title=record["title"], url=record["url"], programme=record["programme"], scope=Scope.EU,
        status=Status(record["status"]), deadlines=tuple(_deadline(*d) for d in record["deadlines"]),
        budget_eur=record["budget_eur"], regions=(Region.LOMBARDIA, Region.PIEMONTE, Region.LIGURIA),
    )
    return replace(call, **overrides)


def classify(store: Store, call_id: int, c: dict[str, Any], now: datetime) -> None:
    store.save_classification(
        call_id, rules_version="test", themes=c["themes"], eligible=c["eligible"], scope="eu",
        consortium=c["consortium"], tri_regional_fit=c["tri_regional_fit"], fit_score=c["fit_score"],
        fit_reason=c["fit_reason"], fit_reason_it=c["fit_reason_it"], evidence={}, now=now)


def store_fixture_calls(store: Store, now: datetime, records: Sequence[dict[str, Any]] | None = None) -> dict[str, int]:
    """Save and classify the fixture calls; returns external id -> call id."""
    records = list(records or fixture_records())
    result = store.save_calls("eu_ft", [scraped(r) for r in records], run_id=None, now=now)
    ids = {r["external_id"]: store.get_call(f"eu_ft:{r['external_id']}").id for r in records}
    assert len(result.new_ids) + len(result.changed_ids) + result.unchanged == len(records)
    for r in records:
        classify(store, ids[r["external_id"]], r["classification"], now)
    return ids


def add_member(store: Store, email: str, *, cluster: str = "LAC", language: str = "it", region: str | None = None,
               themes: tuple[str, ...] = (), name: str = "", now: datetime) -> int:
    store.import_members(cluster, [MemberInput(email=email, name=name, organisation="", region=region,
                                               language=language, themes=themes)], now)
    return store.member(f"{cluster}:{email}").id
