"""Small real job functions for the scheduler and run-once tests (named in CALLTRACKER_JOBS by dotted path).

They leave traces a test can read: a line per run in the file named by $OPS_TEST_TRACE, or scrape-run rows.
"""

from __future__ import annotations

import logging
import os
import time
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


def slow_scrape(app: Any, stop: Any) -> dict[str, Any]:
    """Collects fake sources one at a time (a run row per item), checking the stop token between items."""
    done = 0
    for _ in range(100):
        if stop.stopped:
            break
        run_id = app.store.start_run("eu_ft", app.clock())
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
