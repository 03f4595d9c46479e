"""A password in the database URL never reaches any output: the error line, --debug tracebacks, logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from calltracker.cli import cli
from calltracker.cli.context import SecretRedactor
from calltracker.errors import redact_urls


@pytest.mark.parametrize("url", [
    "postgresql+psycopgg://calltracker:hunter2@127.0.0.1/test",  # mistyped driver
    "postgresql+psycopg://calltracker:hunter2@127.0.0.1:1/test",  # nothing listening
    "notadriver://calltracker:hunter2@db/x",
])
@pytest.mark.parametrize("debug", [False, True])
def test_the_database_password_is_never_printed(tmp_path: Path, url: str, debug: bool) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[database]\nurl = "{url}"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), *(["--debug"] if debug else []), "status"])
    assert result.exit_code != 0
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "error" in output
    assert "hunter2" not in output
    if debug and "psycopgg" in url:
        assert "Traceback" in output and "calltracker:***@" in output


def test_log_records_lose_url_passwords_even_without_configured_secrets() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "cannot reach %s", ("mysql://u:p4ss@h/db",), None)
    SecretRedactor([]).filter(record)
    assert record.getMessage() == "cannot reach mysql://u:***@h/db"
    assert redact_urls("see 'postgresql://a:b%40c@h/d' and https://example.org/x@y") == (
        "see 'postgresql://a:***@h/d' and https://example.org/x@y")
