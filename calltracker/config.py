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
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

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

# The real sources and where they live come from each source module's spec (scrapers.default_tables());
# a config file may override any key or disable a source.

_CRON_FIELDS = 5
#: `[sources.NAME]` keys the engine reads (not the scraper): not checked against a scraper's own keys.
ENGINE_SOURCE_KEYS = frozenset({"allowed_hosts", "detail_refresh_hours"})


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def _sqlite_in(data_dir: Path, url: str) -> str:
    """`sqlite:///NAME` with a relative NAME means DATA_DIR/NAME; absolute paths and other URLs are kept."""
    prefix, sep, rest = url.partition(":///")
    if not sep or not prefix.startswith("sqlite") or not rest or rest.startswith((":memory:", "file:")):
        return url
    path, q, query = rest.partition("?")
    full = Path(path).expanduser()
    if not full.is_absolute():
        full = data_dir / full
    return f"{prefix}:///{full}{q}{query}"


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
    #: the most one request may take, retries and a slow (trickling) body included
    request_deadline: float = Field(300.0, gt=0)
    #: fetch from loopback addresses (127.0.0.0/8, ::1): only for tests and the offline replay demo;
    #: other private, link-local and reserved addresses are always refused
    allow_loopback: bool = False


class ScrapeSettings(_Section):
    broken_after: int = Field(3, ge=1, le=1000)
    shrink_ratio: float = Field(0.5, ge=0, le=1)
    #: the most one source may run; then it stops, keeping what it fetched, and fails
    source_deadline: float = Field(3600.0, gt=0)
    #: hours before detail pages under an unchanged listing are fetched again (a source may set its own)
    detail_refresh_hours: float = Field(24.0, ge=0)


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
    #: hosts ("host" or "host:port") a redirect may lead to, besides the hosts of the source's URLs
    allowed_hosts: list[str] = Field(default_factory=list)
    detail_refresh_hours: float | None = Field(None, ge=0)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value).rstrip("/")

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not re.fullmatch(r"[A-Za-z0-9.-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?", host):
                raise ValueError(f'expected a host name or host:port, got "{host}"')
        return [h.lower() for h in value]

    def options(self) -> dict[str, Any]:
        """The table as a plain dict: what a scraper's constructor receives (without the engine's own keys)."""
        return self.model_dump(exclude=set(ENGINE_SOURCE_KEYS))


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

    _default_database: bool = PrivateAttr(False)

    @model_validator(mode="after")
    def _fill_paths(self) -> Settings:
        """Defaults and relative paths live in the data directory, never in whatever directory we run from."""
        data_dir = Path(self.data_dir).expanduser() if self.data_dir else default_data_dir()
        object.__setattr__(self, "data_dir", str(data_dir))
        # Copies, never the sections themselves: a default section instance is shared by every Settings.
        if not self.database.url:
            url = f"sqlite:///{data_dir / 'calltracker.sqlite3'}"
            self._default_database = True
        else:
            url = _sqlite_in(data_dir, self.database.url)
        object.__setattr__(self, "database", self.database.model_copy(update={"url": url}))
        outbox = Path(self.mail.outbox_dir).expanduser() if self.mail.outbox_dir else Path("outbox")
        outbox_dir = str(outbox if outbox.is_absolute() else data_dir / outbox)
        object.__setattr__(self, "mail", self.mail.model_copy(update={"outbox_dir": outbox_dir}))
        return self

    @property
    def default_database(self) -> bool:
        """Whether the database is the built-in default (no database.url given): commands may create it."""
        return self._default_database

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
    from scrapers import default_tables

    merged: dict[str, Any] = default_tables()
    for name, table in given.items():
        if isinstance(table, dict) and name in merged:
            merged[name].update(table)
        else:
            merged[name] = table
    raw["sources"] = merged


def _check_source_options(settings: Settings) -> None:
    """A coded source's options are checked by its spec's (strict) model; config-defined sources validate
    their selectors. Errors name the dotted key: `sources.esa.page_size: expected an integer, got "x"`."""
    from scrapers import generic_types, spec
    from scrapers.generic import validate_config

    for name, source in settings.sources.items():
        table = source.options()
        if source.type == "coded":
            model = spec(name).options
            try:
                model.from_table(table)
            except ValidationError as exc:
                first: dict[str, Any] = dict(exc.errors()[0])
                first["loc"] = ("sources", name, *tuple(first["loc"]))
                raise ConfigError(_format_error(first)) from None
        elif source.type in generic_types():
            problems = validate_config(name, table)
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
