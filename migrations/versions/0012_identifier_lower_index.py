"""calls indexed on lower(identifier)

A call is looked up by its official identifier case-insensitively (`calltracker show HORIZON-...`,
calltracker.storage.calls.by_identifier compares `lower(identifier)`), which the plain index
ix_calls_identifier never served: every lookup scanned the whole table on both engines (issue #14). The
plain index is replaced by one on the expression. Downgrade restores the plain index.

Revision ID: 0012_identifier_lower_index
Revises: 0011_title_keys_per_day
Create Date: 2026-12-04 17:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_identifier_lower_index'
down_revision: str | None = '0011_title_keys_per_day'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain CREATE/DROP INDEX, not batch mode: on SQLite a batch copy would drop and recreate `calls` (see 0004).
def upgrade() -> None:
    op.drop_index('ix_calls_identifier', table_name='calls')
    op.create_index('ix_calls_identifier_lower', 'calls', [sa.text('lower(identifier)')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_calls_identifier_lower', table_name='calls')
    op.create_index('ix_calls_identifier', 'calls', ['identifier'], unique=False)
