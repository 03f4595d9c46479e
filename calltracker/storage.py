"""Storage: SQLAlchemy tables and the repository (`Store`). The only module that imports sqlalchemy.

One schema serves SQLite (the embedded default) and PostgreSQL. Every timestamp is stored in UTC and comes
back timezone-aware; a deadline also keeps the name of its official zone so it is shown as published.
Saving scraped calls is an idempotent upsert that records field-level changes; nothing is ever deleted
because a source failed or returned less than before.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
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
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from calltracker.domain import Deadline, Region, ScrapedCall, Status, Theme, deadline_key, zone_name
from calltracker.errors import InputError, StorageError
from calltracker.linking import link_keys

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
        Index("ix_calls_identifier", "identifier"),
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


class CallDeadlineRow(Base):
    __tablename__ = "call_deadlines"
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    timezone: Mapped[str] = mapped_column(String(64))
    date_only: Mapped[bool] = mapped_column(Boolean, default=False)
    label: Mapped[str | None] = mapped_column(String(255))


class CallLinkKeyRow(Base):
    """Keys under which another source's record of the same call can be found (see calltracker.linking)."""

    __tablename__ = "call_link_keys"
    __table_args__ = (Index("ix_call_link_keys_call_id", "call_id"),)
    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)


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


class PageMemoRow(Base):
    __tablename__ = "page_memos"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    memo: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime)


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


class JobLockRow(Base):
    __tablename__ = "job_locks"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


metadata = Base.metadata

# --- value objects returned by the repository ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldChange:
    call_id: int
    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class SaveResult:
    new_ids: list[int] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)
    unchanged: int = 0
    changes: list[FieldChange] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PageMemo:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    memo: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ClassificationView:
    rules_version: str
    themes: dict[str, float]
    eligible: dict[str, bool]
    scope: str
    consortium: str
    tri_regional_fit: bool
    fit_score: int
    fit_reason: str
    fit_reason_it: str | None
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallView:
    """A stored call with its deadlines and classification, as the CLI, digests and web show it."""

    id: int
    source: str
    external_id: str
    identifier: str | None
    title: str
    summary: str | None
    description: str | None
    url: str
    programme: str | None
    scope: str | None
    status: str
    opening_date: datetime | None
    deadlines: tuple[Deadline, ...]
    deadline_text: str | None
    budget_eur: float | None
    budget_text: str | None
    language: str | None
    regions: tuple[str, ...]
    first_seen_at: datetime
    last_seen_at: datetime
    last_changed_at: datetime
    canonical_id: int | None
    classification: ClassificationView | None

    @property
    def themes(self) -> list[str]:
        return list(self.classification.themes) if self.classification else []

    def to_json(self) -> dict[str, Any]:
        c = self.classification
        return {
            "id": self.id,
            "source": self.source,
            "external_id": self.external_id,
            "identifier": self.identifier,
            "title": self.title,
            "url": self.url,
            "programme": self.programme,
            "scope": self.scope,
            "status": self.status,
            "opening_date": self.opening_date.isoformat() if self.opening_date else None,
            "deadlines": [
                {"at": d.at.isoformat(), "timezone": zone_name(d.at), "date_only": d.date_only, "label": d.label}
                for d in self.deadlines
            ],
            "deadline_text": self.deadline_text,
            "budget_eur": self.budget_eur,
            "budget_text": self.budget_text,
            "language": self.language,
            "summary": self.summary,
            "first_seen_at": self.first_seen_at.isoformat(),
            "last_changed_at": self.last_changed_at.isoformat(),
            "themes": self.themes,
            "eligible": c.eligible if c else None,
            "consortium": c.consortium if c else None,
            "tri_regional_fit": c.tri_regional_fit if c else None,
            "fit_score": c.fit_score if c else None,
            "fit_reason": c.fit_reason if c else None,
        }


@dataclass(frozen=True, slots=True)
class ChangeView:
    call_id: int
    field: str
    old: Any
    new: Any
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class RunView:
    id: int
    source: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    seen: int
    new: int
    changed: int
    unchanged: int
    failed: int
    http_stats: dict[str, Any]
    error: str | None


@dataclass(frozen=True, slots=True)
class ClusterView:
    id: int
    code: str
    name: str
    region: str | None


