"""Small real job functions for the scheduler and run-once tests, handed to the CLI as its job table.

In process: `cli.main(args, obj=CliState(jobs=table(scrape="record_scrape", ...)))`; in a real process:
`python -m tests.opsjobs scrape=slow_scrape -- CLI ARGS...`. They leave traces a test can read: a line per run
in the file named by $OPS_TEST_TRACE, or scrape-run rows.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger("tests.opsjobs")


def _trace(line: str) -> None:
    path = os.environ.get("OPS_TEST_TRACE")
    if path:
        with Path(path).open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def record_scrape(app: Any) -> dict[str, Any]:
    _trace("scrape")
    return {"ok": True, "summary": "scrape: 3 sources, 0 failed"}


def record_alerts(app: Any) -> None:
    _trace("alerts")


def record_digest(app: Any) -> dict[str, Any]:
    _trace("digest")
    return {"failed": 0, "summary": "digest: 2 sent"}


def failing_alerts(app: Any) -> None:
    _trace("alerts")
    raise RuntimeError("the alert job fell over")


def partly_failed_digest(app: Any) -> dict[str, Any]:
    _trace("digest")
    return {"failed": 1, "summary": "digest: 1 sent, 1 failed"}


def slow_scrape(app: Any, stop: Any = None) -> dict[str, Any]:
    """Collects fake sources one at a time (a run row per item), checking the stop token between items."""
    done = 0
    for _ in range(100):
        if stop.stopped:
            break
        run_id = app.store.start_run("eu_ft", app.clock())
        if done == 0:  # what a test waiting for the job to be under way reads (its run row and lock exist)
            sys.stdout.write("slow_scrape: started\n")
            sys.stdout.flush()
        time.sleep(0.25)
        app.store.finish_run(run_id, outcome="ok", finished_at=app.clock(), seen=1)
        done += 1
    _trace(f"slow_scrape {done}")
    return {"ok": True, "summary": f"scrape: {done} items"}


def leaky_alerts(app: Any) -> None:
    """Logs and fails with every secret in its messages, as a careless driver or library might."""
    settings = app.settings
    log.error("connecting with %s and %s", settings.database_url(), settings.mail.smtp_password)
    log.warning("signing with %s", settings.web.signing_key)
    raise RuntimeError(f"SMTP login refused for password {settings.mail.smtp_password}")


def make_app(db_url: str, data_dir: Path, **sections: dict[str, Any]) -> Any:
    """An App on the test database with the given config sections (a migrated schema is created)."""
    from calltracker.bootstrap import build_app
    from calltracker.config import parse_settings

    raw: dict[str, Any] = {"data_dir": str(data_dir), "database": {"url": db_url},
                           "mail": {"outbox_dir": str(data_dir / "outbox")}}
    for key, table in sections.items():
        raw[key] = {**raw.get(key, {}), **table}
    return build_app(parse_settings(raw, environ={}))


def table(**chosen: str) -> Callable[[Any], Mapping[str, Callable[[Any], object]]]:
    """A job table factory for CliState(jobs=...): job name -> the name of a function of this module."""
    funcs = {name: globals()[func] for name, func in chosen.items()}

    def build(app: Any) -> dict[str, Callable[[Any], object]]:
        def bind(func: Callable[..., object]) -> Callable[[Any], object]:
            return lambda stop: func(app, stop) if func is slow_scrape else func(app)

        return {name: bind(func) for name, func in funcs.items()}

    return build


GOOD = {"scrape": "record_scrape", "alerts": "record_alerts", "digest": "record_digest"}


def main(argv: list[str]) -> None:
    """`python -m tests.opsjobs NAME=FUNC ... -- CLI ARGS`: the real CLI in a real process with these jobs."""
    split = argv.index("--")
    chosen = dict(item.split("=", 1) for item in argv[:split])
    from calltracker.cli import cli
    from calltracker.cli.context import CliState

    cli.main(argv[split + 1:], prog_name="calltracker", obj=CliState(jobs=table(**{**GOOD, **chosen})))


if __name__ == "__main__":
    main(sys.argv[1:])


def make_runner(app: Any, jobs: Mapping[str, Callable[..., object]], *, after: Mapping[str, Callable[[Any], Any]]
           | None = None, **options: Any) -> Any:
    """A JobRunner on `app`'s store and clock for test jobs written as `job(app)` or `job(app, stop)`."""
    import inspect

    from calltracker.jobs import JobRunner

    def bind(func: Callable[..., object]) -> Callable[[Any], object]:
        takes_stop = len(inspect.signature(func).parameters) > 1
        return lambda stop: func(app, stop) if takes_stop else func(app)

    follow = {name: (lambda f=f: f(app)) for name, f in (after or {}).items()}
    return JobRunner({name: bind(f) for name, f in jobs.items()}, app.store, app.clock,
                     lease_seconds=app.settings.schedule.lock_lease_seconds, after=follow, **options)
