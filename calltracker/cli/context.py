"""The CLI's per-invocation state: settings and the app are built lazily, once."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import click

if TYPE_CHECKING:  # imported when first used: `calltracker --help` needs neither
    from calltracker.bootstrap import App, JobsFactory
    from calltracker.config import Settings

from calltracker.errors import redact_urls


class JsonLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_calltracker", False):
            root.removeHandler(old)
    handler._calltracker = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


class SummaryFilter(logging.Filter):
    """Drops summary log records (`extra={"summary": True}`) while a command prints those lines itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "summary", False)


def print_summaries_once() -> None:
    """The running command prints each summary line (a source's, a job's): keep them out of its log."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_calltracker", False) and not any(isinstance(f, SummaryFilter) for f in handler.filters):
            handler.addFilter(SummaryFilter())


class SecretRedactor(logging.Filter):
    """Replaces every configured secret in a log record (message, arguments, traceback) with ***."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret containing another is replaced whole. Very short values would
        # blank out ordinary words; nobody should use them as secrets anyway.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        text = redact_urls(text)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redact(text)
            record.exc_info = None
            fields = dict(getattr(record, "fields", None) or {})
            fields["exc"] = record.exc_text
            record.fields = fields
        return True


def secret_values(settings: Settings) -> list[str]:
    """The secrets in the settings (and a generated signing key), also URL-quoted as inside a database URL."""
    values = [settings.database.password, settings.mail.smtp_password, settings.web.signing_key]
    key_file = Path(settings.data_dir) / "signing.key"
    if settings.web.signing_key is None and key_file.is_file():
        values.append(key_file.read_text(encoding="utf-8").strip())
    found = [v for v in values if v]
    return found + [quote(v, safe="") for v in found]


def install_redaction(settings: Settings) -> SecretRedactor:
    """Put a SecretRedactor on the CLI's log handlers (filters on handlers see every propagated record)."""
    redactor = SecretRedactor(secret_values(settings))
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_calltracker", False):
            for old in [f for f in handler.filters if isinstance(f, SecretRedactor)]:
                handler.removeFilter(old)
            handler.addFilter(redactor)
    return redactor


@dataclass
class CliState:
    """What one invocation works with. `jobs` replaces the job table of `run`/`run-once` for a caller that
    embeds the CLI (`cli.main(obj=CliState(jobs=...))`); by default bootstrap.build_jobs."""

    config_path: str | None = None
    debug: bool = False
    log_format: str | None = None
    jobs: JobsFactory | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _app: App | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from calltracker.config import load_settings

            self._settings = load_settings(self.config_path)
            configure_logging("DEBUG" if self.debug else self._settings.logging.level,
                              self.log_format or self._settings.logging.format)
            install_redaction(self._settings)  # every command, not only the scheduler: no secret is ever logged
        return self._settings

    @property
    def app(self) -> App:
        """The App; a database that does not exist yet is created (see `reading_app` for read-only commands)."""
        if self._app is None:
            from calltracker.bootstrap import build_app

            self._app = build_app(self.settings)
        return self._app

    @property
    def reading_app(self) -> App:
        """The App for a command that only reads: it refuses to create a database other than the default."""
        if self._app is None:
            from calltracker.bootstrap import build_app

            self._app = build_app(self.settings, create=False)
        return self._app

    def redact(self, text: str) -> str:
        """`text` without any secret: URL passwords always, configured secrets once settings are loaded."""
        if self._settings is None:
            return redact_urls(text)
        return SecretRedactor(secret_values(self._settings)).redact(text)

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None


def known_cluster(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A `--cluster` callback: the cluster's code (any case, code or name); an unknown one is a usage error
    (exit 2) listing the known clusters."""
    if value is None:
        return None
    from calltracker.errors import InputError

    try:
        return state().app.store.cluster(value).code
    except InputError as exc:
        raise click.BadParameter(str(exc)) from None


def set_config_path(path: str | None) -> None:
    """`--config` given after the subcommand: the same as before it (settings are loaded later, on first use)."""
    if path is not None:
        state().config_path = path


def state() -> CliState:
    ctx = click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    obj: CliState = root.obj
    return obj
