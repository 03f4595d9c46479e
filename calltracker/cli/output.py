"""Output for list commands: a table by default, JSON with --json. The CLI is the only place that prints."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

#: A shrinking column keeps at least this many characters.
MIN_FLEX = 8


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
               widths: dict[str, int] | None = None, empty: str = "(none)", fit: int | None = None,
               keep: str | None = None) -> None:
    """A plain aligned table; long cells are cut to the given widths.

    With `fit` (a terminal width), the columns named in `widths` shrink further, widest first, until a line
    fits in that many characters (never below MIN_FLEX characters each). The column named `keep` (the one a
    reader scans, such as a title) shrinks only once the others are at MIN_FLEX.
    """
    if not rows:
        click.echo(empty)
        return
    limits = dict(widths or {})
    texts = [[_cell(v, None) for v in row] for row in rows]
    sizes = [max(len(h), *(len(r[i]) for r in texts)) for i, h in enumerate(headers)]
    sizes = [min(size, limits.get(h, size)) for h, size in zip(headers, sizes, strict=True)]
    if fit is not None:
        flexible = [i for i, h in enumerate(headers) if h in limits]
        while sum(sizes) + 2 * (len(sizes) - 1) > fit:
            others = [j for j in flexible if headers[j] != keep and sizes[j] > MIN_FLEX]
            i = max(others or flexible, key=lambda j: sizes[j], default=None)
            if i is None or sizes[i] <= MIN_FLEX:
                break
            sizes[i] -= 1
        limits.update({headers[i]: sizes[i] for i in flexible})
    cells = [[_cell(v, limits.get(h)) for h, v in zip(headers, row, strict=True)] for row in rows]
    sizes = [max(len(h[: sizes[i]]), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.upper()[: sizes[i]].ljust(sizes[i]) for i, h in enumerate(headers)).rstrip())
    for r in cells:
        click.echo("  ".join(c.ljust(sizes[i]) for i, c in enumerate(r)).rstrip())


def terminal_width() -> int:
    """Columns of the terminal ($COLUMNS first; 100 when not a terminal)."""
    return shutil.get_terminal_size((100, 24)).columns
