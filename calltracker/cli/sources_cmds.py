"""`calltracker sources list` and `calltracker status`: what is configured and how it last went."""

from __future__ import annotations

from typing import Any

import click

from calltracker.cli.context import state
from calltracker.cli.output import emit_json, emit_table, json_option


@click.group()
def sources() -> None:
    """Configured sources."""


@sources.command("list")
@json_option
def sources_list(as_json: bool) -> None:
    """List configured sources: name, type, enabled, base URL."""
    settings = state().settings
    rows = [{"name": name, "type": src.type, "enabled": src.enabled, "base_url": src.base_url}
            for name, src in sorted(settings.sources.items())]
    if as_json:
        emit_json(rows)
        return
    emit_table(["name", "type", "enabled", "base_url"], [list(r.values()) for r in rows])


def collect_status() -> dict[str, Any]:
    app = state().app
    settings = app.settings
    last = app.store.last_runs()
    out: list[dict[str, Any]] = []
    for name, src in sorted(settings.sources.items()):
        run = last.get(name)
        failures = app.store.consecutive_failures(name)
        out.append({
            "source": name,
            "enabled": src.enabled,
            "last_run": run.started_at if run else None,
            "outcome": run.outcome if run else "never run",
            "seen": run.seen if run else None,
            "new": run.new if run else None,
            "changed": run.changed if run else None,
            "error": run.error if run else None,
            "consecutive_failures": failures,
            "broken": failures >= settings.scrape.broken_after,
        })
    return {"sources": out, "calls": app.store.count_calls(), "deliveries": app.store.delivery_counts()}


@click.command()
@json_option
def status(as_json: bool) -> None:
    """Per source: last run, outcome, counts and consecutive failures; deliveries by status."""
    data = collect_status()
    if as_json:
        emit_json(data)
        return
    emit_table(["source", "enabled", "last_run", "outcome", "seen", "new", "changed", "failures", "error"],
               [[s["source"], s["enabled"], s["last_run"].strftime("%Y-%m-%d %H:%M") if s["last_run"] else "-",
                 s["outcome"] + (" (BROKEN)" if s["broken"] else ""), s["seen"], s["new"], s["changed"],
                 s["consecutive_failures"], s["error"]] for s in data["sources"]],
               widths={"error": 60})
    deliveries = ", ".join(f"{n} {k}" for k, n in sorted(data["deliveries"].items())) or "none"
    click.echo(f"\n{data['calls']} calls stored; deliveries: {deliveries}")
