"""Configuration: TOML + environment -> validated, frozen settings.

Found by `--config PATH`, else `$CALLTRACKER_CONFIG`, else built-in defaults (an SQLite file in the per-user
data directory, mail written as .eml files to an outbox folder). Secrets may come from environment
variables or from `*_FILE` variables naming a file that holds them.

Every error is one line naming the dotted key and the value, raised as ConfigError before anything runs.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from calltracker import __version__
from calltracker.errors import ConfigError

APP_NAME = "calltracker"
ENV_CONFIG = "CALLTRACKER_CONFIG"

#: Secrets: config key -> environment variable. `<VAR>_FILE` names a file holding the value.
SECRET_ENV: dict[str, str] = {
    "database.password": "CALLTRACKER_DATABASE_PASSWORD",
    "mail.smtp_password": "CALLTRACKER_SMTP_PASSWORD",
    "web.signing_key": "CALLTRACKER_SIGNING_KEY",
}
#: Non-secret overrides that ops commonly set from the environment.
ENV_OVERRIDES: dict[str, str] = {"database.url": "CALLTRACKER_DATABASE_URL"}

#: The real sources and where they live. A config file may override any key or disable a source.
DEFAULT_SOURCES: dict[str, dict[str, Any]] = {
    "eu_ft": {"base_url": "https://api.tech.ec.europa.eu"},
    "lombardia": {"base_url": "https://www.dati.lombardia.it"},
    "piemonte": {"base_url": "https://bandi.regione.piemonte.it"},
    "liguria": {"base_url": "https://www.filse.it"},
    "incentivi": {"base_url": "https://www.incentivi.gov.it"},
    "esa": {"base_url": "https://esastar-publication-ext.sso.esa.int"},
}

_CRON_FIELDS = 5


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _no_line_breaks(value: str) -> str:
    """Header text (a display name, a List-Id): a line break or other control character would forge headers."""
    bad = next((c for c in value if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise ValueError(f"control character {bad!r} not allowed in {value!r}")
    return value


def _check_url(value: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ValueError(f"expected an {'/'.join(schemes)} URL, got \"{value}\"")
    return value


class DatabaseSettings(_Section):
    url: str = ""
    password: str | None = None
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError(f"expected sqlite:///PATH or postgresql+psycopg://..., got \"{value}\"")
        return value


class HttpSettings(_Section):
    user_agent: str = f"calltracker/{__version__} (+https://github.com/lac-dap/calltracker)"
    timeout: float = Field(30.0, gt=0, le=600)
    max_retries: int = Field(4, ge=0, le=20)
    retry_max_wait: float = Field(120.0, ge=0, le=3600)
    min_delay: float = Field(1.0, ge=0, le=600)
    concurrency: int = Field(1, ge=1, le=16)
    max_response_bytes: int = Field(20_000_000, gt=0, le=1_000_000_000)
    max_redirects: int = Field(5, ge=0, le=30)
    respect_robots: bool = True


class ScrapeSettings(_Section):
    broken_after: int = Field(3, ge=1, le=1000)
    shrink_ratio: float = Field(0.5, ge=0, le=1)


class MailSettings(_Section):
    transport: Literal["outbox", "smtp"] = "outbox"
    outbox_dir: str = ""
    smtp_host: str = "localhost"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = Field(30.0, gt=0, le=600)
    from_address: str = "calltracker@localhost"
    from_name: str = "calltracker"
    reply_to: str | None = None
    staff_addresses: list[str] = Field(default_factory=list)
    #: A delivery a killed sender left "sending" (the server may have it): "resend" it with the same
    #: Message-ID after the claim lease (never lost, perhaps twice), or "hold" it as in_doubt for staff.
    in_doubt: Literal["resend", "hold"] = "resend"

    @field_validator("from_name")
    @classmethod
    def _header_text(cls, value: str) -> str:
        return _no_line_breaks(value)

    @field_validator("from_address", "reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+", value):
            raise ValueError(f"expected an email address, got \"{value}\"")
        return value

    @field_validator("staff_addresses")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for item in value:
            cls._address(item)
        return value


class WebSettings(_Section):
    base_url: str = "http://127.0.0.1:8080"
    signing_key: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value).rstrip("/")

    @field_validator("signing_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode("utf-8")) < 32:
            raise ValueError(f"a signing key needs at least 32 bytes, got {len(value.encode('utf-8'))}")
        return value


class DigestSettings(_Section):
    closing_soon_days: int = Field(45, ge=1, le=366)
    alert_lead_days: list[int] = Field(default_factory=lambda: [30, 14, 3])
    nothing_new_note: bool = False
    list_id: str = "calltracker.lac-dap.it"

    @field_validator("list_id")
    @classmethod
    def _header_text(cls, value: str) -> str:
        return _no_line_breaks(value)


class ScheduleSettings(_Section):
    timezone: str = "Europe/Rome"
    scrape: str = "0 6 * * *"
    digest: str = "0 7 * * mon"
    alerts: str = "30 7 * * *"
    misfire_grace_seconds: int = Field(3600, ge=1, le=7 * 86400)
    lock_lease_seconds: int = Field(3600, ge=10, le=7 * 86400)
    healthcheck_url: str | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"expected an IANA time zone, got \"{value}\"") from None
        return value

    @field_validator("scrape", "digest", "alerts")
    @classmethod
    def _cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        if len(value.split()) != _CRON_FIELDS:
            raise ValueError(f"expected a cron expression of 5 fields, got \"{value}\"")
        try:
            CronTrigger.from_crontab(value)
        except ValueError:
            raise ValueError(f"expected a cron expression, got \"{value}\"") from None
        return value

    @field_validator("healthcheck_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value)


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class SourceSettings(BaseModel):
    """One `[sources.NAME]` table. Keys beyond the common ones are checked against the scraper."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    enabled: bool = True
    base_url: str
    type: Literal["coded", "rss", "html", "json"] = "coded"
    min_delay: float | None = Field(None, ge=0, le=600)
    concurrency: int | None = Field(None, ge=1, le=16)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value).rstrip("/")

    def options(self) -> dict[str, Any]:
        """The whole table as a plain dict: what a scraper's constructor receives."""
        return self.model_dump()


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    http: HttpSettings = HttpSettings()
    scrape: ScrapeSettings = ScrapeSettings()
    mail: MailSettings = MailSettings()
    web: WebSettings = WebSettings()
    digest: DigestSettings = DigestSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    logging: LoggingSettings = LoggingSettings()
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    data_dir: str = ""
    #: Where the settings came from (a path, or "built-in defaults"); not a config key.
    origin: str = Field("built-in defaults", exclude=True)

    @model_validator(mode="after")
    def _fill_paths(self) -> Settings:
        data_dir = Path(self.data_dir).expanduser() if self.data_dir else default_data_dir()
        object.__setattr__(self, "data_dir", str(data_dir))
        if not self.database.url:
            url = f"sqlite:///{data_dir / 'calltracker.sqlite3'}"
            object.__setattr__(self.database, "url", url)
        if not self.mail.outbox_dir:
            object.__setattr__(self.mail, "outbox_dir", str(data_dir / "outbox"))
        return self

    def database_url(self) -> str:
        """The database URL with the password (from config or environment) filled in."""
        url = self.database.url
        if self.database.password and url.startswith("postgresql"):
            parts = urlsplit(url)
            user, _, host = parts.netloc.rpartition("@")
            user = user.partition(":")[0]
            netloc = f"{user}:{quote(self.database.password, safe='')}@{host}"
            return urlunsplit(parts._replace(netloc=netloc))
        return url

    def enabled_sources(self) -> list[str]:
        return [name for name, src in self.sources.items() if src.enabled]


