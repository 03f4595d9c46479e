"""one title link key per deadline day, not per region and day

A call of three regions wrote three title keys a day (`title:<title>|<region>|<day>`), two in five of a new
call's link-key rows (issue #14). The key is now `title:<title>|<day>` and the region is compared when two
calls share it (calltracker.linking.links_by), so calls link exactly as before. Stored title keys are
rewritten: read from the key itself, or, for a key cut to its 512 characters (the title is then lost),
rebuilt from the stored call. Downgrade writes the keys per region again from the calls' regions.

Revision ID: 0011_title_keys_per_day
Revises: 0010_link_key_hash
Create Date: 2026-12-04 12:45:00
"""
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = '0011_title_keys_per_day'
down_revision: str | None = '0010_link_key_hash'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What this revision reads and writes, frozen here: stored keys and digests must not drift with the code.
_KEY_LEN = 512
_BATCH = 5_000
_KEYS = sa.table('call_link_keys', sa.column('call_id', sa.Integer), sa.column('key_hash', sa.BigInteger),
                 sa.column('key', sa.String))
_CALLS = sa.table('calls', sa.column('id', sa.Integer), sa.column('title', sa.Text), sa.column('regions', sa.JSON))
_DEADLINES = sa.table('call_deadlines', sa.column('call_id', sa.Integer), sa.column('at', sa.DateTime),
                      sa.column('timezone', sa.String))
_PER_REGION = re.compile(r"title:([^|]*)\|([a-z]+)\|(\d{4}-\d{2}-\d{2})")  # (a normalised title has no |)
_PER_DAY = re.compile(r"title:([^|]*)\|(\d{4}-\d{2}-\d{2})")
_CUT = re.compile(r".*#[0-9a-f]{64}")


def _key_hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def _distinct_cut(value: str) -> str:
    if len(value) <= _KEY_LEN:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()
    return f"{value[:_KEY_LEN - len(digest) - 1]}#{digest}"


def _normalise_title(title: str) -> str:
    spaced = re.sub(r"[\W_]+", " ", title.lower())
    if not spaced.isascii():
        spaced = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode()
    return " ".join(spaced.split())


def _stored_calls(ids: Iterable[int]) -> dict[int, tuple[str, list[str], list[str]]]:
    """id -> (normalised title, regions, deadline days in their own zones) of the stored calls."""
    conn = op.get_bind()
    wanted = sorted(set(ids))
    out: dict[int, tuple[str, list[str], list[str]]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for r in conn.execute(sa.select(_CALLS).where(_CALLS.c.id.in_(chunk))):
            out[r.id] = (_normalise_title(r.title or ""), sorted(r.regions or []), [])
        rows = conn.execute(sa.select(_DEADLINES).where(_DEADLINES.c.call_id.in_(chunk))
                            .order_by(_DEADLINES.c.call_id, _DEADLINES.c.at))
        for r in rows:
            at = r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC)
            try:
                zone = ZoneInfo(r.timezone)
            except (ValueError, KeyError):
                zone = ZoneInfo("UTC")
            if r.call_id in out:
                out[r.call_id][2].append(at.astimezone(zone).date().isoformat())
    return out


def _rewrite(per_region: bool) -> None:
    """Replace every stored title key by its form in the other layout."""
    conn = op.get_bind()
    stored = [(r.call_id, r.key) for r in conn.execute(
        sa.select(_KEYS.c.call_id, _KEYS.c.key).where(_KEYS.c.key.like('title:%')))]
    if not stored:
        return
    regions_of = {} if not per_region else {i: regions for i, (_, regions, _) in
                                            _stored_calls(i for i, _ in stored).items()}
    keys: set[tuple[int, str]] = set()
    rebuild: set[int] = set()
    for call_id, key in stored:
        old = None if _CUT.fullmatch(key) else (_PER_DAY if per_region else _PER_REGION).fullmatch(key)
        if old is None:
            rebuild.add(call_id)
        elif per_region:
            keys.update((call_id, f"title:{old[1]}|{region}|{old[2]}") for region in regions_of.get(call_id, []))
        else:
            keys.add((call_id, f"title:{old[1]}|{old[3]}"))
    for call_id, (title, regions, days) in _stored_calls(rebuild).items():
        if not (title and regions and days):
            continue
        if per_region:
            keys.update((call_id, f"title:{title}|{region}|{day}") for region in regions for day in days)
        else:
            keys.update((call_id, f"title:{title}|{day}") for day in days)
    conn.execute(sa.delete(_KEYS).where(_KEYS.c.key.like('title:%')))
    rows = sorted({(call_id, _distinct_cut(key)) for call_id, key in keys})
    values = [{"call_id": call_id, "key_hash": _key_hash(key), "key": key} for call_id, key in rows]
    for start in range(0, len(values), _BATCH):
        conn.execute(sa.insert(_KEYS), values[start:start + _BATCH])


def upgrade() -> None:
    _rewrite(per_region=False)


def downgrade() -> None:
    _rewrite(per_region=True)
