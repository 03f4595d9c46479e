"""A call looked up by its official identifier (`calltracker show HORIZON-...`) reads an index, not the table.

The lookup compares `lower(identifier)`, which a plain index on `identifier` does not serve: the calls table
carries an index on that expression (issue #14). Each test checks the plan of the very statement `get_call`
runs (`calls.by_identifier`), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from calltracker.storage import Store
from calltracker.storage.calls import by_identifier
from tests.test_storage import make_call

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
INDEX = "ix_calls_identifier_lower"


def _plan(conn: Connection, stmt: sa.Select[int]) -> str:
    """The query plan of `stmt` as one text. PostgreSQL is told to avoid sequential scans (in this
    transaction only): on a table this small it would rightly scan it anyway."""
    compiled = stmt.compile(conn, compile_kwargs={"literal_binds": True})
    if conn.dialect.name == "sqlite":
        return "\n".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return "\n".join(str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {compiled}"))


def test_lookup_by_identifier_reads_the_lower_identifier_index(store: Store) -> None:
    ids = store.save_calls("eu_ft", [make_call(f"HORIZON-CL5-2027-D5-01-{i:02}") for i in range(1, 21)],
                           run_id=None, now=NOW).new_ids
    with store.engine.begin() as conn:
        plan = _plan(conn, by_identifier("horizon-cl5-2027-d5-01-07"))
    assert INDEX in plan, plan
    assert store.get_call("horizon-cl5-2027-D5-01-07").id == ids[6]

