"""The job table and the runner every scheduled or one-off job goes through.

Jobs are named (`scrape`, `alerts`, `digest`) and resolved lazily by dotted path, so this module imports
no pipeline or mailer code until a job runs. A job function takes the App and returns anything; the
runner normalises it to a JobResult (see `normalise`).

Stopping. `StopToken` is the shared stop flag: SIGTERM/SIGINT set it (the CLI installs the handlers on the
process-wide `STOP`). A long job should check it between items (between sources, between deliveries) and
return early, leaving nothing half-written. A job function receives its runner's token if it declares a
keyword parameter named `stop` (`def run_scrape_job(app, stop=None)`); one that does not may read
`calltracker.jobs.STOP.stopped` instead.

Each run holds the job's database lock (locks.job_lock) so two instances on one database never run the same
job at once, pings the health-check URL, and logs one line with the outcome.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from calltracker.bootstrap import App
from calltracker.errors import CalltrackerError, ConfigError, DeliveryError
from calltracker.healthcheck import Healthcheck
from calltracker.locks import job_lock, make_holder

log = logging.getLogger(__name__)

#: Job name -> "module:function". Order matters for run-once: collect first, then alert, then digest.
DEFAULT_JOBS: dict[str, str] = {
    "scrape": "calltracker.collect:run_scrape_job",
    "alerts": "calltracker.delivery:send_alerts",
    "digest": "calltracker.delivery:send_digests",
}
JOB_NAMES: tuple[str, ...] = tuple(DEFAULT_JOBS)
#: Replaces entries of the table, e.g. `scrape=mypackage.jobs:scrape,digest=...` (custom deployments, tests).
ENV_JOBS = "CALLTRACKER_JOBS"
#: How staff are told about broken sources: a factory of the mail transport, resolved when first needed.
TRANSPORT_FACTORY = "calltracker.mailer:build_transport"

JobFunc = Callable[..., object]


class StopToken:
    """A stop request shared by the scheduler and the jobs: check `stopped` between items."""

    def __init__(self) -> None:
        self._event = threading.Event()

    @property
    def stopped(self) -> bool:
        return self._event.is_set()

    def stop(self) -> None:
        self._event.set()

    def wait(self, seconds: float | None = None) -> bool:
        """Sleep up to `seconds`, waking early on a stop request. True when stopped."""
        return self._event.wait(seconds)

    def reset(self) -> None:
        self._event.clear()


#: The process-wide token the CLI's signal handlers set.
STOP = StopToken()


@dataclass(frozen=True)
class JobResult:
    """What a job run came to. `skipped` runs (another instance held the lock) count as ok."""

    ok: bool
    summary: str
    details: Any = None
    skipped: bool = False


@dataclass(frozen=True)
class JobTable:
    """Job name -> function or "module:function", in run order."""

    entries: Mapping[str, JobFunc | str] = field(default_factory=lambda: dict(DEFAULT_JOBS))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.entries)

    def resolve(self, name: str) -> JobFunc:
        target = self.entries[name]
        return resolve(target) if isinstance(target, str) else target


def resolve(dotted: str) -> JobFunc:
    """Import "package.module:function". Raises ImportError or AttributeError when it is not there."""
    module_name, _, attr = dotted.partition(":")
    func = getattr(importlib.import_module(module_name), attr)
    if not callable(func):
        raise TypeError(f"{dotted} is not callable")
    return func  # type: ignore[no-any-return]


def job_table(environ: Mapping[str, str] | None = None) -> JobTable:
    """The default table, with entries replaced from $CALLTRACKER_JOBS ("name=module:function,...")."""
    env = os.environ if environ is None else environ
    entries: dict[str, JobFunc | str] = dict(DEFAULT_JOBS)
    for item in filter(None, (part.strip() for part in env.get(ENV_JOBS, "").split(","))):
        name, sep, target = item.partition("=")
        name, target = name.strip(), target.strip()
        if not sep or name not in entries or ":" not in target:
            raise ConfigError(f'{ENV_JOBS}: expected "NAME=module:function" with NAME one of '
                              f'{", ".join(JOB_NAMES)}, got "{item}"')
        entries[name] = target
    return JobTable(entries)


def _accepts_stop(func: JobFunc) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return "stop" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _field(value: object, name: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)


def normalise(value: object, name: str) -> JobResult:
    """Turn what a job returned into a JobResult.

    None means done; a bool is the outcome; otherwise the first of these decides: an `ok` bool, an
    `outcome` string (ok unless "failed"/"error"; pipeline.SourceReport), a `failed` count or collection
    (ok when zero/empty). A list or tuple is ok when every element is, and names the failed `source`s.
    The summary is `summary`, else `line()`, else str(value).
    """
    if isinstance(value, JobResult):
        return value
    if value is None:
        return JobResult(True, f"{name}: done")
    if isinstance(value, bool):
        return JobResult(value, f"{name}: {'ok' if value else 'failed'}")
    if isinstance(value, list | tuple):
        parts = [normalise(v, name) for v in value]
        bad = [str(_field(v, "source") or i) for i, (v, p) in enumerate(zip(value, parts, strict=True)) if not p.ok]
        text = f"{name}: {len(parts)} done, {len(bad)} failed" + (f" ({', '.join(bad)})" if bad else "")
        return JobResult(not bad, text, details=value)
    ok: bool = True
    flag, failed, outcome = _field(value, "ok"), _field(value, "failed"), _field(value, "outcome")
    if isinstance(flag, bool):
        ok = flag
    elif isinstance(outcome, str):
        ok = outcome.lower() not in ("failed", "error")
    elif isinstance(failed, int) and not isinstance(failed, bool):
        ok = failed == 0
    elif isinstance(failed, Sequence | Mapping | set) and not isinstance(failed, str):
        ok = len(failed) == 0
    summary = _field(value, "summary") or _field(value, "line")
    if callable(summary):
        summary = summary()
    return JobResult(ok, str(summary) if summary else str(value), details=value)


def report_broken_sources(app: App) -> JobResult | None:
    """After a scrape: record which sources broke or recovered, and tell staff (when there are any).

    Without staff addresses the state is still recorded (`broken_since`, shown by `status`) and None returned.
    """
    from calltracker.staff_notices import notify_broken_sources

    if not app.settings.mail.staff_addresses:
        notify_broken_sources(app, None)
        return None

    try:
        factory = resolve(TRANSPORT_FACTORY)
    except (ImportError, AttributeError):
        log.warning("staff notices: no mail transport available (%s); not sent", TRANSPORT_FACTORY)
        return JobResult(False, "staff notices: no mail transport")
    transport = factory(app.settings)
    try:
        with transport:  # type: ignore[attr-defined]  # a transport is a context manager: its connection closes
            sent = notify_broken_sources(app, transport)  # type: ignore[arg-type]
    except DeliveryError as exc:
        return JobResult(False, f"staff notices: not sent: {exc}")
    return JobResult(True, f"staff notices: {len(sent)} sent")


def consortium_mail(app: App) -> JobResult | None:
    """After alerts and digests: introductions due, and the weekly staff report (calltracker.introductions)."""
    from calltracker.introductions import consortium_mail as send

    return send(app)


class JobRunner:
    """Runs named jobs one at a time each: lock, health-check pings, stop token, one log line."""

    def __init__(self, app: App, table: JobTable | None = None, *, stop: StopToken = STOP,
                 holder: str | None = None, lease_seconds: float | None = None,
                 healthcheck: Healthcheck | None = None,
                 after: Mapping[str, Callable[[App], JobResult | None]] | None = None,
                 redact: Callable[[str], str] = str) -> None:
        self.app = app
        self.redact = redact  # summaries go to health-check servers and terminals: no secrets in them
        self.table = table or JobTable()
        self.stop = stop
        self.holder = holder or make_holder()
        self.lease_seconds = lease_seconds or app.settings.schedule.lock_lease_seconds
        self.healthcheck = healthcheck or Healthcheck(app.settings.schedule.healthcheck_url,
                                                      user_agent=app.settings.http.user_agent)
        self.after = ({"scrape": report_broken_sources, "alerts": consortium_mail, "digest": consortium_mail}
                      if after is None else dict(after))

    def run(self, name: str) -> JobResult:
        """Run job `name` now unless another instance holds its lock. Never raises for a job's failure."""
        if self.stop.stopped:
            return JobResult(True, f"{name}: not started (stopping)", skipped=True)
        started = time.monotonic()
        try:
            with job_lock(self.app.store, name, self.holder, self.lease_seconds, self.app.clock) as lease:
                if lease is None:
                    log.info("job %s: skipped, another instance is running it", name)
                    return JobResult(True, f"{name}: skipped (running elsewhere)", skipped=True)
                rid = str(uuid.uuid4())
                self.healthcheck.start(name, rid)
                result = self._call(name)
                if lease.lost.is_set():
                    result = JobResult(False, f"{result.summary} (lost its lock during the run)", result.details)
                if name in self.after and not self.stop.stopped:
                    result = self._after(name, result)
                result = replace(result, summary=self.redact(result.summary))
                (self.healthcheck.success if result.ok else self.healthcheck.fail)(name, rid, result.summary)
        except CalltrackerError as exc:  # the lock table itself is unreachable
            result = JobResult(False, self.redact(f"{name}: {exc}"))
        elapsed = time.monotonic() - started
        level = logging.INFO if result.ok else logging.WARNING
        log.log(level, "job %s: %s in %.1fs: %s", name, "ok" if result.ok else "FAILED", elapsed, result.summary)
        return result

    def _call(self, name: str) -> JobResult:
        try:
            func = self.table.resolve(name)
        except (ImportError, AttributeError, TypeError) as exc:
            return JobResult(False, f"{name}: job not available: {exc}")
        try:
            value = func(self.app, stop=self.stop) if _accepts_stop(func) else func(self.app)
        except Exception as exc:  # noqa: BLE001 - one job's crash must not take the scheduler down
            log.exception("job %s crashed", name)
            return JobResult(False, f"{name}: {type(exc).__name__}: {exc}")
        return normalise(value, name)

    def _after(self, name: str, result: JobResult) -> JobResult:
        try:
            extra = self.after[name](self.app)
        except Exception as exc:  # noqa: BLE001 - the job itself already ran
            log.exception("job %s: follow-up failed", name)
            extra = JobResult(False, f"follow-up failed: {type(exc).__name__}: {exc}")
        if extra is None:
            return result
        return JobResult(result.ok and extra.ok, f"{result.summary}; {extra.summary}", result.details)

    def run_many(self, names: Sequence[str]) -> list[JobResult]:
        """Run jobs in order, stopping early (not starting the next) when a stop was requested."""
        results: list[JobResult] = []
        for name in names:
            if self.stop.stopped:
                log.info("stop requested: not starting %s", ", ".join(names[len(results):]))
                break
            results.append(self.run(name))
        return results
