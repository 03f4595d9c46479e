from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from calltracker.cli import cli
from calltracker.config import documented_keys, load_settings, parse_settings
from calltracker.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_need_no_file(tmp_path: Path) -> None:
    settings = load_settings(None, environ={})
    assert settings.database.url.startswith("sqlite:///")
    assert settings.database.url.endswith("calltracker.sqlite3")
    assert settings.mail.transport == "outbox"
    assert settings.mail.outbox_dir.endswith("outbox")
    assert settings.origin == "built-in defaults"
    assert set(settings.enabled_sources()) >= {"eu_ft", "lombardia", "piemonte", "liguria", "incentivi"}


def test_config_env_var_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[mail]\nsmtp_port = 2525\n[sources.eu_ft]\nenabled = false\n', encoding="utf-8")
    settings = load_settings(None, environ={"CALLTRACKER_CONFIG": str(path)})
    assert settings.mail.smtp_port == 2525
    assert "eu_ft" not in settings.enabled_sources()
    assert settings.sources["eu_ft"].base_url == "https://api.tech.ec.europa.eu"  # default kept


def test_error_names_dotted_key_and_value() -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings({"mail": {"smtp_port": "twenty-five"}}, environ={})
    assert str(err.value) == 'mail.smtp_port: expected an integer, got "twenty-five"'


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"mail": {"smtp_prot": 25}}, "mail.smtp_prot: unknown key"),
        ({"web": {"base_url": "bandi.example.org"}},
         'web.base_url: expected an http/https URL, got "bandi.example.org"'),
        ({"schedule": {"digest": "0 7 * *"}}, "schedule.digest: expected a cron expression of 5 fields"),
        ({"schedule": {"scrape": "0 25 * * *"}}, 'schedule.scrape: expected a cron expression, got "0 25 * * *"'),
        ({"schedule": {"timezone": "Europe/Milano"}}, "schedule.timezone: expected an IANA time zone"),
        ({"mail": {"transport": "pigeon"}}, "mail.transport: expected one of"),
        ({"database": {"url": "mysql://x/y"}}, "database.url: expected sqlite:///PATH"),
        ({"sources": {"eu_ft": {"base_url": 42}}}, "sources.eu_ft.base_url: expected a string, got 42"),
        ({"sources": {"eu_ft": {"colour": "red"}}}, 'sources.eu_ft.colour: unknown key (value "red")'),
        ({"sources": {"nowhere": {"base_url": "https://x.org"}}}, "sources.nowhere: no coded source"),
        ({"http": {"respect_robots": "yes"}}, 'http.respect_robots: expected true or false, got "yes"'),
    ],
)
def test_each_bad_value_is_one_clear_line(raw: dict, expected: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as err:
        parse_settings(raw, environ={})
    assert str(err.value).startswith(expected)
    assert "\n" not in str(err.value)


def test_secrets_come_from_environment_and_files(tmp_path: Path) -> None:
    secret = tmp_path / "smtp_password"
    secret.write_text("s3cret\n", encoding="utf-8")
    settings = parse_settings(
        {"database": {"url": "postgresql+psycopg://ct@db.example.org/ct"}},
        environ={"CALLTRACKER_SMTP_PASSWORD_FILE": str(secret), "CALLTRACKER_DATABASE_PASSWORD": "p@ss",
                 "CALLTRACKER_SIGNING_KEY": "k" * 32},
    )
    assert settings.mail.smtp_password == "s3cret"
    assert settings.web.signing_key == "k" * 32
    assert settings.database_url() == "postgresql+psycopg://ct:p%40ss@db.example.org/ct"


def test_unreadable_secret_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CALLTRACKER_SMTP_PASSWORD_FILE: cannot read secret file"):
        parse_settings({}, environ={"CALLTRACKER_SMTP_PASSWORD_FILE": str(tmp_path / "missing")})


def test_example_config_is_valid_and_documents_every_key() -> None:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    parse_settings(raw, environ={})
    # Commented-out keys count as documented: uncomment them for the check.
    uncommented = tomllib.loads(re.sub(r"(?m)^# ?(\w+ = )", r"\1", text))
    present: set[str] = set()

    def walk(table: dict, prefix: str) -> None:  # type: ignore[type-arg]
        for key, value in table.items():
            if prefix == "sources.":
                for sub in value:
                    present.add(f"sources.NAME.{sub}")
            elif isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                present.add(f"{prefix}{key}")

    walk(uncommented, "")
    missing = [k for k in documented_keys() if k not in present]
    assert missing == []


def test_cli_reports_bad_config_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[mail]\nsmtp_port = "twenty-five"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "status"])
    assert result.exit_code == 2
    assert result.output.strip() == 'config error: mail.smtp_port: expected an integer, got "twenty-five"'


def test_cli_reports_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[mail\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "sources", "list"])
    assert result.exit_code == 2
    assert "not valid TOML" in result.output
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "nope.toml"), "sources", "list"])
    assert result.exit_code == 2
    assert "cannot read config file" in result.output


def test_the_coded_sources_in_the_example_config_are_those_of_the_specs() -> None:
    from scrapers import example_toml

    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    assert example_toml() in text, "config.example.toml is stale: paste the output of `python -m scrapers`"


@pytest.mark.parametrize(("table", "message"), [
    ({"esa": {"page_size": "fifty"}}, 'sources.esa.page_size: expected an integer, got "fifty"'),
    ({"piemonte": {"max_pages": 15.5}}, "sources.piemonte.max_pages: expected an integer, got 15.5"),
    ({"liguria": {"filse": "no"}}, 'sources.liguria.filse: expected true or false, got "no"'),
    ({"liguria": {"regione_url": "https://www.regione.liguria.it"}},
     'sources.liguria.regione_url: unknown key (value "https://www.regione.liguria.it")'),
    ({"piemonte": {"feeds": "/rss.xml"}}, 'sources.piemonte.feeds: expected a list, got "/rss.xml"'),
])
def test_a_bad_source_option_names_the_dotted_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings({"sources": table}, environ={})
    assert str(err.value) == message
