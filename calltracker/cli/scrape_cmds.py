"""`calltracker scrape [SOURCE ...] [--dry-run]`: collect calls from the configured sources.

The command only parses arguments and prints; `calltracker.collect` does the work, so the scheduler and
tests call it the same way.
"""

from __future__ import annotations

import sys

import click

from calltracker.bootstrap import build_http
from calltracker.cli.context import state
from calltracker.collect import scrape_and_classify
from calltracker.pipeline import Progress


def _progress_line(event: Progress) -> None:
    click.echo(f"\r\033[K{event.source}: {event.pages} pages, {event.calls} calls, {event.pending} to go",
               err=True, nl=False)


@click.command()
@click.argument("sources", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Fetch and parse, but write nothing to the database.")
def scrape(sources: tuple[str, ...], dry_run: bool) -> None:
    """Collect calls from SOURCES (default: every enabled source) and record each run."""
    app = state().app
    progress = _progress_line if sys.stderr.isatty() else None
    with build_http(app.settings) as http:
        reports = scrape_and_classify(app, http, names=sources, dry_run=dry_run, on_progress=progress)
    if progress is not None:
        click.echo("\r\033[K", err=True, nl=False)
    for report in reports:
        click.echo(report.line() + (" (dry run)" if dry_run else ""))
        if report.broken:
            click.echo(f"{report.source}: BROKEN after {report.consecutive_failures} failed runs in a row", err=True)
    if any(r.outcome == "failed" for r in reports):
        raise click.exceptions.Exit(1)
