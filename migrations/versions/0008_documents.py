"""call documents

The text of documents attached to calls (PDF "bando" and annexes), page by page.

Revision ID: 0008_documents
Revises: 0006_reliability
Create Date: 2026-12-03 22:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import calltracker.storage

revision: str = '0008_documents'
down_revision: str | None = '0006_reliability'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('call_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('pages', sa.JSON(), nullable=False),
    sa.Column('fetched_at', calltracker.storage.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_documents_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_documents')),
    sa.UniqueConstraint('call_id', 'url', name='uq_call_documents_call_id_url')
    )


def downgrade() -> None:
    op.drop_table('call_documents')
