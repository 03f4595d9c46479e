"""What every repository shares: the engine and one transaction per method."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from calltracker.errors import StorageError, one_line
from calltracker.storage.engine import make_engine


class Repo:
    """Base of the repositories that `Store` combines. Each method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False) -> Self:
        return cls(make_engine(url, echo=echo))

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StorageError(f"database error: {one_line(exc.orig)}") from exc

    def close(self) -> None:
        self.engine.dispose()
