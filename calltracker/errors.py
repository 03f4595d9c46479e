"""The exception tree. Every error calltracker raises on purpose is a CalltrackerError.

    CalltrackerError
    ├── ConfigError            bad configuration; the CLI exits 2 before anything runs
    ├── StorageError           the database cannot be reached or is not at the expected revision
    ├── InputError             bad user input (a CSV row, an unknown member, cluster or call)
    ├── SourceError            a source could not be collected; `permanent` says whether a retry may help
    │   ├── FetchError         HTTP failed after retries (status, timeout, reset, too large)
    │   │   └── RobotsDisallowedError  robots.txt forbids the URL; nothing was fetched
    │   ├── ParseError         a page does not have the layout the scraper expects
    │   ├── ShrinkError        a source returned far fewer calls than its last good run
    │   └── StoppedError       a stop was requested (SIGTERM) before the source finished; not a failure
    └── DeliveryError          a message could not be sent; `permanent` (5xx) or temporary (4xx, dropped)
        └── TransportError     the mail server cannot be used at all (connect, TLS, login, outbox folder)
"""

from __future__ import annotations

import re


class CalltrackerError(Exception):
    """Base of every error calltracker raises on purpose."""


class ConfigError(CalltrackerError):
    """Configuration is invalid. The message names the dotted key and the value."""


class StorageError(CalltrackerError):
    """The database is unreachable or its schema is not the one this version expects."""


class InputError(CalltrackerError):
    """User input is invalid (unknown cluster, member or call; malformed file)."""


class SourceError(CalltrackerError):
    """A source failed. Stored on the scrape-run row; never marks calls as gone."""

    permanent: bool = False

    def __init__(self, message: str, *, permanent: bool | None = None) -> None:
        super().__init__(message)
        if permanent is not None:
            self.permanent = permanent


class FetchError(SourceError):
    """An HTTP request failed after its retries."""

    def __init__(self, message: str, *, url: str, status: int | None = None, permanent: bool | None = None):
        super().__init__(message, permanent=permanent)
        self.url = url
        self.status = status


class RobotsDisallowedError(FetchError):
    """robots.txt forbids fetching the URL for our user agent."""

    permanent = True


class ParseError(SourceError):
    """A page lacks an element or field the scraper requires: the layout changed."""

    permanent = True


class ShrinkError(SourceError):
    """A source yielded far fewer calls than its last good run; the result is not trusted."""


class StoppedError(SourceError):
    """The run was asked to stop (SIGTERM/SIGINT) before the source finished. Not counted as a failure."""


class DeliveryError(CalltrackerError):
    """A message could not be delivered. `permanent` is true for 5xx refusals."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class TransportError(DeliveryError):
    """The transport cannot send anything (unreachable server, TLS or login failure). Nothing was sent;
    a batch stops instead of charging an attempt to every delivery."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


def one_line(exc: BaseException | None) -> str:
    """A driver's multi-line message folded into one line."""
    return " ".join(str(exc).split())


_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@'\"]*:)[^\s@/'\"]+@")


def redact_urls(text: str) -> str:
    """`text` with the password of every URL in it (`scheme://user:password@host`) replaced by ***."""
    return _URL_PASSWORD.sub(r"\1***@", text)
