"""Statement helpers that differ per engine: upserts, and membership tests that keep PostgreSQL plans stable.

`column IN (:v1, ..., :v500)` is a different statement for every list length, and once prepared
PostgreSQL may settle on a generic plan for it that is far slower than a custom one; `column = ANY(:array)`
is one statement with one parameter whatever the length. SQLite has no such planner: plain IN lists there,
in chunks below its limit on bound parameters.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ARRAY, JSON, Float, Text, any_, bindparam, func, literal_column, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")
SQLITE_CHUNK = 5_000


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def chunks(conn: Connection, values: Sequence[T]) -> Iterator[list[T]]:
    """The values in one piece on PostgreSQL (one array parameter), in pieces of a few thousand on SQLite."""
    if not values:
        return
    if is_postgres(conn):
        yield list(values)
        return
    for start in range(0, len(values), SQLITE_CHUNK):
        yield list(values[start:start + SQLITE_CHUNK])


def one_of(conn: Connection, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column = ANY(:array)` on PostgreSQL; on SQLite, ids and texts as `column IN (SELECT value FROM
    json_each(:json))`, other values as `column IN (...)` (use with `chunks`).

    A plain IN list is compiled anew for every length, one bound parameter per value: for a page of 500
    calls and their 2,500 link keys that costs SQLAlchemy more than the query costs SQLite.
    """
    if is_postgres(conn):
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))  # type: ignore[no-any-return]
    if all(type(v) is int or type(v) is str for v in values):  # (not bool: JSON would make it true/false)
        return column.in_(select(literal_column("value")).select_from(  # type: ignore[no-any-return]
            func.json_each(bindparam(None, json.dumps(list(values)), type_=Text()))))
    return column.in_(list(values))  # type: ignore[no-any-return]


def upsert(conn: Connection, table: Any) -> Any:
    """The engine's INSERT with `on_conflict_do_nothing` / `on_conflict_do_update`."""
    if is_postgres(conn):
        return postgresql.insert(table)
    return sqlite.insert(table)


def analyze(conn: Connection, tables: Sequence[str]) -> None:
    """Refresh PostgreSQL's statistics after a bulk load (a fresh table has none until autovacuum runs)."""
    if is_postgres(conn):
        conn.execute(text("ANALYZE " + ", ".join(tables)))


def insert_rows(conn: Connection, table: Any, rows: Sequence[dict[str, Any]], *, conflict: Sequence[str] = (),
                update: Sequence[str] = (), returning: Sequence[str] = ()) -> list[Any]:
    """`insert_columns` of rows given as dicts, all with the same keys."""
    if not rows:
        return []
    return insert_columns(conn, table, {name: [r[name] for r in rows] for name in rows[0]}, conflict=conflict,
                          update=update, returning=returning)


