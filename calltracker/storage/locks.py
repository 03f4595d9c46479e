"""Job locks (scheduler) and status queries over them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from calltracker.storage.base import Repo
from calltracker.storage.schema import (
    DeliveryRow,
    JobLockRow,
    MemberRow,
)

log = logging.getLogger(__name__)

class LocksRepo(Repo):
    # -- job locks (scheduler) ----------------------------------------------------------------------------

    def acquire_job_lock(self, name: str, holder: str, now: datetime, lease_seconds: float, *,
                         holder_gone: Callable[[str], bool] | None = None) -> bool:
        """Take the lock of job `name` for `holder` until now + lease, unless someone else holds it unexpired.

        An expired lock (its holder died or hung), or one whose holder `holder_gone` says is gone (same host,
        dead process), is taken over with a conditional UPDATE; a missing one is created with an INSERT that
        loses cleanly to a concurrent INSERT. Not re-entrant: a holder that already has the lock does not
        get it twice.
        """
        expires = now + timedelta(seconds=lease_seconds)
        values = {"holder": holder, "acquired_at": now, "expires_at": expires}
        with self._tx() as conn:
            taken = conn.execute(update(JobLockRow).where(JobLockRow.name == name, JobLockRow.expires_at <= now)
                                 .values(**values)).rowcount
            if taken:
                return True
            current = conn.scalar(select(JobLockRow.holder).where(JobLockRow.name == name))
            if current is not None:
                if current == holder or holder_gone is None or not holder_gone(current):
                    return False
                # Its process is gone: take it over, unless someone else did in the meantime.
                taken = conn.execute(update(JobLockRow).where(JobLockRow.name == name, JobLockRow.holder == current)
                                     .values(**values)).rowcount
                if taken:
                    log.warning("job %s: took over the lock of %s, whose process is gone", name, current)
                return bool(taken)
        try:
            with self._tx() as conn:
                conn.execute(insert(JobLockRow).values(name=name, **values))
        except IntegrityError:
            return False  # another instance inserted it first
        return True

    def renew_job_lock(self, name: str, holder: str, now: datetime, lease_seconds: float) -> bool:
        """Extend the lease of a lock we hold. False when we no longer hold it (it expired and was taken)."""
        with self._tx() as conn:
            done = conn.execute(update(JobLockRow).where(JobLockRow.name == name, JobLockRow.holder == holder)
                                .values(expires_at=now + timedelta(seconds=lease_seconds))).rowcount
        return bool(done)

    def release_job_lock(self, name: str, holder: str) -> bool:
        """Drop the lock if we still hold it."""
        with self._tx() as conn:
            done = conn.execute(delete(JobLockRow).where(JobLockRow.name == name,
                                                         JobLockRow.holder == holder)).rowcount
        return bool(done)

    def job_locks(self) -> list[dict[str, Any]]:
        """Every lock row: name, holder, acquired_at, expires_at (expired ones included)."""
        with self._tx() as conn:
            return [dict(r) for r in conn.execute(select(JobLockRow).order_by(JobLockRow.name)).mappings()]

    def unsent_deliveries(self, limit: int = 20) -> list[dict[str, Any]]:
        """Deliveries not sent yet (pending, retrying or failed), oldest first, with the member's address."""
        stmt = (select(DeliveryRow.id, DeliveryRow.kind, DeliveryRow.period_key, DeliveryRow.status,
                       DeliveryRow.attempts, DeliveryRow.last_error, DeliveryRow.next_attempt_at,
                       DeliveryRow.created_at, MemberRow.email)
                .join(MemberRow, MemberRow.id == DeliveryRow.member_id)
                .where(DeliveryRow.status.not_in(("sent", "skipped")))
                .order_by(DeliveryRow.created_at, DeliveryRow.id).limit(limit))
        with self._tx() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]


