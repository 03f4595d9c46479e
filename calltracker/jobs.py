"""The runner every scheduled or one-off job goes through.

Jobs are named (`scrape`, `alerts`, `digest`, in that run order) and are plain callables built by the
composition root (`bootstrap.build_jobs`): `job(stop) -> anything`; the runner normalises what it returns
to a JobResult (see `normalise`).

Stopping. `StopToken` is the shared stop flag: SIGTERM/SIGINT set it (the CLI installs the handlers on the
process-wide `STOP`). A long job checks it between items (between sources, between deliveries) and returns
early, leaving nothing half-written.

Each run holds the job's database lock (locks.job_lock) so two instances on one database never run the same
job at once, pings the health-check URL, and logs one line with the outcome.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from calltracker.errors import CalltrackerError
from calltracker.healthcheck import Healthcheck
from calltracker.locks import job_lock, make_holder
from calltracker.storage import Store

log = logging.getLogger(__name__)

#: The jobs, in run-once order: collect first, then alert, then digest.
JOB_NAMES: tuple[str, ...] = ("scrape", "alerts", "digest")

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


#: A job: called with the runner's stop token, returns anything `normalise` understands.
Job = Callable[["StopToken"], object]
#: Runs after a job (e.g. staff notices after a scrape); None when it had nothing to do.
FollowUp = Callable[[], "JobResult | None"]


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


class JobRunner:
    """Runs named jobs one at a time each: lock, health-check pings, stop token, one log line."""

    def __init__(self, jobs: Mapping[str, Job], store: Store, clock: Callable[[], datetime], *,
                 lease_seconds: float, stop: StopToken = STOP, holder: str | None = None,
                 healthcheck: Healthcheck | None = None, after: Mapping[str, FollowUp] | None = None,
                 redact: Callable[[str], str] = str) -> None:
        self.jobs = dict(jobs)
        self.store = store  # for the job locks
        self.clock = clock
        self.redact = redact  # summaries go to health-check servers and terminals: no secrets in them
        self.stop = stop
        self.holder = holder or make_holder()
        self.lease_seconds = lease_seconds
        self.healthcheck = healthcheck or Healthcheck(None)
        self.after = dict(after or {})

    def run(self, name: str) -> JobResult:
        """Run job `name` now unless another instance holds its lock. Never raises for a job's failure."""
        if self.stop.stopped:
            return JobResult(True, f"{name}: not started (stopping)", skipped=True)
        started = time.monotonic()
        try:
            with job_lock(self.store, name, self.holder, self.lease_seconds, self.clock) as lease:
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
        log.log(level, "job %s: %s in %.1fs: %s", name, "ok" if result.ok else "FAILED", elapsed, result.summary,
                extra={"summary": True})  # run-once prints it instead (cli.context.SummaryFilter)
        return result

    def _call(self, name: str) -> JobResult:
        func = self.jobs.get(name)
        if func is None:
            return JobResult(False, f"{name}: no such job (known: {', '.join(self.jobs)})")
        try:
            value = func(self.stop)
        except Exception as exc:  # noqa: BLE001 - one job's crash must not take the scheduler down
            log.exception("job %s crashed", name)
            return JobResult(False, f"{name}: {type(exc).__name__}: {exc}")
        return normalise(value, name)

    def _after(self, name: str, result: JobResult) -> JobResult:
        try:
            extra = self.after[name]()
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
