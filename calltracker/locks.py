"""Job locks shared by every calltracker instance on one database, with a lease that outlives no holder.

A lock is a row in `job_locks` (see Store.acquire_job_lock). While the job runs, a small thread renews the
lease every third of its length, so a long scrape keeps the lock and a crashed or killed instance loses it
when the lease expires (schedule.lock_lease_seconds) -- or at once, when it ran on this host and its process
is gone (a SIGKILL, a crash). The lock is released when the job finishes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from calltracker.errors import StorageError
from calltracker.holders import holder_is_gone, make_holder
from calltracker.storage import Store

__all__ = ["Lease", "holder_is_gone", "job_lock", "make_holder"]

log = logging.getLogger(__name__)


@dataclass
class Lease:
    """A held lock. `lost` turns true if a renewal found the lock taken by someone else."""

    name: str
    holder: str
    lost: threading.Event = field(default_factory=threading.Event)


class _Renewer(threading.Thread):
    def __init__(self, store: Store, lease: Lease, seconds: float, clock: Callable[[], datetime]) -> None:
        super().__init__(name=f"lease-{lease.name}", daemon=True)
        self.store, self.lease, self.seconds, self.clock = store, lease, seconds, clock
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.seconds / 3):
            try:
                held = self.store.renew_job_lock(self.lease.name, self.lease.holder, self.clock(), self.seconds)
            except StorageError as exc:
                # A blip in the database is not a lost lock; the next renewal tries again before expiry.
                log.warning("job %s: could not renew its lock: %s", self.lease.name, exc)
                continue
            if not held:
                log.error("job %s: lost its lock (lease expired and another instance took it)", self.lease.name)
                self.lease.lost.set()
                return


@contextmanager
def job_lock(store: Store, name: str, holder: str, lease_seconds: float,
             clock: Callable[[], datetime]) -> Iterator[Lease | None]:
    """Hold the database lock of job `name` for the block, renewing its lease; yields None if it is taken."""
    if not store.acquire_job_lock(name, holder, clock(), lease_seconds, holder_gone=holder_is_gone):
        yield None
        return
    lease = Lease(name, holder)
    renewer = _Renewer(store, lease, lease_seconds, clock)
    renewer.start()
    try:
        yield lease
    finally:
        renewer.done.set()
        renewer.join()
        try:
            store.release_job_lock(name, holder)
        except StorageError as exc:
            log.warning("job %s: could not release its lock (it expires with its lease): %s", name, exc)
