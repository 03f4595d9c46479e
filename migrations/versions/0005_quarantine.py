"""quarantined records

Scraped records that storage cannot keep even after cleaning are kept raw, with the error, in
quarantined_records; the rest of their page is saved (issue #12).

Revision ID: 0005_quarantine
Revises: 0008_documents
Create Date: 2026-12-03 22:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import calltracker.storage

revision: str = '0005_quarantine'
down_revision: str | None = '0008_documents'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('quarantined_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('record', sa.Text(), nullable=False),
    sa.Column('quarantined_at', calltracker.storage.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['scrape_runs.id'], name=op.f('fk_quarantined_records_run_id_scrape_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantined_records'))
    )
    with op.batch_alter_table('quarantined_records', schema=None) as batch_op:
        batch_op.create_index('ix_quarantined_records_source_quarantined_at', ['source', 'quarantined_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('quarantined_records', schema=None) as batch_op:
        batch_op.drop_index('ix_quarantined_records_source_quarantined_at')

    op.drop_table('quarantined_records')
