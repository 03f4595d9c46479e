"""`calltracker calls ...`: list and show stored calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from calltracker.cli.context import state
from calltracker.cli.output import emit_json, emit_table, json_option, terminal_width
from calltracker.domain import Region, Theme, shown_deadline

if TYPE_CHECKING:
    from calltracker.domain import Deadline
    from calltracker.views import CallView

THEMES = [t.value for t in Theme]
REGIONS = [r.value for r in Region]


def listing_order(call: CallView, now: datetime) -> tuple[int, float]:
    """Soonest open deadline first; then calls without a deadline; then those whose deadlines all passed,
    most recent first (the closing rule is `Deadline.closes_at`: a date alone lasts all of its day)."""
    upcoming = call.next_deadline(now)
    if upcoming is not None and call.is_open_at(now):
        return 0, upcoming.closes_at.timestamp()
    if not call.deadlines:
        return 1, 0.0
    return 2, -max(d.closes_at for d in call.deadlines).timestamp()


def deadline_text(call: CallView, now: datetime | None = None) -> str:
    """The next deadline in its official zone (a date alone when the source gives no time)."""
    if not call.deadlines:
        return call.deadline_text or ""
    shown = shown_deadline(call.deadlines, now or datetime.now(UTC))
    return _when(shown) if shown else call.deadline_text or ""


def _when(d: Deadline) -> str:
    """A deadline as published: its day alone when date-only, else its time in its official zone."""
    return d.at.strftime("%Y-%m-%d") if d.date_only else d.at.strftime("%Y-%m-%d %H:%M %Z")


def _known_source(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """An unknown --source is a usage error naming the configured ones (checked before the database opens)."""
    if value is None:
        return None
    known = sorted(state().settings.sources)
    if value not in known:
        raise click.BadParameter(f"unknown source {value!r} (known: {', '.join(known)})")
    return value


@click.group()
def calls() -> None:
    """List and show stored calls."""


@calls.command("list")
@json_option
@click.option("--open", "open_only", is_flag=True,
              help="Only forthcoming or open calls with a deadline still ahead (or none).")
@click.option("--theme", type=click.Choice(THEMES, case_sensitive=False), help="Only calls tagged with this theme.")
@click.option("--region", type=click.Choice(REGIONS, case_sensitive=False),
              help="Only calls open to organisations of this region (any case: Liguria, liguria).")
@click.option("--source", callback=_known_source, help="Only calls from this configured source.")
@click.option("--tri-regional", is_flag=True, help="Only calls that fit a joint tri-regional bid.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many calls.")
def calls_list(as_json: bool, open_only: bool, theme: str | None, region: str | None, source: str | None,
               tri_regional: bool, limit: int | None) -> None:
    """List stored calls, soonest open deadline first; the table fits the terminal's width."""
    from calltracker.storage import CallFilter

    app = state().reading_app
    now = app.clock()
    # A call seen by several sources is listed once, unless one source's records are asked for.
    flt = CallFilter(canonical_only=source is None, open_only=open_only, theme=theme, region=region, source=source,
                     tri_regional_only=tri_regional)
    found = sorted(app.store.find_calls(flt, now=now), key=lambda c: listing_order(c, now))[:limit]
    if as_json:
        emit_json([c.to_json() for c in found])
        return
    emit_table(
        ["id", "source", "identifier", "title", "status", "deadline", "themes", "fit"],
        [[c.id, c.source, c.identifier, c.title, c.status_at(now), deadline_text(c, now), c.themes,
          c.classification.fit_score if c.classification else None] for c in found],
        widths={"title": 60, "identifier": 34, "deadline": 26, "themes": 40}, empty="no calls match",
        fit=terminal_width(), keep="title",
    )


@calls.command("show")
@json_option
@click.argument("ref", metavar="ID_OR_IDENTIFIER")
def calls_show(as_json: bool, ref: str) -> None:
    """Show one call: by numeric id, official identifier or SOURCE:EXTERNAL_ID."""
    app = state().reading_app
    call = app.store.get_call(ref)
    changes = app.store.changes(call.id)
    if as_json:
        data = call.to_json()
        data["description"] = call.description
        data["changes"] = [{"field": c.field, "old": c.old, "new": c.new, "changed_at": c.changed_at}
                           for c in changes]
        emit_json(data)
        return
    lines = [
        (call.identifier or call.external_id) + f"  [{call.source}, id {call.id}]",
        call.title,
        "",
        f"status:     {call.status_at(app.clock())}",
        f"programme:  {call.programme or '-'}",
        f"scope:      {call.scope or '-'}",
        # in the official zone (storage gives it back there): an EU opening is midnight in Brussels
        f"opens:      {call.opening_date.strftime('%Y-%m-%d') if call.opening_date else '-'}",
    ]
    for d in call.deadlines or ():
        lines.append(f"deadline:   {_when(d)}" + (f" ({d.label})" if d.label else ""))
    if not call.deadlines:
        lines.append(f"deadline:   {call.deadline_text or 'none given'}")
    if call.budget_eur is not None or call.budget_text:
        lines.append(f"budget:     {call.budget_text or f'EUR {call.budget_eur:,.0f}'}")
    lines.append(f"url:        {call.url}")
    c = call.classification
    if c is not None:
        eligible = ", ".join(r for r, ok in c.eligible.items() if ok) or "none of the three"
        lines += [f"themes:     {', '.join(c.themes) or '-'}", f"eligible:   {eligible}",
                  f"consortium: {c.consortium}",
                  f"fit:        {c.fit_score}/3{' (tri-regional)' if c.tri_regional_fit else ''} - {c.fit_reason}"]
    if call.summary:
        lines += ["", call.summary]
    if changes:
        lines += ["", "changes:"]
        lines += [f"  {ch.changed_at:%Y-%m-%d %H:%M} {ch.field}: {ch.old!r} -> {ch.new!r}" for ch in changes]
    click.echo("\n".join(lines))
