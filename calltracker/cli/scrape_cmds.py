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
    from calltracker.cli.run_cmds import install_signal_handlers
    from calltracker.jobs import STOP, report_broken_sources

    app = state().app
    progress = _progress_line if sys.stderr.isatty() else None
    STOP.reset()
    # SIGTERM/SIGINT: the pages in flight finish and are saved, then each source stops (a second signal: at once).
    restore = install_signal_handlers(STOP)
    try:
        with build_http(app.settings) as http:
            reports = scrape_and_classify(app, http, names=sources, dry_run=dry_run, on_progress=progress,
                                          should_stop=lambda: STOP.stopped)
    finally:
        restore()
    if progress is not None:
        click.echo("\r\033[K", err=True, nl=False)
    for report in reports:
        click.echo(report.line() + (" (dry run)" if dry_run else ""))
        if report.broken:
            click.echo(f"{report.source}: BROKEN after {report.consecutive_failures} failed or suspect runs in a row",
                       err=True)
    if not dry_run:
        # Like `run-once`: broken state recorded (broken_since), staff told about sources that broke or recovered.
        notice = report_broken_sources(app)
        if notice is not None and not notice.ok:
            click.echo(notice.summary, err=True)
    if any(r.outcome == "failed" for r in reports):
        raise click.exceptions.Exit(1)
