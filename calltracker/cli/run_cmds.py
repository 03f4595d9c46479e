"""`calltracker run` (the long-running scheduler) and `calltracker run-once` (for cron or systemd timers)."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from calltracker.cli.context import install_redaction, print_summaries_once, state
from calltracker.cli.output import emit_json, json_option
from calltracker.jobs import JOB_NAMES, STOP, JobRunner, StopToken

if TYPE_CHECKING:
    from calltracker.config import Settings

log = logging.getLogger(__name__)

JOB_CHOICE = click.Choice(list(JOB_NAMES))


def install_signal_handlers(stop: StopToken) -> Callable[[], None]:
    """SIGTERM/SIGINT ask the jobs to stop after their current item; a second signal stops at once."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: finishing the current item, then exiting (again to stop at once)",
                 signal.Signals(signum).name)
        stop.stop()
        for sig in previous:
            signal.signal(sig, signal.SIG_DFL)

    for sig in previous:
        signal.signal(sig, handle)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def _prepare() -> tuple[Settings, JobRunner]:
    from calltracker.bootstrap import build_jobs, build_runner

    st = state()
    settings = st.settings  # ConfigError here exits 2 before anything runs
    STOP.reset()  # a fresh run; the token only carries a stop request within one command
    redactor = install_redaction(settings)
    return settings, build_runner(st.app, stop=STOP, jobs=st.jobs or build_jobs, redact=redactor.redact)


@click.command("run")
@click.option("--now", "run_now", multiple=True, type=JOB_CHOICE,
              help="Also run this job right away at start (repeatable), e.g. after a deploy.")
def run(run_now: tuple[str, ...]) -> None:
    """Run the scheduler: scrape, alerts and digest on their cron schedules until SIGTERM/SIGINT.

    Missed runs are coalesced into one if within schedule.misfire_grace_seconds; a job never overlaps
    itself, and a lock in the database keeps other instances from running the same job at once.
    On SIGTERM or SIGINT the running job finishes its current item and the process exits 0.
    """
    from calltracker import scheduler

    settings, runner = _prepare()
    restore = install_signal_handlers(STOP)
    zone = ZoneInfo(settings.schedule.timezone)
    where = runner.store.engine.url.render_as_string(hide_password=True)
    log.info("calltracker scheduler starting (database %s, time zone %s, holder %s)", where,
             settings.schedule.timezone, runner.holder)
    try:
        scheduler.serve(runner.run, scheduler.cron_triggers(settings.schedule), STOP, zone=zone,
                        misfire_grace_seconds=settings.schedule.misfire_grace_seconds, run_now=run_now)
    finally:
        restore()


@click.command("run-once")
@click.option("--only", multiple=True, type=JOB_CHOICE,
              help="Run only this job (repeatable). Default: scrape, alerts and digest, in that order.")
@json_option
def run_once(only: tuple[str, ...], as_json: bool) -> None:
    """Run the jobs once and exit, for cron or systemd timers.

    One line per job (or a JSON list with --json). Exit status: 0 when everything went well (or another
    instance was already running a job), 1 when a source or a delivery failed, 2 for a configuration error.
    """
    _settings, runner = _prepare()
    print_summaries_once()
    names = [n for n in JOB_NAMES if n in only] if only else list(JOB_NAMES)
    restore = install_signal_handlers(STOP)
    try:
        results = runner.run_many(names)
    finally:
        restore()
    if as_json:
        emit_json([{"job": name, "ok": r.ok, "skipped": r.skipped, "summary": r.summary}
                   for name, r in zip(names, results, strict=False)])
    else:
        for name, result in zip(names, results, strict=False):
            status = "skipped" if result.skipped else ("ok" if result.ok else "FAILED")
            click.echo(f"{name}: {status}: {result.summary}")
    if not all(r.ok for r in results):
        sys.exit(1)
