"""Service: scrape sources through the pipeline, then classify what is new or changed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from urllib.parse import urlsplit

from calltracker.config import Settings
from calltracker.errors import InputError
from calltracker.http import HostLimits
from calltracker.page_memos import options_text
from calltracker.pipeline import Fetcher, Pipeline, Progress, SourceJob, SourceReport, StorePort
from calltracker.scraping import Scraper
from calltracker.storage import Store
from calltracker.tagging import classify_pending


def _make_scraper(name: str, settings: Settings) -> Scraper:
    from scrapers import build_scraper

    return build_scraper(name, settings.sources[name].options())


def _url_hosts(options: dict[str, object]) -> set[str]:
    """host:port of every URL in a source's options (base_url, portal_url, urls...): where it may redirect."""
    values: list[object] = []
    for value in options.values():
        values.extend(value if isinstance(value, list) else [value])
    hosts = set()
    for value in values:
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            parts = urlsplit(value)
            if parts.hostname:
                hosts.add(f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}")
    return hosts


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
        options = src.options()
        limits = HostLimits(min_delay=src.min_delay, concurrency=src.concurrency,
                            allowed_hosts=frozenset(_url_hosts(options) | set(src.allowed_hosts)))
        hours = src.detail_refresh_hours if src.detail_refresh_hours is not None \
            else settings.scrape.detail_refresh_hours
        jobs.append(SourceJob(name, limits=limits, factory=partial(_make_scraper, name, settings),
                              refresh_after=hours * 3600, fingerprint_extra=options_text(options)))
    return jobs


def run_scrape(settings: Settings, store: StorePort, http: Fetcher, *, names: Sequence[str] = (),
               dry_run: bool = False, clock: Callable[[], datetime],
               on_progress: Callable[[Progress], None] | None = None,
               should_stop: Callable[[], bool] | None = None) -> list[SourceReport]:
    """Scrape the named (or all enabled) sources with already-built objects; one report per source."""
    pipeline = Pipeline(store, http, clock=clock, shrink_ratio=settings.scrape.shrink_ratio,
                        broken_after=settings.scrape.broken_after, should_stop=should_stop,
                        refresh_after=settings.scrape.detail_refresh_hours * 3600,
                        source_deadline=settings.scrape.source_deadline)
    return pipeline.run(source_jobs(settings, names), dry_run=dry_run, on_progress=on_progress)


def scrape_and_classify(settings: Settings, store: Store, http: Fetcher, *, clock: Callable[[], datetime],
                        names: Sequence[str] = (), dry_run: bool = False,
                        on_progress: Callable[[Progress], None] | None = None,
                        should_stop: Callable[[], bool] | None = None) -> list[SourceReport]:
    """Scrape, then classify every call that is new, changed or classified by older rules."""
    reports = run_scrape(settings, store, http, names=names, dry_run=dry_run, clock=clock,
                         on_progress=on_progress, should_stop=should_stop)
    if not dry_run:
        classify_pending(store, clock())
    return reports
