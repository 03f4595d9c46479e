"""Classifications of stored calls."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    delete,
    insert,
    or_,
    select,
    update,
)

from calltracker.storage.base import Repo
from calltracker.storage.schema import (
    CallRow,
    CallThemeRow,
    ClassificationRow,
)

log = logging.getLogger(__name__)

class ClassificationsRepo(Repo):
    # -- classification ----------------------------------------------------------------------------------

    def save_classification(self, call_id: int, *, rules_version: str, themes: Mapping[str, float],
                            eligible: Mapping[str, bool], scope: str, consortium: str, tri_regional_fit: bool,
                            fit_score: int, fit_reason: str, fit_reason_it: str | None,
                            evidence: Mapping[str, Any], now: datetime) -> None:
        values = {
            "rules_version": rules_version, "scope": scope, "consortium": consortium,
            "eligible_lombardia": bool(eligible.get("lombardia")),
            "eligible_piemonte": bool(eligible.get("piemonte")),
            "eligible_liguria": bool(eligible.get("liguria")),
            "tri_regional_fit": tri_regional_fit, "fit_score": fit_score, "fit_reason": fit_reason,
            "fit_reason_it": fit_reason_it, "evidence": dict(evidence), "classified_at": now,
        }
        with self._tx() as conn:
            done = conn.execute(update(ClassificationRow).where(ClassificationRow.call_id == call_id)
                                .values(**values)).rowcount
            if not done:
                conn.execute(insert(ClassificationRow).values(call_id=call_id, **values))
            conn.execute(delete(CallThemeRow).where(CallThemeRow.call_id == call_id))
            if themes:
                conn.execute(insert(CallThemeRow), [{"call_id": call_id, "theme": t, "score": float(s)}
                                                    for t, s in themes.items()])

    def calls_to_classify(self, rules_version: str) -> list[int]:
        """Calls never classified, classified by other rules, or changed since they were classified."""
        stmt = (select(CallRow.id).outerjoin(ClassificationRow, ClassificationRow.call_id == CallRow.id)
                .where(or_(ClassificationRow.call_id.is_(None), ClassificationRow.rules_version != rules_version,
                           ClassificationRow.classified_at < CallRow.last_changed_at))
                .order_by(CallRow.id))
        with self._tx() as conn:
            return list(conn.scalars(stmt))