@dataclass(frozen=True, slots=True)
class MemberView:
    id: int
    cluster: str
    email: str
    name: str
    organisation: str
    region: str | None
    language: str
    themes: tuple[str, ...]
    min_fit: int
    frequency: str
    active: bool
    paused: bool
    unsubscribed_at: datetime | None
    token_version: int
    feed_token: str

    @property
    def receives_mail(self) -> bool:
        return self.active and not self.paused and self.unsubscribed_at is None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "cluster": self.cluster, "email": self.email, "name": self.name,
            "organisation": self.organisation, "region": self.region, "language": self.language,
            "themes": list(self.themes), "min_fit": self.min_fit, "frequency": self.frequency,
            "active": self.active, "paused": self.paused,
            "unsubscribed_at": self.unsubscribed_at.isoformat() if self.unsubscribed_at else None,
        }


@dataclass(frozen=True, slots=True)
class MemberInput:
    email: str
    name: str
    organisation: str
    region: str | None
    language: str
    themes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    message: str


DELIVERY_STATUSES = ("pending", "sent", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A rendered message to put in the outbox: `message` is the whole message, `payload` the envelope and
    what it is about (see delivery.py)."""

    member_id: int
    kind: str
    period_key: str
    subject: str
    message_id: str
    payload: Mapping[str, Any]
    message: bytes | None = None


@dataclass(frozen=True, slots=True)
class DueDelivery:
    id: int
    member_id: int
    kind: str
    period_key: str
    attempts: int
    message_id: str | None
    payload: dict[str, Any]
    email: str
    receives_mail: bool
    message: bytes | None = None


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    member_id: int
    email: str
    kind: str
    period_key: str
    status: str
    attempts: int
    last_error: str | None
    message_id: str | None
    subject: str | None
    created_at: datetime
    claimed_at: datetime | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallFilter:
    open_only: bool = False
    theme: str | None = None
    region: str | None = None
    source: str | None = None
    status: str | None = None
    min_fit: int | None = None
    tri_regional_only: bool = False
    closing_within_days: int | None = None
    text: str | None = None
    changed_since: datetime | None = None
    ids: tuple[int, ...] | None = None
    #: Show a call seen by several sources once (its first record), not once per source.
    canonical_only: bool = False
    limit: int | None = None
    offset: int = 0


# --- pure helpers ------------------------------------------------------------------------------------------

EMAIL_RE = re.compile(r"^[^@\s,;<>\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
REGION_ALIASES: dict[str, str] = {
    "lombardia": "lombardia", "lombardy": "lombardia",
    "piemonte": "piemonte", "piedmont": "piemonte",
    "liguria": "liguria",
}
LANGUAGES = ("it", "en")


def one_line(exc: BaseException | None) -> str:
    """A driver's multi-line message folded into one line."""
    return " ".join(str(exc).split())


def effective_status(call: ScrapedCall, now: datetime) -> str:
    """What status we store: closed when the source says so or the last deadline passed."""
    if call.status is Status.CLOSED:
        return Status.CLOSED.value
    if call.deadlines and max(d.at for d in call.deadlines) < now:
        return Status.CLOSED.value
    if call.status is not None:
        return call.status.value
    if call.opening_date is not None and call.opening_date > now:
        return Status.FORTHCOMING.value
    return Status.OPEN.value


def parse_member_row(row: Mapping[str, str | None]) -> MemberInput:
    """Validate one members CSV row. Raises InputError naming the bad value."""
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    email = cell("email").lower()
    if not email:
        raise InputError("email is empty")
    if not EMAIL_RE.match(email):
        raise InputError(f'email: not an email address: "{cell("email")}"')
    region_text = cell("region")
    region: str | None = None
    if region_text:
        region = REGION_ALIASES.get(region_text.lower())
        if region is None:
            raise InputError(f'region: unknown region "{region_text}" (expected lombardia, piemonte or liguria)')
    language = cell("language").lower() or "it"
    if language not in LANGUAGES:
        raise InputError(f'language: unsupported language "{cell("language")}" (expected it or en)')
    themes: list[str] = []
    known = {t.value for t in Theme}
    for part in cell("themes").split(";"):
        theme = part.strip().lower()
        if not theme:
            continue
        if theme not in known:
            raise InputError(f'themes: unknown theme "{part.strip()}" (known: {", ".join(sorted(known))})')
        if theme not in themes:
            themes.append(theme)
    return MemberInput(email=email, name=cell("name"), organisation=cell("organisation"), region=region,
                       language=language, themes=tuple(themes))


MEMBER_COLUMNS = ("email", "name", "organisation", "region", "language", "themes")


def read_members_csv(text: str) -> tuple[list[tuple[int, MemberInput]], list[RowProblem]]:
    """Parse a members CSV. Returns the valid rows with their line numbers and every rejected row."""
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "email" not in header:
        got = ", ".join(header) or "nothing"
        raise InputError(f"the CSV header must name the columns {', '.join(MEMBER_COLUMNS)}; got: {got}")
    unknown = [h for h in header if h not in MEMBER_COLUMNS]
    if unknown:
        raise InputError(f"unknown CSV column(s): {', '.join(unknown)} (expected {', '.join(MEMBER_COLUMNS)})")
    reader.fieldnames = header
    good: list[tuple[int, MemberInput]] = []
    bad: list[RowProblem] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if None in record:
            bad.append(RowProblem(line, "too many fields"))
            continue
        if not any((v or "").strip() for v in record.values()):
            continue
        try:
            member = parse_member_row(record)
        except InputError as exc:
            bad.append(RowProblem(line, str(exc)))
            continue
        if member.email in seen:
            bad.append(RowProblem(line, f'email: "{member.email}" already given on line {seen[member.email]}'))
            continue
        seen[member.email] = line
        good.append((line, member))
    return good, bad


# --- the repository --------------------------------------------------------------------------------------


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An Engine for the URL, with SQLite set up for concurrent readers and enforced foreign keys."""
    try:
        if url.startswith("sqlite"):
            from pathlib import Path

            from sqlalchemy.engine import make_url

            database = make_url(url).database
            if database and database != ":memory:":
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, echo=echo)
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(url, echo=echo, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise StorageError(f"database.url: cannot use {url!r}: {exc}") from None
    except OSError as exc:
        raise StorageError(f"database.url: cannot create the database folder for {url!r}: {exc}") from None


# Deliveries are claimed and finished once per message sent: built once, these skip the statement
# construction that costs more than the UPDATE itself.
_CLAIM = (update(DeliveryRow)
          .where(DeliveryRow.id == bindparam("delivery_id"), DeliveryRow.status == "pending",
                 or_(DeliveryRow.next_attempt_at.is_(None), DeliveryRow.next_attempt_at <= bindparam("at")),
                 or_(DeliveryRow.claimed_at.is_(None), DeliveryRow.claimed_at < bindparam("stale")))
          .values(claimed_at=bindparam("at"), claimed_by=bindparam("worker"), attempts=DeliveryRow.attempts + 1))
_FINISH = (update(DeliveryRow)
           .where(DeliveryRow.id == bindparam("delivery_id"), DeliveryRow.claimed_by == bindparam("worker"),
                  DeliveryRow.status == "pending")
           .values(status=bindparam("new_status"), last_error=bindparam("error"), claimed_at=None, claimed_by=None,
                   next_attempt_at=bindparam("retry_at"), sent_at=bindparam("sent")))
_FINISH_WITH_PAYLOAD = _FINISH.values(payload=bindparam("new_payload"))


class Store:
    """Repository over one database. Each method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False) -> Store:
        return cls(make_engine(url, echo=echo))

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StorageError(f"database error: {one_line(exc.orig)}") from exc

    def close(self) -> None:
        self.engine.dispose()

    # -- sources and runs --------------------------------------------------------------------------------

    def ensure_sources(self, names: Mapping[str, str], now: datetime) -> None:
        """Make sure a row exists for each configured source (name -> type)."""
        with self._tx() as conn:
            existing = set(conn.scalars(select(SourceRow.name)))
            rows = [{"name": n, "type": t, "created_at": now} for n, t in names.items() if n not in existing]
            if rows:
                conn.execute(insert(SourceRow), rows)

    def start_run(self, source: str, started_at: datetime) -> int:
        self.ensure_sources({source: "coded"}, started_at)
        with self._tx() as conn:
            run_id = conn.execute(
                insert(ScrapeRunRow).values(source=source, started_at=started_at, outcome="running",
                                            http_stats={}).returning(ScrapeRunRow.id)
            ).scalar_one()
        return int(run_id)

    def finish_run(self, run_id: int, *, outcome: str, finished_at: datetime, seen: int = 0, new: int = 0,
                   changed: int = 0, unchanged: int = 0, failed: int = 0,
                   http_stats: Mapping[str, Any] | None = None, error: str | None = None) -> None:
        with self._tx() as conn:
            conn.execute(update(ScrapeRunRow).where(ScrapeRunRow.id == run_id).values(
                outcome=outcome, finished_at=finished_at, seen=seen, new=new, changed=changed,
                unchanged=unchanged, failed=failed, http_stats=dict(http_stats or {}), error=error))

    def runs(self, source: str | None = None, limit: int = 20) -> list[RunView]:
        stmt = select(ScrapeRunRow).order_by(ScrapeRunRow.started_at.desc(), ScrapeRunRow.id.desc()).limit(limit)
        if source:
            stmt = stmt.where(ScrapeRunRow.source == source)
        with self._tx() as conn:
            return [_run_view(r) for r in conn.execute(stmt).mappings()]

    def last_runs(self) -> dict[str, RunView]:
        """The latest finished-or-running run of every source."""
        latest = (select(ScrapeRunRow.source, func.max(ScrapeRunRow.id).label("id"))
                  .group_by(ScrapeRunRow.source).subquery())
        stmt = select(ScrapeRunRow).join(latest, ScrapeRunRow.id == latest.c.id)
        with self._tx() as conn:
            return {r["source"]: _run_view(r) for r in conn.execute(stmt).mappings()}

    def last_good_seen(self, source: str) -> int | None:
        stmt = (select(ScrapeRunRow.seen).where(ScrapeRunRow.source == source, ScrapeRunRow.outcome == "ok")
                .order_by(ScrapeRunRow.id.desc()).limit(1))
        with self._tx() as conn:
            return conn.scalar(stmt)

    def consecutive_failures(self, source: str) -> int:
        stmt = (select(ScrapeRunRow.outcome).where(ScrapeRunRow.source == source,
                                                   ScrapeRunRow.outcome != "running")
                .order_by(ScrapeRunRow.id.desc()).limit(200))
        count = 0
        with self._tx() as conn:
            for outcome in conn.scalars(stmt):
                if outcome == "ok":
                    break
                if outcome == "failed":
                    count += 1
        return count

    def set_source_broken(self, source: str, *, since: datetime | None, notified_at: datetime | None) -> None:
        with self._tx() as conn:
            conn.execute(update(SourceRow).where(SourceRow.name == source)
                         .values(broken_since=since, broken_notified_at=notified_at))

    def source_states(self) -> dict[str, tuple[datetime | None, datetime | None]]:
        """name -> (broken_since, broken_notified_at)."""
        with self._tx() as conn:
            return {r.name: (r.broken_since, r.broken_notified_at) for r in conn.execute(select(SourceRow))}

    # -- page memos (conditional requests) ---------------------------------------------------------------

    def get_page_memo(self, key: str) -> PageMemo | None:
        with self._tx() as conn:
            row = conn.execute(select(PageMemoRow).where(PageMemoRow.key == key)).mappings().first()
        if row is None:
            return None
        return PageMemo(url=row["url"], etag=row["etag"], last_modified=row["last_modified"],
                        content_hash=row["content_hash"], memo=row["memo"] or {})

    def put_page_memo(self, key: str, memo: PageMemo, now: datetime | None = None) -> None:
        values = {"url": memo.url, "etag": memo.etag, "last_modified": memo.last_modified,
                  "content_hash": memo.content_hash, "memo": dict(memo.memo),
                  "fetched_at": now or datetime.now(UTC)}
        with self._tx() as conn:
            done = conn.execute(update(PageMemoRow).where(PageMemoRow.key == key).values(**values)).rowcount
            if not done:
                conn.execute(insert(PageMemoRow).values(key=key, **values))

    # -- job locks (scheduler) ----------------------------------------------------------------------------

    def acquire_job_lock(self, name: str, holder: str, now: datetime, lease_seconds: float) -> bool:
        """Take the lock of job `name` for `holder` until now + lease, unless someone else holds it unexpired.

        An expired lock (its holder died or hung) is taken over with a conditional UPDATE; a missing one is
        created with an INSERT that loses cleanly to a concurrent INSERT. Not re-entrant: a holder that
        already has the lock does not get it twice.
        """
        expires = now + timedelta(seconds=lease_seconds)
        values = {"holder": holder, "acquired_at": now, "expires_at": expires}
        with self._tx() as conn:
            taken = conn.execute(update(JobLockRow).where(JobLockRow.name == name, JobLockRow.expires_at <= now)
                                 .values(**values)).rowcount
            if taken:
                return True
            if conn.scalar(select(JobLockRow.name).where(JobLockRow.name == name)) is not None:
                return False
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

    def find_calls(self, flt: CallFilter = CallFilter(), *, now: datetime | None = None) -> list[CallView]:
        now = now or datetime.now(UTC)
        stmt = select(CallRow.id)
        conds: list[ColumnElement[bool]] = []
        if flt.ids is not None:
            conds.append(CallRow.id.in_(flt.ids))
        if flt.canonical_only:
            conds.append(CallRow.canonical_id.is_(None))
        if flt.open_only:
            conds.append(CallRow.status != Status.CLOSED.value)
            conds.append(or_(CallRow.last_deadline_at.is_(None), CallRow.last_deadline_at >= now))
        if flt.status:
            conds.append(CallRow.status == flt.status)
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

    # -- classification ----------------------------------------------------------------------------------

    def save_classification(self, call_id: int, *, rules_version: str, themes: Mapping[str, float],
                            eligible: Mapping[str, bool], scope: str, consortium: str, tri_regional_fit: bool,
                            fit_score: int, fit_reason: str, fit_reason_it: str | None,
                            evidence: Mapping[str, Any], now: datetime) -> None:
        values = {
            "rules_version": rules_version, "scope": scope, "consortium": consortium,
            "eligible_lombardia": bool(eligible.get("lombardia")),
            "eligible_piemonte": bool(eligible.get("piemonte")),
            "eligible_liguria": bool(eligible.get("liguria")),
            "tri_regional_fit": tri_regional_fit, "fit_score": fit_score, "fit_reason": fit_reason,
            "fit_reason_it": fit_reason_it, "evidence": dict(evidence), "classified_at": now,
        }
        with self._tx() as conn:
            done = conn.execute(update(ClassificationRow).where(ClassificationRow.call_id == call_id)
                                .values(**values)).rowcount
            if not done:
                conn.execute(insert(ClassificationRow).values(call_id=call_id, **values))
            conn.execute(delete(CallThemeRow).where(CallThemeRow.call_id == call_id))
            if themes:
                conn.execute(insert(CallThemeRow), [{"call_id": call_id, "theme": t, "score": float(s)}
                                                    for t, s in themes.items()])

    def calls_to_classify(self, rules_version: str) -> list[int]:
        """Calls never classified, classified by other rules, or changed since they were classified."""
        stmt = (select(CallRow.id).outerjoin(ClassificationRow, ClassificationRow.call_id == CallRow.id)
                .where(or_(ClassificationRow.call_id.is_(None), ClassificationRow.rules_version != rules_version,
                           ClassificationRow.classified_at < CallRow.last_changed_at))
                .order_by(CallRow.id))
        with self._tx() as conn:
            return list(conn.scalars(stmt))

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
                values = {"name": m.name, "organisation": m.organisation, "region": m.region,
                          "language": m.language, "themes": list(m.themes)}
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
                   "paused", "unsubscribed_at", "token_version", "feed_token"}
        bad = set(values) - allowed
        if bad:
            raise ValueError(f"cannot update member fields {sorted(bad)}")
        with self._tx() as conn:
            conn.execute(update(MemberRow).where(MemberRow.id == member_id).values(updated_at=now, **values))

    # -- deliveries and alerts (digests) ------------------------------------------------------------------

    def add_deliveries(self, rows: Sequence[NewDelivery], now: datetime) -> int:
        """Write deliveries to the outbox as pending; one that exists (member, kind, period) is left alone.

        Returns how many were added. Safe against a concurrent sender adding the same keys.
        """
        if not rows:
            return 0
        from sqlalchemy.dialects import postgresql, sqlite

        dialect_insert: Any = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        values = [{"member_id": r.member_id, "kind": r.kind, "period_key": r.period_key, "status": "pending",
                   "attempts": 0, "message_id": r.message_id, "subject": r.subject, "payload": dict(r.payload),
                   "created_at": now} for r in rows]
        messages = {(r.member_id, r.kind, r.period_key): r.message for r in rows if r.message is not None}
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
            messages: dict[int, bytes] = dict(conn.execute(
                select(DeliveryMessageRow.delivery_id, DeliveryMessageRow.data)
                .where(DeliveryMessageRow.delivery_id.in_([r.id for r in rows]))).all()) if rows else {}
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
                                                   DeliveryRow.status == "pending")
                         .values(claimed_at=None, claimed_by=None, attempts=DeliveryRow.attempts - 1))

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
    future = [d.at for d in call.deadlines if d.at >= now]
    return {
        "identifier": call.identifier, "title": call.title, "summary": call.summary,
        "description": call.description, "url": call.url, "programme": call.programme,
        "scope": call.scope.value if call.scope else None,
        "status": effective_status(call, now),
        "source_status": call.status.value if call.status else None,
        "opening_date": call.opening_date,
        "next_deadline_at": min(future) if future else None,
        "last_deadline_at": max(d.at for d in call.deadlines) if call.deadlines else None,
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
            programme=r["programme"], scope=r["scope"], status=r["status"], opening_date=r["opening_date"],
            deadlines=deadlines.get(call_id, ()), deadline_text=r["deadline_text"], budget_eur=r["budget_eur"],
            budget_text=r["budget_text"], language=r["language"], regions=tuple(r["regions"] or ()),
            first_seen_at=r["first_seen_at"], last_seen_at=r["last_seen_at"],
            last_changed_at=r["last_changed_at"], canonical_id=r["canonical_id"], classification=cview))
    return views


