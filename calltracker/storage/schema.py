"""The tables (SQLAlchemy declarative models) and the metadata Alembic compares against."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

log = logging.getLogger(__name__)


DEFAULT_CLUSTERS: tuple[tuple[str, str, str | None], ...] = (
    ("LAC", "Lombardia Aerospace Cluster", "lombardia"),
    ("DAP", "Distretto Aerospaziale Piemonte", "piemonte"),
    ("LIG", "Ligurian aerospace partners", "liguria"),
)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC. Naive datetimes are refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SourceRow(Base):
    __tablename__ = "sources"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(16), default="coded")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    broken_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    broken_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CallRow(Base):
    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_calls_status_next_deadline", "status", "next_deadline_at"),
        Index("ix_calls_last_changed_at", "last_changed_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64), ForeignKey("sources.name"))
    external_id: Mapped[str] = mapped_column(String(255))
    identifier: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    programme: Mapped[str | None] = mapped_column(String(255))
    scope: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    source_status: Mapped[str | None] = mapped_column(String(16))
    opening_date: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The official zone of the opening date, so it is shown as published (None before 0004: Europe/Rome).
    opening_timezone: Mapped[str | None] = mapped_column(String(64))
    #: Closing instants (`Deadline.closes_at`: a date-only deadline closes at the end of its day in its zone),
    #: the soonest still ahead when saved and the last; SQL filters on these follow `Deadline.passed`.
    next_deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    deadline_text: Mapped[str | None] = mapped_column(Text)
    budget_eur: Mapped[float | None] = mapped_column(Float)
    budget_text: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    canonical_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("calls.id", ondelete="SET NULL"))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


#: A call is looked up by its official identifier case-insensitively (`calls.by_identifier`, `calltracker show
#: HORIZON-...`): the index holds `lower(identifier)`, which a plain index on the column does not serve
#: (0012_identifier_lower_index).
Index("ix_calls_identifier_lower", func.lower(CallRow.identifier))


class CallDeadlineRow(Base):
    __tablename__ = "call_deadlines"
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    timezone: Mapped[str] = mapped_column(String(64))
    date_only: Mapped[bool] = mapped_column(Boolean, default=False)
    label: Mapped[str | None] = mapped_column(String(255))


class CallLinkKeyRow(Base):
    """Keys under which another source's record of the same call can be found (see calltracker.linking).

    Looked up by a 64-bit digest of the key (`linking.key_hash`), its text kept beside it and compared on
    every match, so a digest collision never links two calls: two narrow indexes instead of two on text
    of up to 512 characters. No foreign key (0010_link_key_hash): the rows are derived from their call and
    rewritten with it, the match query joins `calls`, and calls are never deleted; a per-row foreign key
    check was the largest cost of saving a new call on PostgreSQL (five keys a call). The primary key leads
    with the call (a new page's keys are appended in order, a changed call's keys deleted by it); on SQLite
    the table has no rowid, one b-tree fewer.
    """

    __tablename__ = "call_link_keys"
    __table_args__ = (Index("ix_call_link_keys_key_hash", "key_hash"), {"sqlite_with_rowid": False})
    call_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    key_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(512))


class CallChangeRow(Base):
    __tablename__ = "call_changes"
    __table_args__ = (Index("ix_call_changes_call_id_changed_at", "call_id", "changed_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scrape_runs.id", ondelete="SET NULL"))
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ClassificationRow(Base):
    __tablename__ = "classifications"
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    rules_version: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(16))
    consortium: Mapped[str] = mapped_column(String(16))
    eligible_lombardia: Mapped[bool] = mapped_column(Boolean)
    eligible_piemonte: Mapped[bool] = mapped_column(Boolean)
    eligible_liguria: Mapped[bool] = mapped_column(Boolean)
    tri_regional_fit: Mapped[bool] = mapped_column(Boolean)
    fit_score: Mapped[int] = mapped_column(Integer)
    fit_reason: Mapped[str] = mapped_column(Text)
    fit_reason_it: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    classified_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CallThemeRow(Base):
    __tablename__ = "call_themes"
    __table_args__ = (Index("ix_call_themes_theme", "theme"),)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(32), primary_key=True)
    score: Mapped[float] = mapped_column(Float)


class ScrapeRunRow(Base):
    __tablename__ = "scrape_runs"
    __table_args__ = (Index("ix_scrape_runs_source_started_at", "source", "started_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64), ForeignKey("sources.name"))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    seen: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    http_stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    #: who ran it (host:pid:...): a `running` row whose holder is gone is taken over (0006_reliability)
    holder: Mapped[str | None] = mapped_column(String(255))


class PageMemoRow(Base):
    __tablename__ = "page_memos"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    memo: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime)


class QuarantinedRecordRow(Base):
    """A scraped record that could not be stored even after cleaning: kept raw with the error, never lost."""

    __tablename__ = "quarantined_records"
    __table_args__ = (Index("ix_quarantined_records_source_quarantined_at", "source", "quarantined_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(255))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scrape_runs.id", ondelete="SET NULL"))
    error: Mapped[str] = mapped_column(Text)
    record: Mapped[str] = mapped_column(Text)
    quarantined_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ClusterRow(Base):
    __tablename__ = "clusters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    region: Mapped[str | None] = mapped_column(String(16))


class MemberRow(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("cluster_id", "email"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id"))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(255), default="")
    organisation: Mapped[str] = mapped_column(String(255), default="")
    region: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="it")
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_fit: Mapped[int] = mapped_column(Integer, default=0)
    frequency: Mapped[str] = mapped_column(String(16), default="weekly")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    feed_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Agreed to be suggested as a partner and named in introductions (organisation, themes, region).
    share_profile: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Agreed that the email address is shown to the members it is suggested or introduced to.
    share_contact: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("member_id", "kind", "period_key"),
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(16))
    period_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DeliveryMessageRow(Base):
    """A queued delivery's message bytes, apart from its row: claiming and finishing a delivery update the
    small row only (SQLite rewrites a whole record on UPDATE, 80 KiB of message included)."""

    __tablename__ = "delivery_messages"
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class CallDocumentRow(Base):
    """The text of a document attached to a call (a PDF "bando", an annex), page by page."""

    __tablename__ = "call_documents"
    __table_args__ = (UniqueConstraint("call_id", "url", name="uq_call_documents_call_id_url"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    name: Mapped[str] = mapped_column(String(512))
    pages: Mapped[list[str]] = mapped_column(JSON, default=list)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime)


class JobLockRow(Base):
    __tablename__ = "job_locks"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class InterestRow(Base):
    """A member's declared interest in bidding for a call (deleted when withdrawn)."""

    __tablename__ = "interests"
    __table_args__ = (Index("ix_interests_member_id", "member_id"),)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StaffAccountRow(Base):
    __tablename__ = "staff_accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StaffSessionRow(Base):
    """A signed-in staff browser. Only a hash of the cookie's secret is stored."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_staff_id", "staff_id"),)
    secret_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LoginAttemptRow(Base):
    """Failed staff logins, by account email and by client address, for the rate limit."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(330))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class StaffReportRow(Base):
    """The weekly staff email of a period, recorded once it went out."""

    __tablename__ = "staff_reports"
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)


metadata = Base.metadata
