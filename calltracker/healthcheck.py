"""Edge: ping a health-check URL at the start, success and failure of each job (healthchecks.io convention).

`URL/start` when a job starts, `URL` when it succeeds, `URL/fail` when it fails; the job name and summary go
in the POST body and a per-run `rid` pairs start and end. A ping never fails or delays a job by more than
its short timeout: errors are logged and forgotten.
"""

from __future__ import annotations

import logging

import httpx

log = logging.getLogger(__name__)

#: healthchecks.io keeps at most 100 kB of a ping body; a summary never needs that much.
MAX_BODY = 10_000


class Healthcheck:
    """Pings one URL; with no URL every method does nothing."""

    def __init__(self, url: str | None, *, timeout: float = 5.0, user_agent: str = "calltracker") -> None:
        self.url = url.rstrip("/") if url else None
        self.timeout = timeout
        self.user_agent = user_agent

    def start(self, job: str, rid: str) -> None:
        self._ping("/start", job, rid, f"{job}: started")

    def success(self, job: str, rid: str, summary: str) -> None:
        self._ping("", job, rid, summary)

    def fail(self, job: str, rid: str, summary: str) -> None:
        self._ping("/fail", job, rid, summary)

    def _ping(self, suffix: str, job: str, rid: str, body: str) -> None:
        if not self.url:
            return
        url = self.url + suffix
        try:
            response = httpx.post(url, params={"rid": rid}, content=body[:MAX_BODY].encode("utf-8"),
                                  headers={"User-Agent": self.user_agent, "Content-Type": "text/plain"},
                                  timeout=self.timeout)
        except httpx.HTTPError as exc:
            log.warning("job %s: health-check ping %s failed: %s", job, suffix or "/", type(exc).__name__)
            return
        if response.status_code >= 400:
            log.warning("job %s: health-check ping %s answered HTTP %s", job, suffix or "/", response.status_code)
