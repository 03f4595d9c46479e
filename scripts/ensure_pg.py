"""Make sure the test PostgreSQL answers and its database exists: `python scripts/ensure_pg.py URL`.

Exit status: 0 ready (the database was created when missing), 3 the server does not answer (the caller may
start it and ask again), 1 anything else (wrong password, no permission to create the database ...), with
one line on stderr saying what was wrong.
"""

from __future__ import annotations

import sys

NOT_ANSWERING = 3


def say(line: str) -> None:
    sys.stderr.write(line + "\n")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def ensure(url: str) -> int:
    try:
        import sqlalchemy as sa
    except ImportError as exc:
        say(f"cannot check PostgreSQL: {exc} (install with: pip install -e '.[postgres]')")
        return 1
    target = sa.make_url(url)
    try:
        engine = sa.create_engine(target)
    except ImportError as exc:
        say(f"cannot reach PostgreSQL: {exc} (install the driver: pip install -e '.[postgres]')")
        return 1
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        return 0
    except sa.exc.OperationalError as exc:
        message = _first_line(exc)
        # psycopg gives connection-time errors no SQLSTATE: the server's own words tell "missing database"
        # (it answered) from "nobody listening".
        if "does not exist" not in message or f'database "{target.database}"' not in message:
            if "FATAL" in message or "password" in message:
                say(f"PostgreSQL at {target.render_as_string()} answers but refused the connection: {message}")
                return 1
            say(f"PostgreSQL at {target.render_as_string()} does not answer: {message}")
            return NOT_ANSWERING
    name = target.database or ""
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote(name)
            conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
    except sa.exc.SQLAlchemyError as exc:
        say(f"PostgreSQL answers but database {name!r} does not exist and could not be created: "
            f"{_first_line(exc)}")
        return 1
    finally:
        admin.dispose()
    say(f"created database {name!r} on {target.render_as_string()}")
    return 0


if __name__ == "__main__":
    sys.exit(ensure(sys.argv[1]))
