"""Classifications of stored calls."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    delete,
    or_,
    select,
)
from sqlalchemy.engine import RowMapping

from calltracker.storage.base import Repo
from calltracker.storage.schema import (
    CallRow,
    CallThemeRow,
    ClassificationRow,
)
from calltracker.storage.sql import chunks, insert_fresh_columns, insert_rows, one_of
from calltracker.views import NewClassification

log = logging.getLogger(__name__)

class ClassificationsRepo(Repo):
    # -- classification ----------------------------------------------------------------------------------

    def save_classification(self, call_id: int, *, rules_version: str, themes: Mapping[str, float],
                            eligible: Mapping[str, bool], scope: str, consortium: str, tri_regional_fit: bool,
                            fit_score: int, fit_reason: str, fit_reason_it: str | None,
                            evidence: Mapping[str, Any], now: datetime) -> None:
        self.save_classifications([NewClassification(
            call_id=call_id, rules_version=rules_version, themes=themes, eligible=eligible, scope=scope,
            consortium=consortium, tri_regional_fit=tri_regional_fit, fit_score=fit_score, fit_reason=fit_reason,
            fit_reason_it=fit_reason_it, evidence=evidence)], now=now)

    def save_classifications(self, items: Sequence[NewClassification], *, now: datetime) -> None:
        """Store many classifications in one transaction: one upsert, one delete and one insert of themes."""
        latest = {item.call_id: item for item in items}  # the last one of a call wins
        if not latest:
            return
        rows = [{
            "call_id": item.call_id, "rules_version": item.rules_version, "scope": item.scope,
            "consortium": item.consortium, "eligible_lombardia": bool(item.eligible.get("lombardia")),
            "eligible_piemonte": bool(item.eligible.get("piemonte")),
            "eligible_liguria": bool(item.eligible.get("liguria")), "tri_regional_fit": item.tri_regional_fit,
            "fit_score": item.fit_score, "fit_reason": item.fit_reason, "fit_reason_it": item.fit_reason_it,
            "evidence": dict(item.evidence), "classified_at": now} for item in latest.values()]
        themes = [(item.call_id, t, float(s)) for item in latest.values() for t, s in item.themes.items()]
        with self._tx() as conn:
            insert_rows(conn, ClassificationRow.__table__, rows, conflict=["call_id"],
                        update=[k for k in rows[0] if k != "call_id"])
            for chunk in chunks(conn, sorted(latest)):
                conn.execute(delete(CallThemeRow).where(one_of(conn, CallThemeRow.call_id, chunk)))
            # (nothing conflicts: the calls' themes were just deleted)
            insert_fresh_columns(conn, CallThemeRow.__table__, {"call_id": [c for c, _, _ in themes],
                                                                "theme": [t for _, t, _ in themes],
                                                                "score": [s for _, _, s in themes]})

    def calls_for_classifier(self, ids: Sequence[int]) -> list[RowMapping]:
        """The fields the classifier reads, for many calls (in the order of `ids`; unknown ids are skipped)."""
        columns = [CallRow.id, CallRow.title, CallRow.summary, CallRow.description, CallRow.identifier,
                   CallRow.programme, CallRow.language, CallRow.source, CallRow.scope, CallRow.regions]
        found: dict[int, RowMapping] = {}
        with self._tx() as conn:
            for chunk in chunks(conn, list(ids)):
                found.update((r["id"], r) for r in conn.execute(
                    select(*columns).where(one_of(conn, CallRow.id, chunk))).mappings())
        return [found[i] for i in ids if i in found]

    def calls_to_classify(self, rules_version: str) -> list[int]:
        """Calls never classified, classified by other rules, or changed since they were classified."""
        stmt = (select(CallRow.id).outerjoin(ClassificationRow, ClassificationRow.call_id == CallRow.id)
                .where(or_(ClassificationRow.call_id.is_(None), ClassificationRow.rules_version != rules_version,
                           ClassificationRow.classified_at < CallRow.last_changed_at))
                .order_by(CallRow.id))
        with self._tx() as conn:
            return list(conn.scalars(stmt))