def insert_columns(conn: Connection, table: Any, columns: Mapping[str, Sequence[Any]], *,
                   conflict: Sequence[str] = (), update: Sequence[str] = (),
                   returning: Sequence[str] = ()) -> list[Any]:
    """`INSERT ... ON CONFLICT DO NOTHING` of many rows given column by column (sequences of one length), in the
    cheapest form the engine has; with `update` (and `conflict`), `ON CONFLICT (...) DO UPDATE SET` those
    columns instead. Callers that build many small rows pass columns: no dict per row only to take it apart.

    PostgreSQL: one statement with one binary array parameter per column, whatever the number of rows
    (`returning` columns come back for the rows it inserted). Elsewhere: the driver's executemany (no
    `returning`: SQLite's writer holds the write lock, ask for the ids afterwards).
    """
    if _no_rows(columns):
        return []
    quote = conn.dialect.identifier_preparer.quote
    target = f" ({', '.join(quote(c) for c in conflict)})" if conflict else ""
    action = ("DO UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update)) if update \
        else "DO NOTHING"
    on_conflict = f"ON CONFLICT{target} {action}"
    if is_postgres(conn):
        return _insert_arrays(conn, table, columns, on_conflict, returning)
    if returning:
        raise ValueError("insert_columns returns rows on PostgreSQL only")
    _insert_executemany(conn, table, columns, on_conflict)
    return []


def insert_fresh_columns(conn: Connection, table: Any, columns: Mapping[str, Sequence[Any]]) -> None:
    """Insert rows, given column by column, that nothing stored can clash with: the children of calls this
    transaction inserted, or whose children it has just deleted (a concurrent writer of the same call waits
    on the call's row). A clash raises like any refused statement.

    PostgreSQL: COPY, its cheapest bulk load (a page's thousands of link keys cost about 40% less than as one
    binary-array INSERT ... ON CONFLICT). Elsewhere: the driver's executemany.
    """
    if _no_rows(columns):
        return
    if not is_postgres(conn):
        _insert_executemany(conn, table, columns, "")
        return
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    names = list(columns)
    processed = [_bound(dialect, table.c[name], columns[name]) for name in names]
    sql = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    dbapi = dialect.loaded_dbapi
    try:
        with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
            for row in zip(*processed, strict=True):
                copy.write_row(row)
    except dbapi.Error as exc:  # raised as SQLAlchemy raises the driver's errors (the page is then saved apart)
        raise DBAPIError.instance(sql, None, exc, dbapi.Error, dialect=dialect) from exc


def _processor(dialect: Any, column: Any) -> Any:
    """The column type's bind processor on this dialect (None for most types)."""
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _bound(dialect: Any, column: Any, values: Sequence[Any]) -> Sequence[Any]:
    """The values through the column type's bind processor, once per distinct value where values repeat (a
    page's timestamps, zones, flags, region lists)."""
    process = _processor(dialect, column)
    if process is None:
        return values
    if isinstance(column.type, JSON):
        return _json_bound(process, values)
    seen: dict[Any, Any] = {}
    out = []
    for value in values:
        try:
            done = seen[value]
        except KeyError:
            done = seen[value] = process(value)
        except TypeError:  # unhashable: processed every time
            done = process(value)
        out.append(done)
    return out


def _json_bound(process: Any, values: Sequence[Any]) -> list[Any]:
    """JSON values through their bind processor: lists of text (a call's regions) once per distinct list,
    anything else (a raw payload: nothing to share) every time."""
    seen: dict[tuple[str, ...], Any] = {}
    out = []
    for value in values:
        if type(value) is list and all(type(v) is str for v in value):
            key = tuple(value)
            try:
                done = seen[key]
            except KeyError:
                done = seen[key] = process(value)
        else:
            done = process(value)
        out.append(done)
    return out


def _no_rows(columns: Mapping[str, Sequence[Any]]) -> bool:
    return not columns or not next(iter(columns.values()))


def _insert_executemany(conn: Connection, table: Any, columns: Mapping[str, Sequence[Any]],
                        on_conflict: str) -> None:
    """Each value goes through its column type's bind processor (`_bound`), and SQLAlchemy's per-row statement
    machinery is skipped: on SQLite that machinery costs more than the database's own work.
    """
    dialect = conn.dialect
    names = list(columns)
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in names)}) "
           f"VALUES ({', '.join(mark for _ in names)}) {on_conflict}")
    processed = [_bound(dialect, table.c[name], columns[name]) for name in names]
    conn.exec_driver_sql(sql, list(zip(*processed, strict=True)))


def _insert_arrays(conn: Connection, table: Any, columns: Mapping[str, Sequence[Any]], on_conflict: str,
                   returning: Sequence[str]) -> list[Any]:
    """PostgreSQL: `INSERT INTO table (...) SELECT ... FROM unnest(...) ON CONFLICT ... [RETURNING ...]`.

    Text arrays sent as text must be quoted by the driver and parsed by the server element by element; in
    binary that work all but disappears (five times less for a page's link keys). JSON values travel as text
    (the default serializer, as SQLAlchemy writes them); floats are made floats (a binary array has one type).
    """
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    names = list(columns)
    params: dict[str, list[Any]] = {}
    holders, selects = [], []
    for i, name in enumerate(names):
        column = table.c[name]
        values = list(columns[name])
        if isinstance(column.type, JSON):
            kind, values = "text", [json.dumps(v) for v in values]
            selects.append(f"CAST(u.c{i} AS {column.type.compile(dialect=dialect)})")
        else:
            kind = column.type.compile(dialect=dialect)
            if isinstance(column.type, Float):
                values = [None if v is None else float(v) for v in values]
            else:
                values = list(_bound(dialect, column, values))
            selects.append(f"u.c{i}")
        params[f"c{i}"] = values
        holders.append(f"%(c{i})b::{kind}[]")
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) SELECT {', '.join(selects)} "
           f"FROM unnest({', '.join(holders)}) AS u({', '.join(f'c{i}' for i in range(len(names)))}) {on_conflict}")
    if returning:
        sql += " RETURNING " + ", ".join(quote(c) for c in returning)
        return list(conn.exec_driver_sql(sql, params))
    conn.exec_driver_sql(sql, params)
    return []
