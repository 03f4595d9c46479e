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


# --- helpers ---------------------------------------------------------------------------------------------

def invoke(config: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner(env=env).invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def upgraded(config: Path) -> Path:
    code, out, err = invoke(config, "db", "upgrade")
    assert code == 0, out + err
    return config


# --- #18.2: one database, in the data directory; read-only commands create none ----------------------------

def test_relative_database_and_outbox_paths_live_in_the_data_directory(tmp_path: Path) -> None:
    from calltracker.config import parse_settings

    raw = {"data_dir": str(tmp_path / "data"), "database": {"url": "sqlite:///calltracker.sqlite3"},
           "mail": {"outbox_dir": "outbox"}}
    settings = parse_settings(raw, environ={})
    assert settings.database.url == f"sqlite:///{tmp_path / 'data' / 'calltracker.sqlite3'}"
    assert settings.mail.outbox_dir == str(tmp_path / "data" / "outbox")
    assert not settings.default_database and parse_settings({}, environ={}).default_database


def test_the_example_config_puts_nothing_in_the_working_directory() -> None:
    from calltracker.config import load_settings

    settings = load_settings(ROOT / "config.example.toml", environ={})
    data_dir = Path(settings.data_dir)
    assert Path(settings.database.url.removeprefix("sqlite:///")).parent == data_dir
    assert Path(settings.mail.outbox_dir).parent == data_dir


@pytest.mark.parametrize("args", [["status"], ["calls", "list"], ["db", "status"]])
def test_read_only_commands_refuse_to_create_a_database_and_name_it(config_file: Path, db_url: str,
                                                                    args: list[str]) -> None:
    code, out, err = invoke(config_file, *args)
    if args == ["db", "status"] and db_url.startswith("postgresql"):
        # the database exists, its schema is empty: db status reports that (and creates nothing, below)
        assert code == 0 and "revision: none (empty database)" in out
    else:
        assert code == 1 and out == ""
        assert "no calltracker database at" in err and "creates none" in err and str(config_file) in err
    if db_url.startswith("sqlite"):
        assert not Path(db_url.removeprefix("sqlite:///")).exists(), "no file was created"
        assert db_url in err
    else:
        from calltracker.storage import make_engine, schema_state

        engine = make_engine(db_url)
        assert schema_state(engine) == (None, False), "no table was created"
        engine.dispose()


def test_the_built_in_default_database_is_still_created_by_status(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "CALLTRACKER_CONFIG": "", "CALLTRACKER_DATABASE_URL": ""}
    result = CliRunner(env=env).invoke(cli, ["status"])
    assert result.exit_code == 0, result.output
    database = tmp_path / "xdg" / "calltracker" / "calltracker.sqlite3"
    assert database.exists() and f"database: sqlite:///{database} (config: built-in defaults)" in result.stdout


def test_status_says_which_database_and_shows_times_with_their_zone(config_file: Path, db_url: str) -> None:
    import re
    from datetime import UTC, datetime

    from calltracker.config import load_settings
    from calltracker.storage import Store

    upgraded(config_file)
    store = Store.from_url(load_settings(config_file).database_url())
    run_id = store.start_run("esa", datetime(2026, 7, 1, 6, 0, tzinfo=UTC))
    store.finish_run(run_id, outcome="ok", finished_at=datetime(2026, 7, 1, 6, 1, tzinfo=UTC), seen=3)
    store.close()
    code, out, _ = invoke(config_file, "status")
    assert code == 0
    assert out.splitlines()[0].startswith(f"database: {db_url.split('?')[0]}")
    assert "2026-07-01 08:00 CEST" in out, "the last run in schedule.timezone, with its zone"
    assert re.search(r"scrape\s+0 6 \* \* \*\s+\d{4}-\d\d-\d\d 06:00 CES?T", out)


def test_the_crontab_runs_in_the_same_directory_as_the_systemd_units() -> None:
    crontab = (ROOT / "deploy" / "crontab").read_text(encoding="utf-8")
    unit = (ROOT / "deploy" / "systemd" / "calltracker.service").read_text(encoding="utf-8")
    workdir = next(line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("WorkingDirectory="))
    jobs = [line for line in crontab.splitlines() if "bin/calltracker" in line and not line.startswith("#")]
    assert len(jobs) == 3 and all(f"cd {workdir} && " in line for line in jobs)
