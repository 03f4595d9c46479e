"""Quarantined records: scraped records storage could not keep, kept raw so nothing is lost silently."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from calltracker.domain import ScrapedCall
from calltracker.storage.base import Repo
from calltracker.storage.bounds import ERROR_LEN, EXTERNAL_ID_LEN, clean_text, cut, distinct_cut, raw_record
from calltracker.storage.schema import QuarantinedRecordRow
from calltracker.views import QuarantinedRecord

log = logging.getLogger(__name__)


class QuarantineRepo(Repo):
    # -- quarantined records -----------------------------------------------------------------------------

    def quarantined(self, source: str | None = None, *, run_id: int | None = None,
                    limit: int = 50) -> list[QuarantinedRecord]:
        """The latest quarantined records, newest first (of one source or run if given)."""
        stmt = select(*QuarantinedRecordRow.__table__.c).order_by(QuarantinedRecordRow.quarantined_at.desc(),
                                                     QuarantinedRecordRow.id.desc()).limit(limit)
        if source is not None:
            stmt = stmt.where(QuarantinedRecordRow.source == source)
        if run_id is not None:
            stmt = stmt.where(QuarantinedRecordRow.run_id == run_id)
        with self._tx() as conn:
            return [QuarantinedRecord(source=r.source, external_id=r.external_id, error=r.error, record=r.record,
                                      quarantined_at=r.quarantined_at, run_id=r.run_id, id=r.id)
                    for r in conn.execute(stmt)]

    def quarantine_counts(self, *, since: datetime | None = None) -> dict[str, int]:
        """source -> how many records are in quarantine (quarantined after `since` if given)."""
        stmt = select(QuarantinedRecordRow.source, func.count()).group_by(QuarantinedRecordRow.source)
        if since is not None:
            stmt = stmt.where(QuarantinedRecordRow.quarantined_at > since)
        with self._tx() as conn:
            return {source: int(n) for source, n in conn.execute(stmt)}


def quarantine(conn: Connection, source: str, refused: Sequence[tuple[ScrapedCall, str]], *, run_id: int | None,
               now: datetime) -> list[QuarantinedRecord]:
    """Keep the refused records raw, each with its error; one WARNING line per record."""
    out = [QuarantinedRecord(source=source,
                             external_id=distinct_cut(clean_text(call.external_id), EXTERNAL_ID_LEN),
                             error=cut(clean_text(error), ERROR_LEN), record=raw_record(call), quarantined_at=now,
                             run_id=run_id) for call, error in refused]
    if out:
        conn.execute(insert(QuarantinedRecordRow), [
            {"source": q.source, "external_id": q.external_id, "error": q.error, "record": q.record,
             "quarantined_at": q.quarantined_at, "run_id": q.run_id} for q in out])
    for q in out:
        log.warning("%s: record %r quarantined, not stored: %s", source, q.external_id, q.error)
    return out
