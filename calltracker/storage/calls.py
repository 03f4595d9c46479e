"""Calls: idempotent upsert with change rows, cross-source links, queries."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.sql.elements import ColumnElement

from calltracker.domain import Deadline, ScrapedCall, Status, closing_span, deadline_key, zone_name
from calltracker.errors import InputError
from calltracker.linking import link_keys
from calltracker.storage.runs import RunsRepo
from calltracker.storage.schema import (
    CallChangeRow,
    CallDeadlineRow,
    CallLinkKeyRow,
    CallRow,
    CallThemeRow,
    ClassificationRow,
)
from calltracker.views import (
    CallFilter,
    CallView,
    ChangeView,
    ClassificationView,
    FieldChange,
    SaveResult,
)

log = logging.getLogger(__name__)

class CallsRepo(RunsRepo):
    # -- calls -------------------------------------------------------------------------------------------

    def save_calls(self, source: str, calls: Sequence[ScrapedCall], *, run_id: int | None,
                   now: datetime) -> SaveResult:
        """Upsert calls of one source by external id, recording field-level changes. Never deletes."""
        unique: dict[str, ScrapedCall] = {}
        for call in calls:
            if call.source != source:
                raise ValueError(f"call {call.external_id} is from {call.source}, not {source}")
            unique[call.external_id] = call  # the last record of a duplicated id wins
        result = SaveResult()
        if not unique:
            return result
        self.ensure_sources({source: "coded"}, now)
        with self._tx() as conn:
            existing: dict[str, Mapping[str, Any]] = {}
            stored_deadlines: dict[int, tuple[Deadline, ...]] = {}
            ids = list(unique)
            for chunk_start in range(0, len(ids), 500):
                chunk = ids[chunk_start:chunk_start + 500]
                rows = list(conn.execute(select(CallRow).where(CallRow.source == source,
                                                               CallRow.external_id.in_(chunk))).mappings())
                existing.update({r["external_id"]: r for r in rows})
                stored_deadlines.update(_deadlines(conn, [r["id"] for r in rows]))
            new_rows: list[dict[str, Any]] = []
            new_calls: list[ScrapedCall] = []
            unchanged_ids: list[int] = []
            change_rows: list[dict[str, Any]] = []
            for ext_id, call in unique.items():
                row = existing.get(ext_id)
                values = _call_values(call, now)
                if row is None:
                    new_rows.append({"source": source, "external_id": ext_id, "first_seen_at": now,
                                     "last_seen_at": now, "last_changed_at": now, "canonical_id": None, **values})
                    new_calls.append(call)
                    continue
                call_id = row["id"]
                old = _stored_comparable(row, stored_deadlines.get(call_id, ()))
                new = _comparable_from_values(values, call)
                diffs = [(k, old.get(k), new[k]) for k in new if old.get(k) != new[k]]
                if not diffs and row["content_hash"] == values["content_hash"]:
                    unchanged_ids.append(call_id)
                    continue
                conn.execute(update(CallRow).where(CallRow.id == call_id).values(
                    last_seen_at=now, last_changed_at=now if diffs else row["last_changed_at"], **values))
                if any(k == "deadlines" for k, _, _ in diffs):
                    conn.execute(delete(CallDeadlineRow).where(CallDeadlineRow.call_id == call_id))
                    _write_deadlines(conn, [(call_id, call.deadlines)])
                if diffs:
                    change_rows.extend({"call_id": call_id, "run_id": run_id, "field": k, "old_value": o,
                                        "new_value": n, "changed_at": now} for k, o, n in diffs)
                    result.changed_ids.append(call_id)
                    result.changes.extend(FieldChange(call_id, k, o, n) for k, o, n in diffs)
                else:
                    unchanged_ids.append(call_id)
            if new_rows:
                # One multi-row INSERT ... RETURNING (in parameter order) instead of a round trip per call.
                inserted = conn.execute(
                    insert(CallRow).returning(CallRow.id, sort_by_parameter_order=True), new_rows).scalars().all()
                result.new_ids.extend(inserted)
                _write_deadlines(conn, list(zip(inserted, (c.deadlines for c in new_calls), strict=True)))
            if change_rows:
                conn.execute(insert(CallChangeRow), change_rows)
            relinked = dict(zip(result.new_ids, new_calls, strict=True))
            ext_of = {row["id"]: ext for ext, row in existing.items()}
            relinked.update((cid, unique[ext_of[cid]]) for cid in result.changed_ids)
            _link(conn, source, relinked, new_ids=set(result.new_ids))
            for chunk_start in range(0, len(unchanged_ids), 500):
                conn.execute(update(CallRow).where(CallRow.id.in_(unchanged_ids[chunk_start:chunk_start + 500]))
                             .values(last_seen_at=now))
        return SaveResult(new_ids=result.new_ids, changed_ids=result.changed_ids,
                          unchanged=len(unchanged_ids), changes=result.changes)

    def close_expired(self, now: datetime) -> int:
        """Close calls whose last deadline has passed; the change is recorded like any other."""
        with self._tx() as conn:
            rows = conn.execute(select(CallRow.id, CallRow.status).where(
                CallRow.status != Status.CLOSED.value, CallRow.last_deadline_at.is_not(None),
                CallRow.last_deadline_at < now)).all()
            if not rows:
                return 0
            ids = [r.id for r in rows]
            conn.execute(update(CallRow).where(CallRow.id.in_(ids)).values(
                status=Status.CLOSED.value, last_changed_at=now))
            conn.execute(insert(CallChangeRow), [
                {"call_id": r.id, "run_id": None, "field": "status", "old_value": r.status,
                 "new_value": Status.CLOSED.value, "changed_at": now} for r in rows])
        return len(rows)

    def find_calls(self, flt: CallFilter = CallFilter(), *,  # noqa: B008 - frozen
                   now: datetime | None = None) -> list[CallView]:
        now = now or datetime.now(UTC)
        stmt = select(CallRow.id)
        conds: list[ColumnElement[bool]] = []
        if flt.ids is not None:
            conds.append(CallRow.id.in_(flt.ids))
        if flt.canonical_only:
            conds.append(CallRow.canonical_id.is_(None))
        # The status a call has at `now` (CallView.status_at): closed once its last closing instant is past,
        # even before close_expired writes it.
        still_open = or_(CallRow.last_deadline_at.is_(None), CallRow.last_deadline_at >= now)
        if flt.open_only:
            conds.append(CallRow.status != Status.CLOSED.value)
            conds.append(still_open)
        if flt.status == Status.CLOSED.value:
            conds.append(or_(CallRow.status == Status.CLOSED.value, ~still_open))
        elif flt.status:
            conds.append(CallRow.status == flt.status)
            conds.append(still_open)
        if flt.source:
            conds.append(CallRow.source == flt.source)
        if flt.changed_since:
            conds.append(CallRow.last_changed_at > flt.changed_since)
        if flt.closing_within_days is not None:
            conds.append(and_(CallRow.next_deadline_at.is_not(None), CallRow.next_deadline_at >= now,
                              CallRow.next_deadline_at <= now + timedelta(days=flt.closing_within_days)))
        if flt.text:
            pattern = f"%{flt.text.lower()}%"
            conds.append(or_(func.lower(CallRow.title).like(pattern), func.lower(CallRow.identifier).like(pattern),
                             func.lower(CallRow.summary).like(pattern)))
        if flt.theme:
            conds.append(CallRow.id.in_(select(CallThemeRow.call_id).where(CallThemeRow.theme == flt.theme)))
        if flt.region or flt.min_fit is not None or flt.tri_regional_only:
            stmt = stmt.join(ClassificationRow, ClassificationRow.call_id == CallRow.id)
            if flt.region:
                column = {"lombardia": ClassificationRow.eligible_lombardia,
                          "piemonte": ClassificationRow.eligible_piemonte,
                          "liguria": ClassificationRow.eligible_liguria}.get(flt.region)
                if column is None:
                    raise InputError(f'unknown region "{flt.region}" (expected lombardia, piemonte or liguria)')
                conds.append(column.is_(True))
            if flt.min_fit is not None:
                conds.append(ClassificationRow.fit_score >= flt.min_fit)
            if flt.tri_regional_only:
                conds.append(ClassificationRow.tri_regional_fit.is_(True))
        stmt = stmt.where(*conds).order_by(CallRow.next_deadline_at.is_(None), CallRow.next_deadline_at,
                                           CallRow.id)
        if flt.limit is not None:
            stmt = stmt.limit(flt.limit).offset(flt.offset)
        with self._tx() as conn:
            ids = list(conn.scalars(stmt))
            return _load_views(conn, ids)

    def count_calls(self) -> int:
        with self._tx() as conn:
            return int(conn.scalar(select(func.count()).select_from(CallRow)) or 0)

    def get_call(self, ref: str | int) -> CallView:
        """A call by numeric id, official identifier or `source:external_id`."""
        with self._tx() as conn:
            call_id: int | None = None
            text = str(ref).strip()
            if text.isdigit():
                call_id = conn.scalar(select(CallRow.id).where(CallRow.id == int(text)))
            if call_id is None:
                call_id = conn.scalar(select(CallRow.id).where(func.lower(CallRow.identifier) == text.lower())
                                      .order_by(CallRow.id).limit(1))
            if call_id is None and ":" in text:
                source, _, ext = text.partition(":")
                call_id = conn.scalar(select(CallRow.id).where(CallRow.source == source, CallRow.external_id == ext))
            if call_id is None:
                raise InputError(f'no call with id or identifier "{text}"')
            return _load_views(conn, [call_id])[0]

    def call_text(self, call_id: int) -> RowMapping:
        """The fields the classifier reads, for one call."""
        with self._tx() as conn:
            row = conn.execute(select(CallRow).where(CallRow.id == call_id)).mappings().one()
        return row

    def changes(self, call_id: int | None = None, *, since: datetime | None = None) -> list[ChangeView]:
        stmt = select(CallChangeRow).order_by(CallChangeRow.changed_at, CallChangeRow.id)
        if call_id is not None:
            stmt = stmt.where(CallChangeRow.call_id == call_id)
        if since is not None:
            stmt = stmt.where(CallChangeRow.changed_at > since)
        with self._tx() as conn:
            return [ChangeView(r["call_id"], r["field"], r["old_value"], r["new_value"], r["changed_at"])
                    for r in conn.execute(stmt).mappings()]



# --- row mapping helpers ---------------------------------------------------------------------------------


def _link(conn: Connection, source: str, calls: Mapping[int, ScrapedCall], *, new_ids: set[int]) -> None:
    """Record the calls' link keys; a new call that shares a key with another source's call is linked to it.

    The first record seen stays canonical; later ones point at it (`canonical_id`), so lists show the call
    once while both source records are kept.
    """
    if not calls:
        return
    keys = {call_id: link_keys(call) for call_id, call in calls.items()}
    conn.execute(delete(CallLinkKeyRow).where(CallLinkKeyRow.call_id.in_(list(calls))))
    rows = [{"key": k[:512], "call_id": call_id} for call_id, ks in keys.items() for k in sorted(ks)]
    if rows:
        conn.execute(insert(CallLinkKeyRow), rows)
    for call_id in sorted(new_ids):
        if not keys[call_id]:
            continue
        match = conn.execute(
            select(CallRow.id, CallRow.canonical_id).join(CallLinkKeyRow, CallLinkKeyRow.call_id == CallRow.id)
            .where(CallLinkKeyRow.key.in_([k[:512] for k in keys[call_id]]), CallRow.source != source,
                   CallRow.id != call_id)
            .order_by(CallRow.id).limit(1)).first()
        if match is not None:
            conn.execute(update(CallRow).where(CallRow.id == call_id)
                         .values(canonical_id=match.canonical_id or match.id))


def _call_values(call: ScrapedCall, now: datetime) -> dict[str, Any]:
    next_closes, last_closes = closing_span(call.deadlines, now)
    return {
        "identifier": call.identifier, "title": call.title, "summary": call.summary,
        "description": call.description, "url": call.url, "programme": call.programme,
        "scope": call.scope.value if call.scope else None,
        "status": call.status_at(now).value,
        "source_status": call.status.value if call.status else None,
        "opening_date": call.opening_date,
        "opening_timezone": zone_name(call.opening_date) if call.opening_date else None,
        "next_deadline_at": next_closes, "last_deadline_at": last_closes,
        "deadline_text": call.deadline_text, "budget_eur": call.budget_eur, "budget_text": call.budget_text,
        "language": call.language, "regions": sorted(r.value for r in call.regions),
        "content_hash": call.content_hash(), "raw": _jsonable(call.raw),
    }


TRACKED = ("identifier", "title", "summary", "description", "url", "programme", "scope", "status",
           "opening_date", "deadlines", "deadline_text", "budget_eur", "budget_text", "language", "regions")


def _comparable_from_values(values: Mapping[str, Any], call: ScrapedCall) -> dict[str, Any]:
    out = {k: values[k] for k in TRACKED if k not in ("deadlines", "opening_date")}
    out["opening_date"] = call.opening_date.astimezone(UTC).isoformat() if call.opening_date else None
    out["deadlines"] = [deadline_key(d) for d in call.deadlines]
    return out


def _stored_comparable(row: Mapping[str, Any], deadlines: Sequence[Deadline]) -> dict[str, Any]:
    out = {k: row[k] for k in TRACKED if k not in ("deadlines", "opening_date")}
    out["opening_date"] = row["opening_date"].isoformat() if row["opening_date"] else None
    out["deadlines"] = [deadline_key(d) for d in deadlines]
    return out


def _write_deadlines(conn: Connection, calls: Sequence[tuple[int, Sequence[Deadline]]]) -> None:
    rows = [{"call_id": call_id, "position": i, "at": d.at, "timezone": zone_name(d.at), "date_only": d.date_only,
             "label": d.label} for call_id, deadlines in calls for i, d in enumerate(deadlines)]
    if rows:
        conn.execute(insert(CallDeadlineRow), rows)


def _deadlines(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[Deadline, ...]]:
    out: dict[int, list[Deadline]] = {}
    if not ids:
        return {}
    rows = conn.execute(select(CallDeadlineRow).where(CallDeadlineRow.call_id.in_(ids))
                        .order_by(CallDeadlineRow.call_id, CallDeadlineRow.position)).mappings()
    for r in rows:
        at = r["at"].astimezone(ZoneInfo(r["timezone"]))
        out.setdefault(r["call_id"], []).append(Deadline(at=at, date_only=r["date_only"], label=r["label"]))
    return {k: tuple(v) for k, v in out.items()}


def _load_views(conn: Connection, ids: Sequence[int]) -> list[CallView]:
    if not ids:
        return []
    rows: dict[int, Mapping[str, Any]] = {}
    deadlines: dict[int, tuple[Deadline, ...]] = {}
    classes: dict[int, Mapping[str, Any]] = {}
    themes: dict[int, dict[str, float]] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start:start + 500])
        rows.update({r["id"]: r for r in conn.execute(select(CallRow).where(CallRow.id.in_(chunk))).mappings()})
        deadlines.update(_deadlines(conn, chunk))
        classes.update({r["call_id"]: r for r in conn.execute(
            select(ClassificationRow).where(ClassificationRow.call_id.in_(chunk))).mappings()})
        for t in conn.execute(select(CallThemeRow).where(CallThemeRow.call_id.in_(chunk))
                              .order_by(CallThemeRow.score.desc(), CallThemeRow.theme)):
            themes.setdefault(t.call_id, {})[t.theme] = t.score
    views = []
    for call_id in ids:
        r = rows[call_id]
        c = classes.get(call_id)
        cview = None if c is None else ClassificationView(
            rules_version=c["rules_version"], themes=themes.get(call_id, {}),
            eligible={"lombardia": c["eligible_lombardia"], "piemonte": c["eligible_piemonte"],
                      "liguria": c["eligible_liguria"]},
            scope=c["scope"], consortium=c["consortium"], tri_regional_fit=c["tri_regional_fit"],
            fit_score=c["fit_score"], fit_reason=c["fit_reason"], fit_reason_it=c["fit_reason_it"],
            evidence=c["evidence"] or {})
        views.append(CallView(
            id=call_id, source=r["source"], external_id=r["external_id"], identifier=r["identifier"],
            title=r["title"], summary=r["summary"], description=r["description"], url=r["url"],
            programme=r["programme"], scope=r["scope"], status=r["status"],
            opening_date=_in_zone(r["opening_date"], r["opening_timezone"]),
            deadlines=deadlines.get(call_id, ()), deadline_text=r["deadline_text"], budget_eur=r["budget_eur"],
            budget_text=r["budget_text"], language=r["language"], regions=tuple(r["regions"] or ()),
            first_seen_at=r["first_seen_at"], last_seen_at=r["last_seen_at"],
            last_changed_at=r["last_changed_at"], canonical_id=r["canonical_id"], classification=cview))
    return views



def _in_zone(at: datetime | None, zone: str | None) -> datetime | None:
    """A stored UTC instant back in its official zone (Europe/Rome when unknown)."""
    if at is None:
        return None
    try:
        return at.astimezone(ZoneInfo(zone or "Europe/Rome"))
    except (ValueError, KeyError):
        return at.astimezone(ZoneInfo("Europe/Rome"))


def _jsonable(value: Any) -> Any:
    """Raw payloads go into a JSON column: make sure they survive the round trip."""
    return json.loads(json.dumps(value, default=str))

