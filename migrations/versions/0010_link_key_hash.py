"""link keys looked up by a 64-bit digest, without a foreign key

call_link_keys was indexed twice on key text of up to 512 characters and checked a foreign key per row:
a new call writes about five keys, and on PostgreSQL these rows cost more than the call itself (issue #14).
The keys are now looked up by a signed 64-bit BLAKE2b digest (key_hash, compared together with the kept
text), the table has no foreign key (its rows are derived from their call and rewritten with it; calls are
never deleted), its primary key leads with the call and, on SQLite, it has no rowid. Existing keys are carried over with their digests.

Revision ID: 0010_link_key_hash
Revises: 0005_quarantine
Create Date: 2026-12-04 01:40:00
"""
import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_link_key_hash'
down_revision: str | None = '0005_quarantine'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5_000


def _key_hash(key: str) -> int:
    """calltracker.linking.key_hash as of this revision (frozen here: stored digests must not drift)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def _read_keys() -> list[tuple[str, int]]:
    return [(r[0], r[1]) for r in op.get_bind().execute(sa.text("SELECT key, call_id FROM call_link_keys"))]


def upgrade() -> None:
    keys = _read_keys()
    op.drop_index('ix_call_link_keys_call_id', table_name='call_link_keys')
    op.drop_table('call_link_keys')
    table = op.create_table('call_link_keys',
    sa.Column('call_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('key_hash', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('key', sa.String(length=512), nullable=False),
    sa.PrimaryKeyConstraint('call_id', 'key_hash', name=op.f('pk_call_link_keys')),
    sqlite_with_rowid=False,
    )
    op.create_index('ix_call_link_keys_key_hash', 'call_link_keys', ['key_hash'], unique=False)
    assert table is not None
    rows = [{"key_hash": _key_hash(key), "call_id": call_id, "key": key} for key, call_id in keys]
    for start in range(0, len(rows), _BATCH):
        op.bulk_insert(table, rows[start:start + _BATCH])


def downgrade() -> None:
    keys = _read_keys()
    op.drop_index('ix_call_link_keys_key_hash', table_name='call_link_keys')
    op.drop_table('call_link_keys')
    table = op.create_table('call_link_keys',
    sa.Column('key', sa.String(length=512), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_link_keys_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', 'call_id', name=op.f('pk_call_link_keys'))
    )
    op.create_index('ix_call_link_keys_call_id', 'call_link_keys', ['call_id'], unique=False)
    assert table is not None
    rows = [{"key": key, "call_id": call_id} for key, call_id in keys]
    for start in range(0, len(rows), _BATCH):
        op.bulk_insert(table, rows[start:start + _BATCH])
