"""scripts/ensure_pg.py, which scripts/test runs before the suite: a fresh server without the test database."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_URL, require_postgres

ENSURE = Path(__file__).resolve().parent.parent / "scripts" / "ensure_pg.py"


def ensure(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ENSURE), url], capture_output=True, text=True, timeout=60)


@pytest.mark.postgres
def test_a_missing_test_database_is_created() -> None:
    require_postgres()
    name = f"ct_missing_{uuid.uuid4().hex[:8]}"
    url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    admin = sa.create_engine(sa.make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        proc = ensure(url)
        assert proc.returncode == 0, proc.stderr
        assert f"created database '{name}'" in proc.stderr
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert conn.scalar(sa.text("select current_database()")) == name
        engine.dispose()
        again = ensure(url)
        assert again.returncode == 0 and again.stderr == ""
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_a_refused_login_says_what_was_wrong_not_that_the_server_is_down() -> None:
    require_postgres()
    url = sa.make_url(PG_URL).set(username=f"nobody_{uuid.uuid4().hex[:6]}").render_as_string(hide_password=False)
    proc = ensure(url)
    assert proc.returncode == 1
    assert "answers but refused the connection" in proc.stderr and "does not exist" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_nobody_listening_is_exit_3_so_the_caller_starts_the_server() -> None:
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        proc = ensure(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test")
    assert proc.returncode == 3, proc.stderr
    assert "does not answer" in proc.stderr
