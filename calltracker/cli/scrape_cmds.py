"""`calltracker scrape [SOURCE ...] [--dry-run]`: collect calls from the configured sources.

The command itself only parses arguments and prints; `run_scrape` does the work with objects it is
handed (settings, a store, an HTTP client), so the scheduler and tests call it the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

import click

from calltracker.bootstrap import utc_now
from calltracker.cli.context import state
from calltracker.config import Settings
from calltracker.errors import InputError
from calltracker.http import HostLimits, HttpClient, HttpPolicy
from calltracker.pipeline import Fetcher, Pipeline, Progress, SourceJob, SourceReport, StorePort
from calltracker.scraping import Scraper


def http_policy(settings: Settings) -> HttpPolicy:
    """`[http]` -> HttpPolicy. (Belongs in bootstrap once it builds the HTTP client.)"""
    h = settings.http
    return HttpPolicy(user_agent=h.user_agent, timeout=h.timeout, max_retries=h.max_retries,
                      retry_max_wait=h.retry_max_wait, min_delay=h.min_delay, per_host_concurrency=h.concurrency,
                      max_response_bytes=h.max_response_bytes, max_redirects=h.max_redirects,
                      respect_robots=h.respect_robots)


def _make_scraper(name: str, settings: Settings) -> Scraper:
    from scrapers import scraper_class

    src = settings.sources[name]
    cls = scraper_class(name, src.type)
    # a config-defined source's class is its type: it learns the source's name from us
    scraper: Scraper = cls(src.options()) if src.type == "coded" else cls(src.options(), name=name)
    return scraper


def source_jobs(settings: Settings, names: Sequence[str] = ()) -> list[SourceJob]:
    """Jobs for the named sources (all enabled ones when none is named). Unknown names are an InputError."""
    unknown = [n for n in names if n not in settings.sources]
    if unknown:
        known = ", ".join(sorted(settings.sources))
        raise InputError(f"unknown source {', '.join(unknown)} (configured: {known})")
    chosen = list(dict.fromkeys(names)) or settings.enabled_sources()
    jobs = []
    for name in chosen:
        src = settings.sources[name]
        limits = HostLimits(min_delay=src.min_delay, concurrency=src.concurrency) \
            if src.min_delay is not None or src.concurrency is not None else None
        jobs.append(SourceJob(name, limits=limits, factory=partial(_make_scraper, name, settings)))
    return jobs


def run_scrape(settings: Settings, store: StorePort, http: Fetcher, *, names: Sequence[str] = (),
               dry_run: bool = False, clock: Callable[[], datetime] = utc_now,
               on_progress: Callable[[Progress], None] | None = None) -> list[SourceReport]:
    """Scrape the named (or all enabled) sources with already-built objects; one report per source."""
    pipeline = Pipeline(store, http, clock=clock, shrink_ratio=settings.scrape.shrink_ratio,
                        broken_after=settings.scrape.broken_after)
    return pipeline.run(source_jobs(settings, names), dry_run=dry_run, on_progress=on_progress)


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
    with HttpClient(http_policy(app.settings)) as http:
        reports = run_scrape(app.settings, app.store, http, names=sources, dry_run=dry_run, clock=app.clock,
                             on_progress=progress)
    if progress is not None:
        click.echo("\r\033[K", err=True, nl=False)
    for report in reports:
        click.echo(report.line() + (" (dry run)" if dry_run else ""))
        if report.broken:
            click.echo(f"{report.source}: BROKEN after {report.consecutive_failures} failed runs in a row", err=True)
    if any(r.outcome == "failed" for r in reports):
        raise click.exceptions.Exit(1)
