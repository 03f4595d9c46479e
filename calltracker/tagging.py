"""Service: classify stored calls that are new, changed, or were classified by older rules.

Attached documents (PDF "bando" and annexes) are read too: their pages follow the call's own text in the
classifier's input, and every evidence found in a page says which document and page it came from
(`"document"`, `"document_url"`, `"page"` in the stored evidence).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from calltracker.classify import RULES_VERSION, CallText, Classification, classify
from calltracker.domain import Document, Region, Scope
from calltracker.storage import Store

log = logging.getLogger(__name__)


#: How much document text one call gives the classifier (the first pages of the first documents).
DOCUMENT_TEXT_MAX = 200_000


@dataclass(frozen=True, slots=True)
class PageSpan:
    """Where one document page sits in the classifier's text."""

    start: int
    end: int
    document: str
    url: str
    page: int


def with_documents(text: str, documents: Sequence[Document]) -> tuple[str, list[PageSpan]]:
    """The call's text followed by its documents' pages, and where each page is in it."""
    spans: list[PageSpan] = []
    for doc in documents:
        for number, page in enumerate(doc.pages, start=1):
            if not page.strip():
                continue
            if len(text) >= DOCUMENT_TEXT_MAX:
                return text, spans
            header = f"\n\n[{doc.name}, p. {number}]\n"
            start = len(text) + len(header)
            text = text + header + page[:DOCUMENT_TEXT_MAX]
            spans.append(PageSpan(start, len(text), doc.name, doc.url, number))
    return text, spans


def locate(evidence: Any, spans: Sequence[PageSpan]) -> Any:
    """Evidence JSON (a dict, or lists/dicts of them) with the document and page of each text match added."""
    if isinstance(evidence, list):
        return [locate(e, spans) for e in evidence]
    if isinstance(evidence, dict):
        if evidence.get("field") == "text" and isinstance(evidence.get("start"), int):
            for span in spans:
                if span.start <= evidence["start"] < span.end:
                    return {**evidence, "document": span.document, "document_url": span.url, "page": span.page}
            return evidence
        return {k: locate(v, spans) for k, v in evidence.items()}
    return evidence


def call_text(row: Any, documents: Sequence[Document] = ()) -> CallText:
    """The classifier's view of a stored call row (and of its documents' text, after the call's own)."""
    text, _ = with_documents("\n".join(part for part in (row["summary"], row["description"]) if part), documents)
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
    )


def store_classification(store: Store, call_id: int, result: Classification, now: datetime,
                         spans: Sequence[PageSpan] = ()) -> None:
    store.save_classification(
        call_id, rules_version=result.rules_version,
        themes={t.theme.value: float(t.score) for t in result.themes},
        eligible={region.value: ok for region, ok in result.eligible.items()},
        scope=result.scope.value, consortium=result.consortium.value,
        tri_regional_fit=result.tri_regional_fit, fit_score=result.fit_score, fit_reason=result.fit_reason,
        fit_reason_it=result.fit_reason_it, evidence=locate(result.to_json()["evidence"], spans), now=now,
    )


def classify_pending(store: Store, now: datetime, ids: Iterable[int] | None = None) -> int:
    """Classify the given calls, or every call whose classification is missing or stale. Returns the count."""
    todo = list(ids) if ids is not None else store.calls_to_classify(RULES_VERSION)
    for call_id in todo:
        row = store.call_text(call_id)
        documents = store.documents(call_id)
        _, spans = with_documents("\n".join(p for p in (row["summary"], row["description"]) if p), documents)
        store_classification(store, call_id, classify(call_text(row, documents)), now, spans)
    if todo:
        log.info("classified %d calls (rules %s)", len(todo), RULES_VERSION)
    return len(todo)


def explain_stored_call(store: Store, ref: str) -> tuple[str, Classification]:
    """Classify a stored call afresh and explain every rule that fired."""
    from calltracker.classify import explain

    view = store.get_call(ref)
    result = classify(call_text(store.call_text(view.id), store.documents(view.id)))
    return explain(result), result
