"""reliability: scrape runs remember who ran them

A `running` run row left by a killed process is recognised (same host and a dead PID) and closed as
interrupted by the next run of its source.

Revision ID: 0006_reliability
Revises: 0009_consortium
Create Date: 2026-12-03 22:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006_reliability'
down_revision: str | None = '0009_consortium'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('scrape_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scrape_runs', schema=None) as batch_op:
        batch_op.drop_column('holder')
