"""Clusters, members, their links and preferences."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import RowMapping

from calltracker.errors import InputError
from calltracker.members_csv import MemberInput
from calltracker.storage.base import Repo
from calltracker.storage.schema import (
    DEFAULT_CLUSTERS,
    ClusterRow,
    MemberRow,
)
from calltracker.views import (
    ClusterView,
    MemberView,
)

log = logging.getLogger(__name__)

class MembersRepo(Repo):
    # -- member links and preferences (web) ---------------------------------------------------------------
    # Every write here is keyed by the member id *and* the token version a signed link carried, so a link
    # revoked by bumping token_version can no longer change anything, even in a race.

    def member_for_link(self, member_id: int, version: int) -> MemberView | None:
        """The member a signed link names, or None when it no longer exists or the link was revoked."""
        stmt = (select(MemberRow.__table__, ClusterRow.code).join(ClusterRow, ClusterRow.id == MemberRow.cluster_id)
                .where(MemberRow.id == member_id, MemberRow.token_version == version))
        with self._tx() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else _member_view(row)

    def unsubscribe_member(self, member_id: int, version: int, now: datetime) -> bool:
        """Unsubscribe at once (idempotent: the first time is kept). False when the link matches no member."""
        with self._tx() as conn:
            found = conn.scalar(select(MemberRow.id).where(MemberRow.id == member_id,
                                                           MemberRow.token_version == version))
            if found is None:
                return False
            conn.execute(update(MemberRow).where(MemberRow.id == member_id, MemberRow.unsubscribed_at.is_(None))
                         .values(unsubscribed_at=now, updated_at=now))
        return True

    def save_preferences(self, member_id: int, version: int, now: datetime, *, themes: Sequence[str],
                         language: str, min_fit: int, frequency: str, paused: bool,
                         resubscribe: bool = False) -> bool:
        """Store a member's own choices; `resubscribe` clears unsubscribed_at. False when the link is stale."""
        values: dict[str, Any] = {"themes": list(themes), "language": language, "min_fit": min_fit,
                                  "frequency": frequency, "paused": paused, "updated_at": now}
        if resubscribe:
            values["unsubscribed_at"] = None
        with self._tx() as conn:
            done = conn.execute(update(MemberRow).where(MemberRow.id == member_id,
                                                        MemberRow.token_version == version)
                                .values(**values)).rowcount
        return bool(done)

    def regenerate_feed_token(self, member_id: int, version: int, now: datetime) -> str | None:
        """Replace a member's feed token, so every old feed URL stops working. None when the link is stale."""
        token = secrets.token_urlsafe(24)
        with self._tx() as conn:
            done = conn.execute(update(MemberRow).where(MemberRow.id == member_id,
                                                        MemberRow.token_version == version)
                                .values(feed_token=token, updated_at=now)).rowcount
        return token if done else None

    def member_by_feed_token(self, feed_token: str) -> MemberView | None:
        if not feed_token:
            return None
        stmt = (select(MemberRow.__table__, ClusterRow.code).join(ClusterRow, ClusterRow.id == MemberRow.cluster_id)
                .where(MemberRow.feed_token == feed_token))
        with self._tx() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else _member_view(row)

    # -- clusters and members ----------------------------------------------------------------------------

    def ensure_default_clusters(self) -> None:
        with self._tx() as conn:
            have = {c.upper() for c in conn.scalars(select(ClusterRow.code))}
            rows = [{"code": c, "name": n, "region": r} for c, n, r in DEFAULT_CLUSTERS if c not in have]
            if rows:
                conn.execute(insert(ClusterRow), rows)

    def clusters(self) -> list[ClusterView]:
        with self._tx() as conn:
            return [ClusterView(r.id, r.code, r.name, r.region)
                    for r in conn.execute(select(ClusterRow).order_by(ClusterRow.code))]

    def cluster(self, name: str) -> ClusterView:
        """A cluster by code or name, case-insensitively. Unknown names list the known ones."""
        wanted = name.strip().lower()
        clusters = self.clusters()
        for c in clusters:
            if wanted in (c.code.lower(), c.name.lower()):
                return c
        known = ", ".join(c.code for c in clusters) or "none"
        raise InputError(f'unknown cluster "{name}" (known clusters: {known})')

    def import_members(self, cluster_name: str, members: Sequence[MemberInput], now: datetime) -> tuple[int, int, int]:
        """Create or update members of one cluster in one transaction. Returns (created, updated, unchanged)."""
        cluster = self.cluster(cluster_name)
        created = updated = unchanged = 0
        with self._tx() as conn:
            existing = {r["email"]: r for r in conn.execute(
                select(MemberRow).where(MemberRow.cluster_id == cluster.id)).mappings()}
            for m in members:
                values: dict[str, Any] = {"name": m.name, "organisation": m.organisation, "region": m.region,
                                          "language": m.language, "themes": list(m.themes)}
                if m.share_profile is not None:  # a file without the column leaves the member's own choice
                    values["share_profile"] = m.share_profile
                row = existing.get(m.email)
                if row is None:
                    conn.execute(insert(MemberRow).values(
                        cluster_id=cluster.id, email=m.email, active=True, paused=False, min_fit=0,
                        frequency="weekly", token_version=1, feed_token=secrets.token_urlsafe(24),
                        created_at=now, updated_at=now, **values))
                    created += 1
                elif any(row[k] != v for k, v in values.items()):
                    conn.execute(update(MemberRow).where(MemberRow.id == row["id"]).values(updated_at=now, **values))
                    updated += 1
                else:
                    unchanged += 1
        return created, updated, unchanged

    def members(self, cluster_name: str | None = None, *, receiving_only: bool = False) -> list[MemberView]:
        stmt = (select(MemberRow.__table__, ClusterRow.code).join(ClusterRow, ClusterRow.id == MemberRow.cluster_id)
                .order_by(ClusterRow.code, MemberRow.email))
        if cluster_name:
            stmt = stmt.where(MemberRow.cluster_id == self.cluster(cluster_name).id)
        if receiving_only:
            stmt = stmt.where(MemberRow.active.is_(True), MemberRow.paused.is_(False),
                              MemberRow.unsubscribed_at.is_(None))
        with self._tx() as conn:
            return [_member_view(r) for r in conn.execute(stmt).mappings()]

    def member(self, ref: str | int) -> MemberView:
        """A member by id or email (an email in several clusters must be given as CLUSTER:email)."""
        stmt = select(MemberRow.__table__, ClusterRow.code).join(ClusterRow, ClusterRow.id == MemberRow.cluster_id)
        text = str(ref).strip()
        if text.isdigit():
            stmt = stmt.where(MemberRow.id == int(text))
        elif ":" in text:
            code, _, email = text.partition(":")
            stmt = stmt.where(func.lower(ClusterRow.code) == code.lower(), MemberRow.email == email.lower())
        else:
            stmt = stmt.where(MemberRow.email == text.lower())
        with self._tx() as conn:
            rows = list(conn.execute(stmt).mappings())
        if not rows:
            raise InputError(f'no member "{text}"')
        if len(rows) > 1:
            clusters = ", ".join(f"{r['code']}:{text}" for r in rows)
            raise InputError(f'"{text}" is a member of several clusters; say which: {clusters}')
        return _member_view(rows[0])

    def update_member(self, member_id: int, now: datetime, **values: Any) -> None:
        allowed = {"name", "organisation", "region", "language", "themes", "min_fit", "frequency", "active",
                   "paused", "unsubscribed_at", "token_version", "feed_token", "share_profile", "share_contact"}
        bad = set(values) - allowed
        if bad:
            raise ValueError(f"cannot update member fields {sorted(bad)}")
        with self._tx() as conn:
            conn.execute(update(MemberRow).where(MemberRow.id == member_id).values(updated_at=now, **values))



def _member_view(r: RowMapping) -> MemberView:
    return MemberView(
        id=r["id"], cluster=r["code"], email=r["email"], name=r["name"], organisation=r["organisation"],
        region=r["region"], language=r["language"], themes=tuple(r["themes"] or ()), min_fit=r["min_fit"],
        frequency=r["frequency"], active=r["active"], paused=r["paused"], unsubscribed_at=r["unsubscribed_at"],
        token_version=r["token_version"], feed_token=r["feed_token"], share_profile=bool(r["share_profile"]),
        share_contact=bool(r["share_contact"]))

