"""Storage: SQLAlchemy tables and repositories over one database; the only package that imports sqlalchemy.

One schema serves SQLite (the embedded default) and PostgreSQL. Every timestamp is stored in UTC and comes
back timezone-aware; a deadline also keeps the name of its official zone so it is shown as published.
Saving scraped calls is an idempotent upsert that records field-level changes; nothing is ever deleted
because a source failed or returned less than before.
"""

from __future__ import annotations

from calltracker.errors import one_line
from calltracker.members_csv import MemberInput, RowProblem, parse_member_row, read_members_csv
from calltracker.storage.calls import CallsRepo
from calltracker.storage.classifications import ClassificationsRepo
from calltracker.storage.documents import DocumentsRepo
from calltracker.storage.engine import make_engine, schema_state
from calltracker.storage.interest import InterestRepo
from calltracker.storage.locks import LocksRepo
from calltracker.storage.members import MembersRepo
from calltracker.storage.outbox import OutboxRepo
from calltracker.storage.schema import DeliveryRow, UtcDateTime, metadata
from calltracker.storage.staff import StaffRepo
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
    NewClassification,
    NewDelivery,
    Outcome,
    PageMemo,
    QuarantinedRecord,
    RunView,
    SaveResult,
)


class Store(CallsRepo, LocksRepo, ClassificationsRepo, MembersRepo, OutboxRepo, InterestRepo, StaffRepo,
            DocumentsRepo):
    """Repository over one database. Each method is one transaction."""


__all__ = [
    "CallFilter", "CallView", "ChangeView", "ClassificationView", "ClusterView", "DeliveryRow", "DeliveryView",
    "DueDelivery", "FieldChange", "MemberInput", "MemberView", "NewClassification", "NewDelivery", "Outcome",
    "PageMemo", "QuarantinedRecord", "RowProblem", "RunView",
    "SaveResult", "Store", "UtcDateTime", "make_engine", "metadata", "one_line",
    "parse_member_row", "read_members_csv", "schema_state",
]