# --- loading -------------------------------------------------------------------------------------------

_TYPE_WORDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "dict_type": "a table",
    "model_type": "a table",
    "tuple_type": "a list",
    "list_type": "a list",
}


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _format_error(err: Mapping[str, Any]) -> str:
    key = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        return f"{key}: unknown key (value {_describe(value)})"
    if kind == "missing":
        return f"{key}: required key is missing"
    if kind in _TYPE_WORDS:
        return f"{key}: expected {_TYPE_WORDS[kind]}, got {_describe(value)}"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{key}: expected one of {expected}, got {_describe(value)}"
    if kind == "value_error":
        return f"{key}: {err['msg'].removeprefix('Value error, ')}"
    return f"{key}: {err['msg'].lower()}, got {_describe(value)}"


def _read_secret(var: str, environ: Mapping[str, str]) -> str | None:
    file_var = f"{var}_FILE"
    if environ.get(file_var):
        path = Path(environ[file_var])
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{file_var}: cannot read secret file {str(path)!r}: {exc.strerror}") from None
    return environ.get(var) or None


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for dotted, var in {**SECRET_ENV, **ENV_OVERRIDES}.items():
        value = _read_secret(var, environ)
        if value is not None:
            section, key = dotted.split(".")
            table = raw.setdefault(section, {})
            if isinstance(table, dict):
                table[key] = value


