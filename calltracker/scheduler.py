"""Edge: APScheduler 3.x wiring only. What runs and how is jobs.JobRunner's business.

Each job gets a cron trigger in schedule.timezone, `coalesce=True` (several missed runs become one),
`misfire_grace_time` (a run missed by more is skipped, not run late) and `max_instances=1` (a job never
overlaps itself in one process; the database lock keeps other processes out).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from calltracker.config import ScheduleSettings
from calltracker.jobs import JOB_NAMES, StopToken

log = logging.getLogger(__name__)

_CRON_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DOW_ITEM = re.compile(r"^(?P<first>\d)(?:-(?P<last>\d))?(?P<step>/\d+)?$")


def _weekday_names(field: str) -> str:
    """Crontab weekday numbers (0 or 7 = Sunday) as names: APScheduler 3 reads numbers with 0 = Monday."""
    items = []
    for item in field.split(","):
        m = _DOW_ITEM.match(item)
        if not m:
            items.append(item)  # names, "*", "*/2": the same in both conventions
            continue
        first = int(m["first"])
        last = int(m["last"]) if m["last"] else None
        step = m["step"] or ""
        if last is None:
            items.append(_CRON_WEEKDAYS[first])
        elif first == 0 and last >= 1 and not step:
            # "0-5" is Sunday to Friday; APScheduler's weeks start on Monday, so split off Sunday.
            items += [f"mon-{_CRON_WEEKDAYS[min(last, 6)]}" if last > 1 else "mon", "sun"]
        else:
            items.append(f"{_CRON_WEEKDAYS[first]}-{_CRON_WEEKDAYS[last]}{step}")
    return ",".join(items)


def cron_trigger(expr: str, zone: tzinfo) -> CronTrigger:
    """A trigger for a 5-field crontab expression with crontab's weekday numbering."""
    minute, hour, day, month, dow = expr.split()
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_weekday_names(dow),
                       timezone=zone)


def cron_triggers(schedule: ScheduleSettings) -> dict[str, BaseTrigger]:
    zone = ZoneInfo(schedule.timezone)
    exprs = {"scrape": schedule.scrape, "alerts": schedule.alerts, "digest": schedule.digest}
    return {name: cron_trigger(exprs[name], zone) for name in JOB_NAMES}


def next_runs(schedule: ScheduleSettings, now: datetime) -> dict[str, datetime | None]:
    """When each job fires next after `now`, in schedule.timezone."""
    return {name: trigger.get_next_fire_time(None, now) for name, trigger in cron_triggers(schedule).items()}


def build_scheduler(run: Callable[[str], object], triggers: Mapping[str, BaseTrigger], *, zone: tzinfo,
                    misfire_grace_seconds: int, run_now: Iterable[str] = ()) -> BackgroundScheduler:
    """A scheduler (not started) calling run(name) per trigger; `run_now` jobs also fire at start."""
    scheduler = BackgroundScheduler(timezone=zone)
    now = datetime.now(zone)
    immediate = set(run_now)
    for name, trigger in triggers.items():
        extra = {"next_run_time": now} if name in immediate else {}
        scheduler.add_job(run, trigger, args=[name], id=name, name=name, coalesce=True, max_instances=1,
                          misfire_grace_time=misfire_grace_seconds, replace_existing=True, **extra)
    return scheduler


def serve(run: Callable[[str], object], triggers: Mapping[str, BaseTrigger], stop: StopToken, *, zone: tzinfo,
          misfire_grace_seconds: int, run_now: Iterable[str] = ()) -> None:
    """Run the scheduler until `stop` is set, then wait for running jobs to finish their current item."""
    scheduler = build_scheduler(run, triggers, zone=zone, misfire_grace_seconds=misfire_grace_seconds,
                                run_now=run_now)
    scheduler.start()
    for job in scheduler.get_jobs():
        log.info("scheduled %s: next run %s", job.id, job.next_run_time.isoformat() if job.next_run_time else "-")
    try:
        # A timeout keeps the main thread waking up, so signal handlers run promptly on every platform.
        while not stop.wait(1.0):
            pass
    finally:
        log.info("stopping: waiting for running jobs to finish their current item")
        scheduler.shutdown(wait=True)
        log.info("scheduler stopped")
