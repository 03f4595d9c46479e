"""Service: classify stored calls that are new, changed, or were classified by older rules.

Attached documents (PDF "bando" and annexes) are read too (`CallText.documents`), and every evidence found
in a page says which document and page it came from (`"document"`, `"document_url"`, `"page"` in the stored
evidence).
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from calltracker.classify import RULES_VERSION, CallText, Classification, classify
from calltracker.domain import Document, Region, Scope
from calltracker.storage import NewClassification, Store

log = logging.getLogger(__name__)


#: Evidence found in an attached document's page: the classifier names the field "document 'NAME' page N".
_DOCUMENT_FIELD = re.compile(r"^document (?P<name>'.*'|\".*\") page (?P<page>\d+)$")


def locate(evidence: Any, documents: Sequence[Document]) -> Any:
    """Evidence JSON (a dict, or lists/dicts of them) with the document, its address and the page of each match
    found in an attached document spelled out (`"document"`, `"document_url"`, `"page"`)."""
    if isinstance(evidence, list):
        return [locate(e, documents) for e in evidence]
    if isinstance(evidence, dict):
        found = _DOCUMENT_FIELD.match(str(evidence.get("field") or ""))
        if found:
            name = ast.literal_eval(found["name"])
            url = next((d.url for d in documents if d.name == name), None)
            return {**evidence, "document": name, "document_url": url, "page": int(found["page"])}
        return {k: locate(v, documents) for k, v in evidence.items()}
    return evidence


def call_text(row: Any, documents: Sequence[Document] = ()) -> CallText:
    """The classifier's view of a stored call row and of its attached documents."""
    text = "\n".join(part for part in (row["summary"], row["description"]) if part)
    scope = None
    if row["scope"]:
        try:
            scope = Scope(row["scope"])
        except ValueError:
            scope = None
    return CallText(
        id=str(row["id"]), title=row["title"], text=text, identifier=row["identifier"],
        programme=row["programme"], language=row["language"], source=row["source"], scope=scope,
        regions=tuple(Region(r) for r in (row["regions"] or ()) if r in {x.value for x in Region}),
        documents=tuple(documents),
    )


def new_classification(call_id: int, result: Classification,
                       documents: Sequence[Document] = ()) -> NewClassification:
    return NewClassification(
        call_id=call_id, rules_version=result.rules_version,
        themes={t.theme.value: float(t.score) for t in result.themes},
        eligible={region.value: ok for region, ok in result.eligible.items()},
        scope=result.scope.value, consortium=result.consortium.value,
        tri_regional_fit=result.tri_regional_fit, fit_score=result.fit_score, fit_reason=result.fit_reason,
        fit_reason_it=result.fit_reason_it, evidence=locate(result.to_json()["evidence"], documents),
    )


def store_classification(store: Store, call_id: int, result: Classification, now: datetime,
                         documents: Sequence[Document] = ()) -> None:
    store.save_classifications([new_classification(call_id, result, documents)], now=now)


BATCH = 500


def classify_pending(store: Store, now: datetime, ids: Iterable[int] | None = None) -> int:
    """Classify the given calls, or every call whose classification is missing or stale. Returns the count.

    Calls are read, classified and stored a batch at a time: one read and one write transaction per batch.
    """
    todo = list(ids) if ids is not None else store.calls_to_classify(RULES_VERSION)
    for start in range(0, len(todo), BATCH):
        chunk = todo[start:start + BATCH]
        rows = store.calls_for_classifier(chunk)
        documents = store.documents_of(chunk)
        store.save_classifications(
            [new_classification(row["id"], classify(call_text(row, documents.get(row["id"], ()))),
                                documents.get(row["id"], ())) for row in rows], now=now)
    if todo:
        log.info("classified %d calls (rules %s)", len(todo), RULES_VERSION)
    return len(todo)


def explain_stored_call(store: Store, ref: str) -> tuple[str, Classification]:
    """Classify a stored call afresh and explain every rule that fired."""
    from calltracker.classify import explain

    view = store.get_call(ref)
    result = classify(call_text(store.call_text(view.id), store.documents(view.id)))
    return explain(result), result
