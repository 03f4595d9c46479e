"""`calltracker sources list` and `calltracker status`: what is configured and how it last went."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from calltracker.cli.context import state
from calltracker.cli.output import emit_json, emit_table, json_option
from calltracker.holders import holder_is_gone


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


def _age(hours: float | None) -> str:
    if hours is None:
        return "-"
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


def collect_status() -> dict[str, Any]:
    """Everything `status` shows, as plain data (the JSON output)."""
    from calltracker.bootstrap import describe_database
    from calltracker.scheduler import next_runs

    app = state().reading_app
    settings = app.settings
    now = app.clock()
    last = app.store.last_runs()
    states = app.store.source_states()
    pages = app.store.page_ages()
    out: list[dict[str, Any]] = []
    for name, src in sorted(settings.sources.items()):
        run = last.get(name)
        failures = app.store.consecutive_failures(name)
        broken_since, notified_at = states.get(name, (None, None))
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
            "broken_since": broken_since,
            "staff_notified_at": notified_at,
            # how old the source's remembered pages (its details) may be: the oldest was fetched then
            "details_fetched_at": pages[name][0] if name in pages else None,
            "details_age_hours": round((now - pages[name][0]).total_seconds() / 3600, 1) if name in pages else None,
        })
    zone = ZoneInfo(settings.schedule.timezone)
    jobs = []
    locks = {lock["name"]: lock for lock in app.store.job_locks() if lock["expires_at"] > now}
    for name, at in next_runs(settings.schedule, now).items():
        lock = locks.get(name)
        jobs.append({
            "job": name,
            "cron": getattr(settings.schedule, name),
            "next_run": at.astimezone(zone) if at else None,
            "running": lock is not None and not holder_is_gone(lock["holder"]),
            "running_on": lock["holder"] if lock else None,
            "running_since": lock["acquired_at"].astimezone(zone) if lock else None,
        })
    return {"sources": out, "calls": app.store.count_calls(), "deliveries": app.store.delivery_counts(),
            "unsent_deliveries": app.store.unsent_deliveries(limit=20), "jobs": jobs,
            "timezone": settings.schedule.timezone, "database": describe_database(settings),
            "config": settings.origin,
            "quarantine_counts": app.store.quarantine_counts(),
            "quarantined": [{"source": q.source, "external_id": q.external_id, "run_id": q.run_id,
                             "quarantined_at": q.quarantined_at, "error": q.error}
                            for q in app.store.quarantined(limit=20)]}


def _when(value: datetime | None, zone: ZoneInfo | None = None) -> str:
    """A time with its zone (`2026-09-01 08:00 CEST`), in `zone` when given, else in its own."""
    if value is None:
        return "-"
    return (value.astimezone(zone) if zone else value).strftime("%Y-%m-%d %H:%M %Z")


@click.command()
@json_option
def status(as_json: bool) -> None:
    """Per source: last run, outcome, counts, failures in a row; unsent deliveries; jobs and next runs."""
    data = collect_status()
    if as_json:
        emit_json(data)
        return
    zone = ZoneInfo(data["timezone"])
    click.echo(f"database: {data['database']} (config: {data['config']})\n")
    emit_table(["source", "enabled", "last_run", "outcome", "seen", "new", "changed", "failures", "details_age",
                "error"],
               [[s["source"], s["enabled"], _when(s["last_run"], zone),
                 s["outcome"] + (" (BROKEN)" if s["broken"] else ""), s["seen"], s["new"], s["changed"],
                 s["consecutive_failures"], _age(s["details_age_hours"]), s["error"]] for s in data["sources"]],
               widths={"error": 60})
    deliveries = ", ".join(f"{n} {k}" for k, n in sorted(data["deliveries"].items())) or "none"
    click.echo(f"\n{data['calls']} calls stored; deliveries: {deliveries}")
    if data["unsent_deliveries"]:
        click.echo("\nnot sent yet (oldest first):")
        emit_table(["id", "kind", "period", "to", "status", "attempts", "next_attempt", "last_error"],
                   [[d["id"], d["kind"], d["period_key"], d["email"], d["status"], d["attempts"],
                     _when(d["next_attempt_at"], zone), d["last_error"]] for d in data["unsent_deliveries"]],
                   widths={"last_error": 60})
    if data["quarantined"]:
        total = sum(data["quarantine_counts"].values())
        click.echo(f"\n{total} records quarantined (could not be stored, kept raw; latest first):")
        emit_table(["source", "external_id", "when", "error"],
                   [[q["source"], q["external_id"], _when(q["quarantined_at"], zone), q["error"]]
                    for q in data["quarantined"]], widths={"error": 60})
    click.echo(f"\njobs ({data['timezone']}):")
    emit_table(["job", "cron", "next_run", "running"],
               [[j["job"], j["cron"], _when(j["next_run"]),
                 f"since {_when(j['running_since'])} on {j['running_on']}" if j["running"] else "no"]
                for j in data["jobs"]])
