"""Calls: idempotent upsert with change rows, cross-source links, queries."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy import literal as sa_literal
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import StatementError
from sqlalchemy.sql.elements import ColumnElement

from calltracker.domain import (
    Deadline,
    ScrapedCall,
    Status,
    closing_span,
    deadline_key,
    hash_comparable,
    zone_name,
)
from calltracker.errors import InputError, StorageError, one_line
from calltracker.linking import key_hash, link_keys, links_by
from calltracker.storage.bounds import LINK_KEY_LEN, bounded, distinct_cut, is_clean_json
from calltracker.storage.quarantine import QuarantineRepo, quarantine
from calltracker.storage.runs import RunsRepo
from calltracker.storage.schema import (
    CallChangeRow,
    CallDeadlineRow,
    CallLinkKeyRow,
    CallRow,
    CallThemeRow,
    ClassificationRow,
    SourceRow,
)
from calltracker.storage.sql import (
    analyze,
    chunks,
    insert_columns,
    insert_fresh_columns,
    is_postgres,
    one_of,
    upsert,
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

_ANALYZED = ["calls (id, source, external_id, canonical_id)", "call_link_keys (call_id, key_hash)",
             "call_deadlines (call_id)"]


class CallsRepo(RunsRepo, QuarantineRepo):
    # -- calls -------------------------------------------------------------------------------------------

    def save_calls(self, source: str, calls: Sequence[ScrapedCall], *, run_id: int | None,
                   now: datetime) -> SaveResult:
        """Upsert calls of one source by external id, recording field-level changes. Never deletes.

        Every record is cleaned and bounded first (see bounds.py). A record that still cannot be stored is
        quarantined (kept raw with its error, returned in `quarantined`) and the rest of the page is saved.
        Safe against a concurrent writer saving the same calls (INSERT ... ON CONFLICT).
        """
        prepared: dict[str, _Prepared] = {}
        refused: list[tuple[ScrapedCall, str]] = []
        for call in calls:
            if call.source != source:
                raise ValueError(f"call {call.external_id} is from {call.source}, not {source}")
            try:
                clean, raw_clean = bounded(call)
            except Exception as exc:  # noqa: BLE001 - one hostile record never stops its page
                refused.append((call, _prep_error(exc)))
                continue
            prepared[clean.external_id] = _Prepared(clean, call, raw_clean)
        result = SaveResult()
        if prepared:
            try:
                result, unusable = self._save_page(source, prepared, run_id, now)
                refused.extend(unusable)
            except StatementError as exc:  # the database refused something: find the record, keep the others
                log.info("%s: page of %d records refused (%s); saving them one by one", source, len(prepared),
                         _db_error(exc))
                result = SaveResult()
                for ext_id, item in prepared.items():
                    try:
                        one, unusable = self._save_page(source, {ext_id: item}, run_id, now)
                    except StatementError as one_exc:
                        refused.append((item.original, _db_error(one_exc)))
                        continue
                    refused.extend(unusable)
                    result.new_ids.extend(one.new_ids)
                    result.changed_ids.extend(one.changed_ids)
                    result.changes.extend(one.changes)
                    result = replace(result, unchanged=result.unchanged + one.unchanged)
        if refused:
            with self._tx() as conn:
                result.quarantined.extend(quarantine(conn, source, refused, run_id=run_id, now=now))
        self._after_insert(len(result.new_ids))
        return result

    def _save_page(self, source: str, prepared: Mapping[str, _Prepared], run_id: int | None,
                   now: datetime) -> tuple[SaveResult, list[tuple[ScrapedCall, str]]]:
        """One transaction; retried when PostgreSQL picks it as a deadlock victim. Also returns the records
        that could not even be prepared (a date out of range)."""
        for attempt in range(3):
            refused: list[tuple[ScrapedCall, str]] = []
            try:
                with self._tx() as conn:
                    return _write_page(conn, source, prepared, run_id, now, refused), refused
            except StorageError as exc:
                if attempt == 2 or getattr(getattr(exc.__cause__, "orig", None), "sqlstate", None) not in (
                        "40P01", "40001"):
                    raise
                log.info("%s: concurrent writer, page retried (%s)", source, exc)
        raise AssertionError("unreachable")

    # Statistics: PostgreSQL plans a fresh table as empty until it is analysed; refresh them as it grows
    # (the row counts, and the columns saving a page looks rows up by: not a call's kilobytes of text).
    _inserted_since_analyze: int = 0
    _inserted_at_analyze: int = 0

    def _after_insert(self, count: int) -> None:
        if not count or self.engine.dialect.name != "postgresql":
            return
        self._inserted_since_analyze += count
        if self._inserted_since_analyze >= max(1_000, self._inserted_at_analyze):
            with self._tx() as conn:
                analyze(conn, _ANALYZED)
            self._inserted_at_analyze += self._inserted_since_analyze
            self._inserted_since_analyze = 0

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
                call_id = conn.scalar(by_identifier(text))
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


@dataclass(slots=True)
class _Prepared:
    call: ScrapedCall  # cleaned and bounded
    original: ScrapedCall  # as scraped: what a quarantine keeps
    raw_clean: bool = False  # the raw payload is plain JSON (bounds.is_clean_json), stored as it is
    values: dict[str, Any] | None = None  # the row's values, computed only for new and changed calls
    comparable: dict[str, Any] | None = None
    digest: str | None = None

    def content_hash(self) -> str:
        """The call's content hash, taken once (a changed call's row values reuse it)."""
        if self.digest is None:
            self.comparable = self.call.comparable()
            self.digest = hash_comparable(self.comparable)
        return self.digest

    def row_values(self, now: datetime) -> dict[str, Any]:
        if self.values is None:
            digest = self.content_hash()
            self.values = _call_values(self.call, now, raw_clean=self.raw_clean, comparable=self.comparable,
                                       digest=digest)
        return self.values


def _prep_error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {one_line(exc)}"


def _db_error(exc: StatementError) -> str:
    orig = exc.orig if exc.orig is not None else exc
    return f"{type(orig).__name__}: {one_line(orig)}"


def _lookup(conn: Connection, source: str, ext_ids: Sequence[str], *,
            after_insert: bool = False) -> dict[str, tuple[int, str, str, bool]]:
    """external id -> (id, content hash, status, inserted by this transaction) of the stored calls among `ext_ids`.

    "Inserted by this transaction" is only asked right after inserting: on PostgreSQL a row's xmin says so
    (a concurrent writer may have inserted some first); a SQLite writer holds the database's write lock.
    """
    mine: Any = sa_literal(False)
    if after_insert:
        mine = literal_column("calls.xmin = pg_current_xact_id()::xid") if is_postgres(conn) else sa_literal(True)
    out: dict[str, tuple[int, str, str, bool]] = {}
    for chunk in chunks(conn, ext_ids):
        for r in conn.execute(select(CallRow.id, CallRow.external_id, CallRow.content_hash, CallRow.status,
                                     mine.label("mine"))
                              .where(CallRow.source == source, one_of(conn, CallRow.external_id, chunk))):
            out[r.external_id] = (r.id, r.content_hash, r.status, bool(r.mine))
    return out


def _write_page(conn: Connection, source: str, prepared: Mapping[str, _Prepared], run_id: int | None,
                now: datetime, refused: list[tuple[ScrapedCall, str]]) -> SaveResult:
    """Save one page of a source's calls: a handful of statements whatever the page's size.

    Stored calls whose content hash and status match are only marked seen; the others are loaded and
    compared field by field. New calls are inserted with ON CONFLICT DO NOTHING: one a concurrent writer
    inserted first is then compared like any stored call.
    """
    conn.execute(upsert(conn, SourceRow).values(name=source, type="coded", created_at=now)
                 .on_conflict_do_nothing(index_elements=[SourceRow.name]))
    existing = _lookup(conn, source, list(prepared))
    new_ext: list[str] = []
    for ext, item in prepared.items():
        if ext not in existing:
            try:
                item.row_values(now)
            except Exception as exc:  # noqa: BLE001 - a hostile record (a date out of range) is refused alone
                refused.append((item.original, _prep_error(exc)))
                continue
            new_ext.append(ext)
    inserted: dict[str, int] = {}
    if new_ext:
        values = [prepared[ext].row_values(now) for ext in new_ext]
        n = len(new_ext)
        columns: dict[str, Sequence[Any]] = {
            "source": [source] * n, "external_id": new_ext, "first_seen_at": [now] * n, "last_seen_at": [now] * n,
            "last_changed_at": [now] * n, "canonical_id": [None] * n,
            **{name: [v[name] for v in values] for name in values[0]}}
        if is_postgres(conn):  # one statement; it returns the rows it inserted, not those a concurrent writer did
            mine = insert_columns(conn, CallRow.__table__, columns, conflict=["source", "external_id"],
                                  returning=["id", "external_id"])
            inserted.update((r.external_id, r.id) for r in mine)
            late = [ext for ext in new_ext if ext not in inserted]
        else:
            # The writer holds SQLite's write lock since the sources upsert above: nothing else inserts until
            # it commits, so the page's calls take the ids after the largest, as SQLite would give them, and
            # no query for them follows. (A clash would refuse the page, never pass silently.)
            first = (conn.scalar(select(func.max(CallRow.id))) or 0) + 1
            ids = range(first, first + len(new_ext))
            insert_fresh_columns(conn, CallRow.__table__, {"id": ids, **columns})
            inserted.update(zip(new_ext, ids, strict=True))
            late = []
        found_late = _lookup(conn, source, late, after_insert=True) if late else {}
        for ext, found in found_late.items():
            if found[3]:
                inserted[ext] = found[0]
            else:  # inserted meanwhile by a concurrent writer: compare with what it stored
                existing[ext] = found
    result = SaveResult(new_ids=[inserted[ext] for ext in new_ext if ext in inserted])
    unchanged_ids: list[int] = []
    candidates: dict[int, str] = {}
    for ext, (call_id, content_hash, status, _) in existing.items():
        item = prepared[ext]
        try:  # the hash and the status first: most stored calls have not changed, their rows are not loaded
            if content_hash == item.content_hash() and status == item.call.status_at(now).value:
                unchanged_ids.append(call_id)
                continue
            item.row_values(now)
        except Exception as exc:  # noqa: BLE001 - a hostile record is refused alone
            refused.append((item.original, _prep_error(exc)))
            continue
        candidates[call_id] = ext
    changed_calls: dict[int, ScrapedCall] = {}
    if candidates:
        _update_candidates(conn, prepared, candidates, run_id, now, result, unchanged_ids, changed_calls)
    _write_deadlines(conn, [(inserted[ext], prepared[ext].call.deadlines) for ext in new_ext if ext in inserted])
    relinked = {inserted[ext]: prepared[ext].call for ext in new_ext if ext in inserted}
    relinked.update(changed_calls)
    _link(conn, source, relinked, new_ids=set(result.new_ids))
    for chunk in chunks(conn, unchanged_ids):
        conn.execute(update(CallRow).where(one_of(conn, CallRow.id, chunk)).values(last_seen_at=now))
    return replace(result, unchanged=len(unchanged_ids))


def _update_candidates(conn: Connection, prepared: Mapping[str, _Prepared], candidates: Mapping[int, str],
                       run_id: int | None, now: datetime, result: SaveResult, unchanged_ids: list[int],
                       changed_calls: dict[int, ScrapedCall]) -> None:
    """Compare stored calls whose hash or status differ field by field; update them in one statement."""
    ids = sorted(candidates)
    rows: dict[int, Mapping[str, Any]] = {}
    stored_deadlines: dict[int, tuple[Deadline, ...]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows.update({r["id"]: r for r in conn.execute(select(CallRow).where(one_of(conn, CallRow.id, chunk)))
                     .mappings()})
        stored_deadlines.update(_deadlines(conn, chunk))
    updates: list[dict[str, Any]] = []
    new_deadlines: list[tuple[int, Sequence[Deadline]]] = []
    change_rows: list[dict[str, Any]] = []
    for call_id in ids:
        row, item = rows[call_id], prepared[candidates[call_id]]
        values = item.row_values(now)
        old = _stored_comparable(row, stored_deadlines.get(call_id, ()))
        new = _comparable_from_values(values, item.call)
        diffs = [(k, old.get(k), new[k]) for k in new if old.get(k) != new[k]]
        if not diffs and row["content_hash"] == values["content_hash"]:
            unchanged_ids.append(call_id)
            continue
        updates.append({"b_id": call_id, "b_last_seen_at": now,
                        "b_last_changed_at": now if diffs else row["last_changed_at"],
                        **{f"b_{k}": v for k, v in values.items()}})
        if any(k == "deadlines" for k, _, _ in diffs):
            new_deadlines.append((call_id, item.call.deadlines))
        if diffs:
            change_rows.extend({"call_id": call_id, "run_id": run_id, "field": k, "old_value": o,
                                "new_value": n, "changed_at": now} for k, o, n in diffs)
            result.changed_ids.append(call_id)
            result.changes.extend(FieldChange(call_id, k, o, n) for k, o, n in diffs)
            changed_calls[call_id] = item.call
        else:
            unchanged_ids.append(call_id)
    if updates:
        columns = [k[2:] for k in updates[0] if k != "b_id"]
        conn.execute(update(CallRow).where(CallRow.id == bindparam("b_id"))
                     .values({c: bindparam(f"b_{c}") for c in columns}), updates)
    if new_deadlines:
        for chunk in chunks(conn, [call_id for call_id, _ in new_deadlines]):
            conn.execute(delete(CallDeadlineRow).where(one_of(conn, CallDeadlineRow.call_id, chunk)))
        _write_deadlines(conn, new_deadlines)
    if change_rows:
        conn.execute(insert(CallChangeRow), change_rows)


def by_identifier(identifier: str) -> Select[int]:
    """The id of the oldest call with this official identifier, case-insensitively: `lower(identifier)`
    is what the index ix_calls_identifier_lower holds, so the lookup reads the index, not the table."""
    return (select(CallRow.id).where(func.lower(CallRow.identifier) == identifier.lower())
            .order_by(CallRow.id).limit(1))


def _link(conn: Connection, source: str, calls: Mapping[int, ScrapedCall], *, new_ids: set[int]) -> None:
    """Record the calls' link keys; a new call that shares a key with another source's call is linked to it.

    The first record seen stays canonical; later ones point at it (`canonical_id`), so lists show the call
    once while both source records are kept. One query finds the matches of a whole page.
    """
    if not calls:
        return
    keys = {call_id: {k if len(k) <= LINK_KEY_LEN else distinct_cut(k, LINK_KEY_LEN) for k in link_keys(call)}
            for call_id, call in calls.items()}
    hashes = {k: key_hash(k) for ks in keys.values() for k in ks}
    # key -> (id, canonical id, regions) of the other sources' calls that have it: found by digest, matched by
    # text below. Asked before this page's keys are written: they are all of this source, which the query
    # leaves out anyway.
    wanted = {k for call_id in new_ids for k in keys[call_id]}
    holders: dict[str, list[tuple[int, int | None, list[str]]]] = {}
    for hash_chunk in chunks(conn, sorted({hashes[k] for k in wanted})):
        for r in conn.execute(
                select(CallLinkKeyRow.key, CallRow.id, CallRow.canonical_id, CallRow.regions)
                .join(CallRow, CallLinkKeyRow.call_id == CallRow.id)
                .where(one_of(conn, CallLinkKeyRow.key_hash, hash_chunk), CallRow.source != source)):
            holders.setdefault(r.key, []).append((r.id, r.canonical_id, r.regions or []))
    for id_chunk in chunks(conn, sorted(set(calls) - new_ids)):
        conn.execute(delete(CallLinkKeyRow).where(one_of(conn, CallLinkKeyRow.call_id, id_chunk)))
    texts = [k for ks in keys.values() for k in ks]
    call_ids = [call_id for call_id, ks in keys.items() for _ in ks]
    # (nothing stored clashes: the calls are new, or their keys were just deleted)
    insert_fresh_columns(conn, CallLinkKeyRow.__table__,
                         {"key_hash": [hashes[k] for k in texts], "call_id": call_ids, "key": texts})
    links = []
    for call_id in sorted(new_ids) if holders else ():  # (most pages share no key with another source)
        regions = calls[call_id].regions
        matches = [(other, canonical) for k in keys[call_id] for other, canonical, their_regions in holders.get(k, ())
                   if links_by(k, regions, their_regions)]
        if matches:  # the oldest
            match_id, canonical = min(matches)
            links.append({"b_id": call_id, "b_canonical": canonical or match_id})
    if links:
        conn.execute(update(CallRow).where(CallRow.id == bindparam("b_id"))
                     .values(canonical_id=bindparam("b_canonical")), links)


def _call_values(call: ScrapedCall, now: datetime, *, raw_clean: bool = False,
                 comparable: Mapping[str, Any] | None = None, digest: str | None = None) -> dict[str, Any]:
    """A call row's values. `raw_clean`: the raw payload is known to be plain JSON (bounds.bounded said so);
    `comparable` and `digest`: the call's `comparable()` and content hash, when already taken."""
    if comparable is None:
        comparable = call.comparable()
    next_closes, last_closes = closing_span(call.deadlines, now)
    return {
        "identifier": call.identifier, "title": call.title, "summary": call.summary,
        "description": call.description, "url": call.url, "programme": call.programme,
        "scope": comparable["scope"],
        "status": call.status_at(now).value,
        "source_status": comparable["status"],
        "opening_date": call.opening_date,
        "opening_timezone": zone_name(call.opening_date) if call.opening_date else None,
        "next_deadline_at": next_closes, "last_deadline_at": last_closes,
        "deadline_text": call.deadline_text, "budget_eur": call.budget_eur, "budget_text": call.budget_text,
        "language": call.language, "regions": list(comparable["regions"]),
        "content_hash": digest if digest is not None else hash_comparable(comparable),
        "raw": call.raw if raw_clean else _jsonable(call.raw),
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
    """The deadlines of calls that have none stored: new calls, or changed ones whose deadlines were deleted."""
    rows = [(call_id, i, d) for call_id, deadlines in calls for i, d in enumerate(deadlines)]
    insert_fresh_columns(conn, CallDeadlineRow.__table__, {
        "call_id": [call_id for call_id, _, _ in rows], "position": [i for _, i, _ in rows],
        "at": [d.at for _, _, d in rows], "timezone": [zone_name(d.at) for _, _, d in rows],
        "date_only": [d.date_only for _, _, d in rows], "label": [d.label for _, _, d in rows]})


def _deadlines(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[Deadline, ...]]:
    out: dict[int, list[Deadline]] = {}
    if not ids:
        return {}
    rows = conn.execute(select(CallDeadlineRow).where(one_of(conn, CallDeadlineRow.call_id, ids))
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
        rows.update({r["id"]: r for r in conn.execute(
            select(CallRow).where(one_of(conn, CallRow.id, chunk))).mappings()})
        deadlines.update(_deadlines(conn, chunk))
        classes.update({r["call_id"]: r for r in conn.execute(
            select(ClassificationRow).where(one_of(conn, ClassificationRow.call_id, chunk))).mappings()})
        for t in conn.execute(select(CallThemeRow).where(one_of(conn, CallThemeRow.call_id, chunk))
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
    """Raw payloads go into a JSON column: make sure they survive the round trip (most are plain JSON already)."""
    if is_clean_json(value):
        return value
    return json.loads(json.dumps(value, default=str))

