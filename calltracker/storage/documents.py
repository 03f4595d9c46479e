"""Documents attached to calls: their text page by page, kept apart from the call's tracked fields."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select, update

from calltracker.domain import Document
from calltracker.storage.base import Repo
from calltracker.storage.schema import CallDocumentRow, CallRow, ClassificationRow

log = logging.getLogger(__name__)

#: What a document's name may hold (longer names are cut).
NAME_MAX = 512


class DocumentsRepo(Repo):
    def save_documents(self, source: str, documents: Mapping[str, Sequence[Document]], *, now: datetime) -> int:
        """Store documents of calls of `source` (by external id), replacing a stored copy of the same URL and
        never removing others. A call whose documents changed is classified again. Returns how many changed."""
        if not documents:
            return 0
        changed = 0
        with self._tx() as conn:
            ids: dict[str, int] = {row[0]: row[1] for row in conn.execute(select(CallRow.external_id, CallRow.id).where(
                CallRow.source == source, CallRow.external_id.in_(list(documents))))}
            touched: set[int] = set()
            for external_id, docs in documents.items():
                call_id = ids.get(external_id)
                if call_id is None:
                    log.warning("%s: documents of %s, a call not stored, are dropped", source, external_id)
                    continue
                stored = {r["url"]: r for r in conn.execute(select(CallDocumentRow).where(
                    CallDocumentRow.call_id == call_id)).mappings()}
                for doc in docs:
                    old = stored.get(doc.url)
                    name = doc.name[:NAME_MAX]
                    if old is not None and list(old["pages"] or ()) == list(doc.pages) and old["name"] == name:
                        continue
                    if old is not None:
                        conn.execute(delete(CallDocumentRow).where(CallDocumentRow.id == old["id"]))
                    conn.execute(insert(CallDocumentRow).values(call_id=call_id, url=doc.url, name=name,
                                                                pages=list(doc.pages), fetched_at=now))
                    touched.add(call_id)
                    changed += 1
            if touched:  # classified again with the new text
                conn.execute(update(ClassificationRow).where(ClassificationRow.call_id.in_(touched))
                             .values(rules_version="stale: documents changed"))
        return changed

    def documents(self, call_id: int) -> list[Document]:
        """The stored documents of a call, in the order they were first stored."""
        return self.documents_of([call_id]).get(call_id, [])

    def documents_of(self, call_ids: Sequence[int]) -> dict[int, list[Document]]:
        """The stored documents of several calls (call id -> documents in the order first stored); one query."""
        out: dict[int, list[Document]] = {}
        if not call_ids:
            return out
        with self._tx() as conn:
            rows = conn.execute(select(CallDocumentRow).where(CallDocumentRow.call_id.in_(list(call_ids)))
                                .order_by(CallDocumentRow.call_id, CallDocumentRow.id)).mappings()
            for r in rows:
                out.setdefault(r["call_id"], []).append(
                    Document(name=r["name"], url=r["url"], pages=tuple(r["pages"] or ())))
        return out
