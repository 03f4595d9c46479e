"""The classifier's evidence as members read it: the sentence of the call that was matched, not the rule.

The rules themselves (kind, pattern, weight) stay for staff in `calltracker classify CALL --explain`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from calltracker import labels
from calltracker.text import plain_text, sentence_around
from calltracker.views import CallView
from calltracker.web.i18n import text

#: What each part of the evidence is about, in words (see classify.Classification.to_json).
_PARTS = {"themes": "themes", "regions": "eligible_regions", "scope": "scope", "consortium": "consortium"}


def _field_text(call: CallView, field: str) -> str | None:
    """The text the classifier read as `field` (tagging.call_text joins summary and description as "text")."""
    if field == "title":
        return call.title
    if field == "text":
        return "\n".join(part for part in (call.summary, call.description) if part)
    if field == "programme":
        return call.programme
    return None


def matched_sentence(call: CallView, item: Mapping[str, Any]) -> str | None:
    """The sentence of the call where a rule matched; None when the evidence names no place in the text."""
    source = _field_text(call, str(item.get("field") or ""))
    if not source:
        return None
    start, end, matched = item.get("start"), item.get("end"), str(item.get("matched") or "")
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(source)):
        start = end = None
    if start is not None and end is not None and (not matched or source[start:end].lower() == matched.lower()):
        return sentence_around(source, start, end)
    if matched:  # the text moved since it was classified: find the words again
        at = source.lower().find(matched.lower())
        if at >= 0:
            return sentence_around(source, at, at + len(matched))
    return None


def _items(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, Mapping) and "rule" in value:
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _items(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _items(v)


def evidence_rows(call: CallView, evidence: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    """(what, sentence) rows: for each theme and decision, the distinct sentences of the call behind it."""
    rows: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for part, value in evidence.items():
        groups: list[tuple[str, Any]]
        if part == "themes" and isinstance(value, Mapping):
            groups = [(f"{text(lang, 'theme')}: {labels.theme(str(k), lang)}", v) for k, v in value.items()]
        else:
            key = _PARTS.get(part)
            groups = [(text(lang, key) if key else plain_text(str(part), 60), value)]
        for what, items in groups:
            for item in _items(items):
                sentence = matched_sentence(call, item)
                if sentence and (what, sentence) not in seen:
                    seen.add((what, sentence))
                    rows.append((what, sentence))
    return rows
