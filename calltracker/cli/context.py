"""The CLI's per-invocation state: settings and the app are built lazily, once."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from calltracker.bootstrap import App, build_app
from calltracker.config import Settings, load_settings
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
    config_path: str | None = None
    debug: bool = False
    log_format: str | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _app: App | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
            configure_logging("DEBUG" if self.debug else self._settings.logging.level,
                              self.log_format or self._settings.logging.format)
            install_redaction(self._settings)  # every command, not only the scheduler: no secret is ever logged
        return self._settings

    @property
    def app(self) -> App:
        if self._app is None:
            self._app = build_app(self.settings)
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


def state() -> CliState:
    ctx = click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    obj: CliState = root.obj
    return obj
