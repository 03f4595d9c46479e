"""Members' interest in calls, what they agreed to share, and the record of weekly staff reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from calltracker.consortium import InterestView
from calltracker.storage.base import Repo
from calltracker.storage.members import _member_view
from calltracker.storage.schema import CallRow, ClusterRow, InterestRow, MemberRow, StaffReportRow
from calltracker.views import MemberView


class InterestRepo(Repo):
    # Writes coming from a member's signed link are keyed by member id *and* token version (see members.py).

    @staticmethod
    def _link_ok(conn: Connection, member_id: int, version: int) -> bool:
        return conn.scalar(select(MemberRow.id).where(MemberRow.id == member_id,
                                                      MemberRow.token_version == version)) is not None

    def add_interest(self, member_id: int, version: int, call_id: int, now: datetime) -> bool:
        """Record a member's interest in a call (idempotent: the first time is kept).

        False when the link is stale or the call does not exist.
        """
        dialect_insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        with self._tx() as conn:
            if not self._link_ok(conn, member_id, version):
                return False
            if conn.scalar(select(CallRow.id).where(CallRow.id == call_id)) is None:
                return False
            conn.execute(dialect_insert(InterestRow).values(call_id=call_id, member_id=member_id, created_at=now)
                         .on_conflict_do_nothing(index_elements=["call_id", "member_id"]))
        return True

    def withdraw_interest(self, member_id: int, version: int, call_id: int) -> bool:
        """Withdraw a member's interest (nothing happens when there was none). False when the link is stale."""
        with self._tx() as conn:
            if not self._link_ok(conn, member_id, version):
                return False
            conn.execute(delete(InterestRow).where(InterestRow.member_id == member_id,
                                                   InterestRow.call_id == call_id))
        return True

    def is_interested(self, member_id: int, call_id: int) -> bool:
        with self._tx() as conn:
            return conn.scalar(select(InterestRow.created_at).where(
                InterestRow.member_id == member_id, InterestRow.call_id == call_id)) is not None

    def interests(self, call_id: int | None = None) -> list[InterestView]:
        """Every interest (in one call), oldest first, with the member and their region (else the cluster's)."""
        stmt = (select(MemberRow.__table__, ClusterRow.code, ClusterRow.region.label("cluster_region"),
                       InterestRow.call_id.label("interest_call_id"), InterestRow.created_at.label("interest_at"))
                .join(MemberRow, MemberRow.id == InterestRow.member_id)
                .join(ClusterRow, ClusterRow.id == MemberRow.cluster_id)
                .order_by(InterestRow.created_at, InterestRow.member_id))
        if call_id is not None:
            stmt = stmt.where(InterestRow.call_id == call_id)
        with self._tx() as conn:
            rows = list(conn.execute(stmt).mappings())
        return [InterestView(call_id=r["interest_call_id"], member=_member_view(r),
                             region=r["region"] or r["cluster_region"], at=r["interest_at"]) for r in rows]

    def interest_count(self) -> int:
        with self._tx() as conn:
            return int(conn.scalar(select(func.count()).select_from(InterestRow)) or 0)

    def partner_candidates(self) -> list[tuple[MemberView, str | None]]:
        """Active members who agreed to be suggested, with their region (else their cluster's)."""
        stmt = (select(MemberRow.__table__, ClusterRow.code, ClusterRow.region.label("cluster_region"))
                .join(ClusterRow, ClusterRow.id == MemberRow.cluster_id)
                .where(MemberRow.share_profile.is_(True), MemberRow.active.is_(True))
                .order_by(ClusterRow.code, MemberRow.email))
        with self._tx() as conn:
            return [(_member_view(r), r["region"] or r["cluster_region"]) for r in conn.execute(stmt).mappings()]

    def member_region(self, member_id: int) -> str | None:
        stmt = (select(MemberRow.region, ClusterRow.region.label("cluster_region"))
                .join(ClusterRow, ClusterRow.id == MemberRow.cluster_id).where(MemberRow.id == member_id))
        with self._tx() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else (row.region or row.cluster_region)

    def save_sharing(self, member_id: int, version: int, now: datetime, *, share_profile: bool,
                     share_contact: bool) -> bool:
        """A member's own choice to be suggested to partners (and to show their address). False: stale link."""
        with self._tx() as conn:
            done = conn.execute(update(MemberRow).where(MemberRow.id == member_id, MemberRow.token_version == version)
                                .values(share_profile=share_profile, share_contact=share_contact and share_profile,
                                        updated_at=now)).rowcount
        return done == 1

    # -- weekly staff report ---------------------------------------------------------------------------------

    def staff_report_sent(self, period: str) -> bool:
        with self._tx() as conn:
            return conn.scalar(select(StaffReportRow.period).where(StaffReportRow.period == period)) is not None

    def record_staff_report(self, period: str, now: datetime) -> bool:
        """Note that the period's staff report went out; False when it already had."""
        dialect_insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        with self._tx() as conn:
            done = conn.execute(dialect_insert(StaffReportRow).values(period=period, sent_at=now)
                                .on_conflict_do_nothing(index_elements=["period"])).rowcount
        return done == 1

