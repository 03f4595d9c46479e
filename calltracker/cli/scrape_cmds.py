"""`calltracker scrape [SOURCE ...] [--dry-run] [--json]`: collect calls from the configured sources.

The command only parses arguments and prints; `calltracker.collect` does the work, so the scheduler and
tests call it the same way.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import IO, TYPE_CHECKING, Any

import click

from calltracker.cli.context import print_summaries_once, state
from calltracker.cli.output import emit_json, json_option

if TYPE_CHECKING:
    from calltracker.pipeline import Progress, SourceReport

BAR_WIDTH = 24


class ProgressBars(logging.Filter):
    """One line per source, redrawn in place: a bar of pages fetched out of those known so far.

    Sources run in parallel threads, so updates are serialised; `clear()` removes the lines before the
    summary is printed. As a filter on the log handler it also clears them before a log line is written,
    so a log line never lands inside the bars (they are drawn again below it at the next update).
    """

    def __init__(self, stream: IO[str], names: list[str]) -> None:
        super().__init__()
        self.stream = stream
        self.rows: dict[str, tuple[int, int, int]] = {name: (0, 0, 0) for name in names}
        self.width = max((len(n) for n in names), default=0)
        self.drawn = 0
        self.lock = threading.RLock()

    def line(self, name: str) -> str:
        pages, calls, pending = self.rows[name]
        known = pages + pending
        filled = BAR_WIDTH if known and not pending else (BAR_WIDTH * pages // known if known else 0)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return f"{name:<{self.width}} [{bar}] {pages}/{known or '?'} pages, {calls} calls"

    def update(self, event: Progress) -> None:
        with self.lock:
            self.rows[event.source] = (event.pages, event.calls, event.pending)
            self._draw()

    def _draw(self) -> None:
        up = f"\033[{self.drawn}F" if self.drawn else ""
        self.stream.write(up + "".join(f"\r\033[K{self.line(n)}\n" for n in self.rows))
        self.stream.flush()
        self.drawn = len(self.rows)

    def clear(self) -> None:
        with self.lock:
            if self.drawn:
                self.stream.write(f"\033[{self.drawn}F\033[J")
                self.stream.flush()
                self.drawn = 0

    def filter(self, record: logging.LogRecord) -> bool:
        self.clear()
        return True


def wants_progress(stdout: IO[str], stderr: IO[str]) -> bool:
    """Progress only for a person watching: stdout a terminal (not a pipe or a file) and stderr one too."""
    return stdout.isatty() and stderr.isatty()


def report_json(report: SourceReport, dry_run: bool) -> dict[str, Any]:
    return {"source": report.source, "outcome": report.outcome, "seen": report.seen, "new": report.new,
            "changed": report.changed, "unchanged": report.unchanged, "failed": report.failed,
            "seconds": round(report.seconds, 3), "error": report.error,
            "consecutive_failures": report.consecutive_failures, "broken": report.broken, "dry_run": dry_run}


@click.command()
@click.argument("sources", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Fetch and parse, but write nothing to the database.")
@json_option
def scrape(sources: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Collect calls from SOURCES (default: every enabled source) and record each run.

    One line per source (or a JSON list with --json); a progress bar per source while it runs when the
    output is a terminal. Exit status 1 when a source failed.
    """
    from calltracker.bootstrap import build_http, report_broken_sources
    from calltracker.cli.run_cmds import install_signal_handlers
    from calltracker.collect import scrape_and_classify
    from calltracker.jobs import STOP

    st = state()
    settings = st.settings
    unknown = [n for n in sources if n not in settings.sources]
    if unknown:
        raise click.BadParameter(f"unknown source {', '.join(unknown)} (configured: "
                                 f"{', '.join(sorted(settings.sources))})", param_hint="SOURCES")
    app = st.app
    print_summaries_once()
    STOP.reset()
    # SIGTERM/SIGINT: the pages in flight finish and are saved, then each source stops (a second signal: at once).
    restore = install_signal_handlers(STOP)
    bars = None
    if not as_json and wants_progress(sys.stdout, sys.stderr):
        bars = ProgressBars(sys.stderr, list(dict.fromkeys(sources)) or settings.enabled_sources())
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "_calltracker", False)] if bars else []
    for handler in handlers:
        handler.addFilter(bars)  # type: ignore[arg-type]
    try:
        with build_http(settings, clock=app.clock) as http:
            reports = scrape_and_classify(settings, app.store, http, clock=app.clock, names=sources,
                                          dry_run=dry_run, on_progress=bars.update if bars else None,
                                          should_stop=lambda: STOP.stopped)
    finally:
        restore()
        for handler in handlers:
            handler.removeFilter(bars)  # type: ignore[arg-type]
        if bars is not None:
            bars.clear()
    if as_json:
        emit_json([report_json(r, dry_run) for r in reports])
    else:
        for report in reports:
            click.echo(report.line() + (" (dry run)" if dry_run else ""))
            if report.broken:
                click.echo(f"{report.source}: BROKEN after {report.consecutive_failures} failed or suspect runs "
                           "in a row", err=True)
    if not dry_run:
        # Like `run-once`: broken state recorded (broken_since), staff told about sources that broke or recovered.
        notice = report_broken_sources(app)
        if notice is not None and not notice.ok:
            click.echo(notice.summary, err=True)
    if any(r.outcome == "failed" for r in reports):
        raise click.exceptions.Exit(1)