def _merge_sources(raw: dict[str, Any]) -> None:
    given = raw.get("sources", {})
    if not isinstance(given, dict):
        return  # validation reports "sources: expected a table"
    merged: dict[str, Any] = {name: dict(table) for name, table in DEFAULT_SOURCES.items()}
    for name, table in given.items():
        if isinstance(table, dict) and name in merged:
            merged[name].update(table)
        else:
            merged[name] = table
    raw["sources"] = merged


def _check_source_options(settings: Settings) -> None:
    """Keys a scraper does not know are errors too; config-defined sources validate their selectors."""
    from scrapers import CONFIGURED_TYPES, SOURCES, load_class

    common = set(SourceSettings.model_fields)
    for name, source in settings.sources.items():
        extra = {k: v for k, v in source.options().items() if k not in common}
        if source.type == "coded":
            if name not in SOURCES:
                known = ", ".join(sorted(SOURCES))
                raise ConfigError(
                    f"sources.{name}: no coded source of that name (known: {known}); "
                    'set type = "rss", "html" or "json" to define one in config'
                )
            try:
                accepted = getattr(load_class(SOURCES[name]), "config_keys", {})
            except (ImportError, AttributeError):
                accepted = {}
            for key, value in extra.items():
                if key not in accepted:
                    raise ConfigError(f"sources.{name}.{key}: unknown key (value {_describe(value)})")
        else:
            module_name = CONFIGURED_TYPES[source.type].partition(":")[0]
            try:
                module = __import__(module_name, fromlist=["validate_config"])
            except ImportError:
                continue
            problems = module.validate_config(name, source.options())
            if problems:
                raise ConfigError(problems[0])


def parse_settings(raw: Mapping[str, Any], *, origin: str = "built-in defaults",
                   environ: Mapping[str, str] | None = None) -> Settings:
    """Validate a raw config mapping (as read from TOML), applying environment secrets and defaults."""
    data: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    _apply_environment(data, os.environ if environ is None else environ)
    _merge_sources(data)
    try:
        settings = Settings.model_validate({**data, "origin": origin})
    except ValidationError as exc:
        raise ConfigError(_format_error(exc.errors()[0])) from None
    _check_source_options(settings)
    return settings


def load_settings(path: str | os.PathLike[str] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Load settings from `path`, else `$CALLTRACKER_CONFIG`, else the built-in defaults."""
    env = os.environ if environ is None else environ
    chosen = path if path is not None else env.get(ENV_CONFIG) or None
    if chosen is None:
        return parse_settings({}, environ=env)
    file = Path(chosen)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(file)!r}: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    return parse_settings(raw, origin=str(file), environ=env)


def documented_keys(settings_cls: type[BaseModel] = Settings, prefix: str = "") -> list[str]:
    """Every dotted key the code reads (sources use `sources.NAME.key`). For the docs test."""
    keys: list[str] = []
    for name, field in settings_cls.model_fields.items():
        if name == "origin":
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(documented_keys(annotation, f"{prefix}{name}."))
        elif name == "sources":
            keys.extend(f"sources.NAME.{k}" for k in SourceSettings.model_fields)
        else:
            keys.append(f"{prefix}{name}")
    return keys
