"""Storage: SQLAlchemy tables and repositories over one database; the only package that imports sqlalchemy.

One schema serves SQLite (the embedded default) and PostgreSQL. Every timestamp is stored in UTC and comes
back timezone-aware; a deadline also keeps the name of its official zone so it is shown as published.
Saving scraped calls is an idempotent upsert that records field-level changes; nothing is ever deleted
because a source failed or returned less than before.
"""

from __future__ import annotations

from calltracker.domain import effective_status
from calltracker.errors import one_line
from calltracker.members_csv import MemberInput, RowProblem, parse_member_row, read_members_csv
from calltracker.storage.calls import CallsRepo
from calltracker.storage.classifications import ClassificationsRepo
from calltracker.storage.engine import make_engine, schema_state
from calltracker.storage.locks import LocksRepo
from calltracker.storage.members import MembersRepo
from calltracker.storage.outbox import OutboxRepo
from calltracker.storage.schema import DeliveryRow, UtcDateTime, metadata
from calltracker.views import (
    CallFilter,
    CallView,
    ChangeView,
    ClassificationView,
    ClusterView,
    DeliveryView,
    DueDelivery,
    FieldChange,
    MemberView,
    NewDelivery,
    Outcome,
    PageMemo,
    RunView,
    SaveResult,
)


class Store(CallsRepo, LocksRepo, ClassificationsRepo, MembersRepo, OutboxRepo):
    """Repository over one database. Each method is one transaction."""


__all__ = [
    "CallFilter", "CallView", "ChangeView", "ClassificationView", "ClusterView", "DeliveryRow", "DeliveryView",
    "DueDelivery", "FieldChange", "MemberInput", "MemberView", "NewDelivery", "Outcome", "PageMemo", "RowProblem",
    "RunView",
    "SaveResult", "Store", "UtcDateTime", "effective_status", "make_engine", "metadata", "one_line",
    "parse_member_row", "read_members_csv", "schema_state",
]
