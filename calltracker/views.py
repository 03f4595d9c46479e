"""Read models the core shares with storage, the CLI, digests and the web: plain frozen dataclasses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from calltracker.domain import Deadline, Status, Theme, next_deadline, stored_status_at, zone_name

# --- value objects returned by the repository ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldChange:
    call_id: int
    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class QuarantinedRecord:
    """A scraped record storage could not keep, kept raw (JSON text of the record as scraped) with the error."""

    source: str
    external_id: str
    error: str
    record: str
    quarantined_at: datetime
    run_id: int | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class SaveResult:
    new_ids: list[int] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)
    unchanged: int = 0
    changes: list[FieldChange] = field(default_factory=list)
    quarantined: list[QuarantinedRecord] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PageMemo:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    memo: Mapping[str, Any] = field(default_factory=dict)
    fetched_at: datetime | None = None  # when the page was last fetched (parsed or confirmed unchanged)


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

    def status_at(self, now: datetime) -> str:
        """The stored status, except that a call whose every deadline has passed is closed even before the
        next run's `close_expired` writes it (pages and feeds are read between runs)."""
        return stored_status_at(self.status, self.deadlines, now)

    def is_open_at(self, now: datetime) -> bool:
        """Open or forthcoming at `now`, by `Deadline.passed` (date-only deadlines last all their day)."""
        return self.status_at(now) != Status.CLOSED.value

    def next_deadline(self, now: datetime) -> Deadline | None:
        return next_deadline(self.deadlines, now)

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
    share_profile: bool = False
    share_contact: bool = False

    @property
    def receives_mail(self) -> bool:
        return self.active and not self.paused and self.unsubscribed_at is None

    def wants(self, call: CallView) -> bool:
        """Whether a call matches this member: the digest, alerts and personal feeds all ask this."""
        return member_wants(self.themes, self.region, self.min_fit, call.classification)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "cluster": self.cluster, "email": self.email, "name": self.name,
            "organisation": self.organisation, "region": self.region, "language": self.language,
            "themes": list(self.themes), "min_fit": self.min_fit, "frequency": self.frequency,
            "active": self.active, "paused": self.paused,
            "unsubscribed_at": self.unsubscribed_at.isoformat() if self.unsubscribed_at else None,
            "share_profile": self.share_profile, "share_contact": self.share_contact,
        }


ALL_THEMES = frozenset(t.value for t in Theme)


class _Classified(Protocol):
    @property
    def themes(self) -> Mapping[str, float]: ...
    @property
    def eligible(self) -> Mapping[str, bool]: ...
    @property
    def fit_score(self) -> int: ...


def member_wants(themes: Iterable[str], region: str | None, min_fit: int, c: _Classified | None) -> bool:
    """A member's interest in a classified call: one of their themes (no themes chosen means every cluster
    theme, not every call), at least their minimum fit, and their region eligible (a member cannot apply
    where their region is not). An unclassified call matches no one."""
    wanted = set(themes) or ALL_THEMES
    if c is None or not wanted & set(c.themes):
        return False
    if c.fit_score < min_fit:
        return False
    return not (region and not c.eligible.get(region, False))


#: "sending": claimed and handed to the mail server (recorded before DATA); "in_doubt": a sender died while
#: sending it, and the `mail.in_doubt = "hold"` policy keeps it for staff rather than risk a duplicate.
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "cancelled", "in_doubt")


@dataclass(frozen=True, slots=True)
class NewClassification:
    """A classification to store for one call (see tagging.py); themes map a theme to its score."""

    call_id: int
    rules_version: str
    themes: Mapping[str, float]
    eligible: Mapping[str, bool]
    scope: str
    consortium: str
    tri_regional_fit: bool
    fit_score: int
    fit_reason: str
    fit_reason_it: str | None
    evidence: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A rendered message to put in the outbox: `message` is the whole message, `payload` the envelope and
    what it is about (see delivery.py)."""

    member_id: int
    kind: str
    period_key: str
    subject: str | None
    message_id: str | None
    payload: Mapping[str, Any]
    message: bytes | None = None
    #: Set when the message could not be built: the delivery is written as failed with this reason.
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one claimed delivery ended: sent, failed, cancelled, or pending again (a retry at `retry_at`)."""

    delivery_id: int
    status: str
    at: datetime
    error: str | None = None
    retry_at: datetime | None = None
    payload: Mapping[str, Any] | None = None


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