def _run_view(r: RowMapping) -> RunView:
    return RunView(id=r["id"], source=r["source"], started_at=r["started_at"], finished_at=r["finished_at"],
                   outcome=r["outcome"], seen=r["seen"], new=r["new"], changed=r["changed"],
                   unchanged=r["unchanged"], failed=r["failed"], http_stats=r["http_stats"] or {},
                   error=r["error"])


def _member_view(r: RowMapping) -> MemberView:
    return MemberView(
        id=r["id"], cluster=r["code"], email=r["email"], name=r["name"], organisation=r["organisation"],
        region=r["region"], language=r["language"], themes=tuple(r["themes"] or ()), min_fit=r["min_fit"],
        frequency=r["frequency"], active=r["active"], paused=r["paused"], unsubscribed_at=r["unsubscribed_at"],
        token_version=r["token_version"], feed_token=r["feed_token"])


def _jsonable(value: Any) -> Any:
    """Raw payloads go into a JSON column: make sure they survive the round trip."""
    return json.loads(json.dumps(value, default=str))


# --- schema management -----------------------------------------------------------------------------------


def schema_state(engine: Engine) -> tuple[str | None, bool]:
    """(current alembic revision or None, whether the database has any calltracker table)."""
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            revision = None
            if "alembic_version" in tables:
                revision = conn.scalar(select(func.max(_alembic_version_column())))
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot open the database: {one_line(getattr(exc, 'orig', None) or exc)}") from None
    return revision, bool(tables & set(metadata.tables))


def _alembic_version_column() -> Any:
    from sqlalchemy import column, table

    return table("alembic_version", column("version_num")).c.version_num


__all__ = [
    "CallFilter", "CallView", "ChangeView", "ClassificationView", "ClusterView", "DeliveryView", "DueDelivery",
    "FieldChange", "NewDelivery",
    "MemberInput", "MemberView", "PageMemo", "Region", "RowProblem", "RunView", "SaveResult", "Store",
    "effective_status", "make_engine", "metadata", "parse_member_row", "read_members_csv", "schema_state",
]
