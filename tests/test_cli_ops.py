"""The CLI as ops and newcomers use it: lazy commands, --config anywhere, read-only commands, exit statuses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from calltracker.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sqlalchemy", "alembic", "httpx", "pydantic", "apscheduler", "jinja2", "starlette", "uvicorn")


def loaded_after(args: list[str]) -> set[str]:
    code = ("import sys\nfrom calltracker.cli import cli\ntry:\n    cli(" + repr(args) + ", prog_name='calltracker')\n"
            "except SystemExit:\n    pass\nprint(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(proc.stdout.split()) & set(HEAVY)


def test_help_imports_no_database_http_or_web_library() -> None:
    assert loaded_after(["--help"]) == set()
    assert loaded_after(["--version"]) == set()


def test_a_command_imports_only_what_it_needs() -> None:
    assert loaded_after(["db", "--help"]) == set()
    assert "sqlalchemy" not in loaded_after(["sources", "list", "--json"])


def test_the_command_summaries_match_each_command_s_own_help() -> None:
    ctx = click.Context(cli)
    for name, (_, _, summary) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.help, name
        assert " ".join(command.help.split()).startswith(summary), name


def test_config_is_accepted_after_the_subcommand(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[sources.esa]\nenabled = false\nbase_url = "https://esa.example.org"\n', encoding="utf-8")
    after = CliRunner().invoke(cli, ["sources", "list", "--json", "--config", str(config)])
    before = CliRunner().invoke(cli, ["--config", str(config), "sources", "list", "--json"])
    assert after.exit_code == 0, after.output
    assert after.stdout == before.stdout and "https://esa.example.org" in after.stdout


@pytest.mark.parametrize("args", [["db", "status"], ["calls", "list"], ["status"]])
def test_config_after_nested_subcommands_is_read(tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(cli, [*args, "--config", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2 and "missing.toml" in result.stderr
