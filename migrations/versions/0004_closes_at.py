"""closing instants and the opening date's zone

A date-only deadline ("15/10/2026") closes at the end of that day in its zone, not at its midnight:
`calls.next_deadline_at` and `calls.last_deadline_at` now hold closing instants (`Deadline.closes_at`), so
the SQL filters agree with `Deadline.passed`. Existing rows are recomputed from their deadlines. The new
`calls.opening_timezone` keeps the opening date's official zone (existing rows take their deadlines' zone).

Revision ID: 0004_closes_at
Revises: 0003
Create Date: 2026-12-03 22:20:00
"""
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import calltracker.storage
from calltracker.domain import Deadline, closing_span

revision: str = '0004_closes_at'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_calls = sa.table('calls', sa.column('id', sa.Integer()), sa.column('opening_date', calltracker.storage.UtcDateTime()),
                  sa.column('opening_timezone', sa.String()),
                  sa.column('next_deadline_at', calltracker.storage.UtcDateTime()),
                  sa.column('last_deadline_at', calltracker.storage.UtcDateTime()))
_deadlines = sa.table('call_deadlines', sa.column('call_id', sa.Integer()), sa.column('position', sa.Integer()),
                      sa.column('at', calltracker.storage.UtcDateTime()), sa.column('timezone', sa.String()),
                      sa.column('date_only', sa.Boolean()))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):
        return ZoneInfo('UTC')


def _recompute(use_closing: bool) -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    by_call: dict[int, list[Deadline]] = {}
    zones: dict[int, str] = {}
    rows = conn.execute(sa.select(_deadlines.c.call_id, _deadlines.c.at, _deadlines.c.timezone, _deadlines.c.date_only)
                        .order_by(_deadlines.c.call_id, _deadlines.c.position))
    for call_id, at, zone, date_only in rows:
        zones.setdefault(call_id, zone)
        # A date-only deadline written by the end of its day (23:59:59) stays on that day.
        by_call.setdefault(call_id, []).append(Deadline(at.astimezone(_zone(zone)), bool(date_only)))
    for call_id, deadlines in by_call.items():
        if use_closing:
            next_at, last_at = closing_span(deadlines, now)
        else:
            ahead = [d.at for d in deadlines if d.at >= now]
            next_at, last_at = (min(ahead) if ahead else None), max(d.at for d in deadlines)
        conn.execute(sa.update(_calls).where(_calls.c.id == call_id)
                     .values(next_deadline_at=next_at, last_deadline_at=last_at))
        if use_closing:
            conn.execute(sa.update(_calls).where(_calls.c.id == call_id, _calls.c.opening_date.is_not(None))
                         .values(opening_timezone=zones[call_id]))


# Plain ALTER TABLE, not batch mode: on SQLite a batch copy drops and recreates `calls`, and with foreign keys
# on that deletes every call's deadlines, changes and classification through ON DELETE CASCADE.
def upgrade() -> None:
    op.add_column('calls', sa.Column('opening_timezone', sa.String(length=64), nullable=True))
    _recompute(use_closing=True)


def downgrade() -> None:
    _recompute(use_closing=False)
    op.drop_column('calls', 'opening_timezone')  # SQLite 3.35 and later drop a column in place
