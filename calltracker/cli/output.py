"""Output for list commands: a table by default, JSON with --json. The CLI is the only place that prints."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    """The shared `--json` flag of list commands."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(func)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_default))


def _cell(value: Any, width: int | None) -> str:
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, list | tuple):
        text = ", ".join(str(v) for v in value)
    else:
        text = str(value)
    text = " ".join(text.split())
    if width and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def emit_table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
               widths: dict[str, int] | None = None, empty: str = "(none)") -> None:
    """A plain aligned table; long cells are cut to the given widths."""
    if not rows:
        click.echo(empty)
        return
    limits = widths or {}
    cells = [[_cell(v, limits.get(h)) for h, v in zip(headers, row, strict=True)] for row in rows]
    sizes = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.upper().ljust(sizes[i]) for i, h in enumerate(headers)).rstrip())
    for r in cells:
        click.echo("  ".join(c.ljust(sizes[i]) for i, c in enumerate(r)).rstrip())
