"""The outbox: deliveries, their messages, claims and status counts."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from calltracker.storage.base import Repo
from calltracker.storage.schema import (
    DeliveryMessageRow,
    DeliveryRow,
    MemberRow,
)
from calltracker.views import (
    DELIVERY_STATUSES,
    DeliveryView,
    DueDelivery,
    NewDelivery,
    Outcome,
)

log = logging.getLogger(__name__)

_CLAIM = (update(DeliveryRow)
          .where(DeliveryRow.id == bindparam("delivery_id"), DeliveryRow.status == "pending",
                 or_(DeliveryRow.next_attempt_at.is_(None), DeliveryRow.next_attempt_at <= bindparam("at")),
                 or_(DeliveryRow.claimed_at.is_(None), DeliveryRow.claimed_at < bindparam("stale")))
          .values(claimed_at=bindparam("at"), claimed_by=bindparam("worker"), attempts=DeliveryRow.attempts + 1))
#: Claimed and handed to the server in one step, recorded before DATA: a sender killed from here until its
#: outcome is recorded leaves the delivery "sending", which `resolve_in_doubt` settles after the lease.
_START = _CLAIM.values(status="sending")
_FINISH = (update(DeliveryRow)
           .where(DeliveryRow.id == bindparam("delivery_id"), DeliveryRow.claimed_by == bindparam("worker"),
                  DeliveryRow.status.in_(("pending", "sending")))
           .values(status=bindparam("new_status"), last_error=bindparam("error"), claimed_at=None, claimed_by=None,
                   next_attempt_at=bindparam("retry_at"), sent_at=bindparam("sent")))
_FINISH_WITH_PAYLOAD = _FINISH.values(payload=bindparam("new_payload"))
#: Messages are stored zlib-compressed behind this prefix, which no message starts with (a message starts
#: with a header name); rows stored before it are plain. Level 1 turns an 85 KB digest (mostly HTML) into
#: 8 KB in 0.2 ms, and writing, reading and deleting a tenth of the pages saves more than that.
_PACKED = b"\x00zlib\x00"


def _pack(data: bytes) -> bytes:
    return _PACKED + zlib.compress(data, 1)


def _unpack(data: bytes) -> bytes:
    return zlib.decompress(data[len(_PACKED):]) if data.startswith(_PACKED) else data



class OutboxRepo(Repo):
    # -- deliveries and alerts (digests) ------------------------------------------------------------------

    def add_deliveries(self, rows: Sequence[NewDelivery], now: datetime) -> int:
        """Write deliveries to the outbox as pending; one that exists (member, kind, period) is left alone.

        Returns how many were added. Safe against a concurrent sender adding the same keys.
        """
        if not rows:
            return 0
        from sqlalchemy.dialects import postgresql, sqlite

        dialect_insert: Any = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        values = [{"member_id": r.member_id, "kind": r.kind, "period_key": r.period_key,
                   "status": "failed" if r.error else "pending", "last_error": r.error,
                   "attempts": 0, "message_id": r.message_id, "subject": r.subject, "payload": dict(r.payload),
                   "created_at": now} for r in rows]
        messages = {(r.member_id, r.kind, r.period_key): _pack(r.message) for r in rows if r.message is not None}
        added = 0
        with self._tx() as conn:
            for start in range(0, len(values), 200):
                stmt = (dialect_insert(DeliveryRow)
                        .on_conflict_do_nothing(index_elements=["member_id", "kind", "period_key"])
                        .returning(DeliveryRow.id, DeliveryRow.member_id, DeliveryRow.kind, DeliveryRow.period_key))
                inserted = conn.execute(stmt, values[start:start + 200]).all()
                added += len(inserted)
                bodies = [{"delivery_id": r.id, "data": messages[(r.member_id, r.kind, r.period_key)]}
                          for r in inserted if (r.member_id, r.kind, r.period_key) in messages]
                if bodies:
                    conn.execute(insert(DeliveryMessageRow), bodies)
        return added

    def delivery_keys(self, kind: str, *, period_keys: Sequence[str] | None = None) -> set[tuple[int, str]]:
        """(member id, period key) of every delivery of `kind` in the outbox, whatever its status."""
        stmt = select(DeliveryRow.member_id, DeliveryRow.period_key).where(DeliveryRow.kind == kind)
        keys = list(period_keys) if period_keys is not None else None
        out: set[tuple[int, str]] = set()
        with self._tx() as conn:
            if keys is None:
                return {(r.member_id, r.period_key) for r in conn.execute(stmt)}
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                out.update((r.member_id, r.period_key)
                           for r in conn.execute(stmt.where(DeliveryRow.period_key.in_(chunk))))
        return out

    def digest_cutoffs(self) -> dict[int, datetime]:
        """member id -> when their last delivered digest was prepared (its content was chosen then)."""
        stmt = (select(DeliveryRow.member_id, func.max(DeliveryRow.created_at).label("at"))
                .where(DeliveryRow.kind == "digest", DeliveryRow.status == "sent").group_by(DeliveryRow.member_id))
        with self._tx() as conn:
            out: dict[int, datetime] = {}
            for r in conn.execute(stmt):
                at = r.at
                if isinstance(at, str):  # SQLite's max() hands back text, not the column type
                    at = datetime.fromisoformat(at)
                out[r.member_id] = at if at.tzinfo else at.replace(tzinfo=UTC)
            return out

    def due_deliveries(self, kind: str | None, now: datetime, *, lease: timedelta,
                       limit: int = 500) -> list[DueDelivery]:
        """Pending deliveries that may be claimed now: not waiting for a retry, and unclaimed or abandoned."""
        stmt = (select(DeliveryRow.id, DeliveryRow.member_id, DeliveryRow.kind, DeliveryRow.period_key,
                       DeliveryRow.attempts, DeliveryRow.message_id, DeliveryRow.payload, MemberRow.email,
                       MemberRow.active, MemberRow.paused, MemberRow.unsubscribed_at)
                .join(MemberRow, MemberRow.id == DeliveryRow.member_id)
                .where(*self._claimable(now, lease)).order_by(DeliveryRow.id).limit(limit))
        if kind is not None:
            stmt = stmt.where(DeliveryRow.kind == kind)
        with self._tx() as conn:
            rows = conn.execute(stmt).all()
            # The messages in a second query: joined into the first, SQLite would carry every pending
            # message through the sort before the LIMIT applies.
            messages: dict[int, bytes] = {delivery_id: _unpack(data) for delivery_id, data in conn.execute(
                select(DeliveryMessageRow.delivery_id, DeliveryMessageRow.data)
                .where(DeliveryMessageRow.delivery_id.in_([r.id for r in rows])))} if rows else {}
        return [DueDelivery(id=r.id, member_id=r.member_id, kind=r.kind, period_key=r.period_key,
                            attempts=r.attempts, message_id=r.message_id, payload=r.payload or {},
                            email=r.email, message=messages.get(r.id),
                            receives_mail=bool(r.active and not r.paused and r.unsubscribed_at is None))
                for r in rows]

    @staticmethod
    def _claimable(now: datetime, lease: timedelta) -> list[ColumnElement[bool]]:
        return [DeliveryRow.status == "pending",
                or_(DeliveryRow.next_attempt_at.is_(None), DeliveryRow.next_attempt_at <= now),
                or_(DeliveryRow.claimed_at.is_(None), DeliveryRow.claimed_at < now - lease)]

    def claim_delivery(self, delivery_id: int, worker: str, now: datetime, *, lease: timedelta) -> bool:
        """Claim one delivery with a conditional update; send it only if this returns True.

        The attempt is counted here, before sending, so a process killed mid-send still counts it.
        """
        with self._tx() as conn:
            changed = conn.execute(_CLAIM, {"delivery_id": delivery_id, "at": now, "stale": now - lease,
                                            "worker": worker}).rowcount
        return changed == 1

    def finish_delivery(self, delivery_id: int, worker: str, *, status: str, now: datetime,
                        error: str | None = None, next_attempt_at: datetime | None = None,
                        payload: Mapping[str, Any] | None = None) -> bool:
        """Record the outcome of a claimed delivery: sent, failed, cancelled, or pending again (a retry).

        Only the claim holder may finish; False means the claim was lost (it expired and another sender
        took the delivery over).
        """
        if status not in DELIVERY_STATUSES:
            raise ValueError(f"unknown delivery status {status!r}")
        values: dict[str, Any] = {"delivery_id": delivery_id, "worker": worker, "new_status": status,
                                  "error": error, "retry_at": next_attempt_at,
                                  "sent": now if status == "sent" else None}
        if payload is not None:
            values["new_payload"] = dict(payload)
        with self._tx() as conn:
            changed = conn.execute(_FINISH if payload is None else _FINISH_WITH_PAYLOAD, values).rowcount
        return changed == 1

    def drop_finished_messages(self, delivery_ids: Sequence[int] | None = None) -> int:
        """Delete the stored messages of deliveries that were sent or cancelled (of `delivery_ids`, or all).

        Done for a batch at a time rather than in each `finish_delivery`: freeing a large record's pages
        costs about as much as writing them, and in one transaction it is paid once per page, not per commit.
        Without ids it walks every stored message: a sweep for what a killed sender left behind.
        """
        done = (select(DeliveryRow.id).where(DeliveryRow.id == DeliveryMessageRow.delivery_id,
                                             DeliveryRow.status.in_(("sent", "cancelled"))).exists())
        dropped = 0
        with self._tx() as conn:
            if delivery_ids is None:
                return conn.execute(delete(DeliveryMessageRow).where(done)).rowcount or 0
            ids = list(delivery_ids)
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                dropped += conn.execute(delete(DeliveryMessageRow).where(
                    DeliveryMessageRow.delivery_id.in_(chunk), done)).rowcount or 0
        return dropped

    def release_delivery(self, delivery_id: int, worker: str) -> None:
        """Give a claim back untried (the transport was down): the attempt is not counted."""
        with self._tx() as conn:
            conn.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id, DeliveryRow.claimed_by == worker,
                                                   DeliveryRow.status.in_(("pending", "sending")))
                         .values(status="pending", claimed_at=None, claimed_by=None,
                                 attempts=DeliveryRow.attempts - 1))

    def start_delivery(self, delivery_id: int, worker: str, now: datetime, *, lease: timedelta,
                       finished: Sequence[Outcome] = ()) -> bool:
        """Claim one delivery and record it as "sending", in the transaction that also records the outcomes
        of the deliveries this worker sent before it: one commit per message. Send only if this returns True.
        """
        with self._tx() as conn:
            self._finish(conn, worker, finished)
            changed = conn.execute(_START, {"delivery_id": delivery_id, "at": now, "stale": now - lease,
                                            "worker": worker}).rowcount
        return changed == 1

    def finish_deliveries(self, worker: str, outcomes: Sequence[Outcome]) -> int:
        """Record the outcomes of claimed deliveries in one transaction; returns how many claims still held."""
        if not outcomes:
            return 0
        with self._tx() as conn:
            return self._finish(conn, worker, outcomes)

    @staticmethod
    def _finish(conn: Any, worker: str, outcomes: Sequence[Outcome]) -> int:
        held = 0
        for o in outcomes:
            if o.status not in DELIVERY_STATUSES:
                raise ValueError(f"unknown delivery status {o.status!r}")
            values: dict[str, Any] = {"delivery_id": o.delivery_id, "worker": worker, "new_status": o.status,
                                      "error": o.error, "retry_at": o.retry_at,
                                      "sent": o.at if o.status == "sent" else None}
            if o.payload is not None:
                values["new_payload"] = dict(o.payload)
            changed = conn.execute(_FINISH if o.payload is None else _FINISH_WITH_PAYLOAD, values).rowcount
            if changed != 1:
                log.warning("delivery %s finished as %s but its claim had expired; another sender may resend it",
                            o.delivery_id, o.status)
            held += changed
        return held

    def cancel_deliveries(self, delivery_ids: Sequence[int], now: datetime, *, lease: timedelta,
                          reason: str) -> list[int]:
        """Cancel claimable deliveries (their member no longer receives mail); returns the ids cancelled."""
        if not delivery_ids:
            return []
        with self._tx() as conn:
            return list(conn.scalars(
                update(DeliveryRow).where(DeliveryRow.id.in_(list(delivery_ids)), *self._claimable(now, lease))
                .values(status="cancelled", last_error=reason, claimed_at=None, claimed_by=None)
                .returning(DeliveryRow.id)))

    def resolve_in_doubt(self, now: datetime, *, lease: timedelta, resend: bool) -> list[int]:
        """Settle deliveries left "sending" by a sender that died (claim older than `lease`): the server may
        or may not have accepted them. `resend`: pending again, to be sent with the same Message-ID (no
        member misses a message; one may get it twice). Otherwise "in_doubt", for staff to check. Returns ids."""
        stuck = [DeliveryRow.status == "sending", DeliveryRow.claimed_at < now - lease]
        note = ("in doubt: the sender stopped while the mail server had it; "
                + ("resent with the same Message-ID" if resend else "held for staff (mail.in_doubt = hold)"))
        with self._tx() as conn:
            return list(conn.scalars(
                update(DeliveryRow).where(*stuck)
                .values(status="pending" if resend else "in_doubt", last_error=note, claimed_at=None,
                        claimed_by=None)
                .returning(DeliveryRow.id)))

    def deliveries(self, kind: str | None = None, *, status: str | None = None) -> list[DeliveryView]:
        stmt = (select(DeliveryRow.__table__, MemberRow.email).join(MemberRow, MemberRow.id == DeliveryRow.member_id)
                .order_by(DeliveryRow.id))
        if kind is not None:
            stmt = stmt.where(DeliveryRow.kind == kind)
        if status is not None:
            stmt = stmt.where(DeliveryRow.status == status)
        with self._tx() as conn:
            return [DeliveryView(id=r["id"], member_id=r["member_id"], email=r["email"], kind=r["kind"],
                                 period_key=r["period_key"], status=r["status"], attempts=r["attempts"],
                                 last_error=r["last_error"], message_id=r["message_id"], subject=r["subject"],
                                 created_at=r["created_at"], claimed_at=r["claimed_at"],
                                 next_attempt_at=r["next_attempt_at"], sent_at=r["sent_at"],
                                 payload=r["payload"] or {})
                    for r in conn.execute(stmt).mappings()]


    # -- status ------------------------------------------------------------------------------------------

    def delivery_counts(self) -> dict[str, int]:
        with self._tx() as conn:
            return {r.status: r.n for r in conn.execute(
                select(DeliveryRow.status, func.count().label("n")).group_by(DeliveryRow.status))}

