"""The storage edge: every field of a scraped record cleaned and bounded to what both engines can keep.

PostgreSQL refuses NUL bytes in text, strings longer than their column, lone surrogates and NaN in JSON;
SQLite takes most of these silently. Cleaning them here makes both engines store the same thing. Values
that must stay distinct when cut (external ids, link keys) end in a digest of the whole value.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any

from calltracker.domain import Deadline, ScrapedCall

# Column widths of schema.py, and sane bounds for the unbounded text columns.
EXTERNAL_ID_LEN = 255
IDENTIFIER_LEN = 255
PROGRAMME_LEN = 255
LANGUAGE_LEN = 8
LABEL_LEN = 255
LINK_KEY_LEN = 512
ETAG_LEN = 512
LAST_MODIFIED_LEN = 128
TEXT_LIMITS = {"title": 4_000, "url": 4_000, "summary": 20_000, "description": 200_000, "deadline_text": 2_000,
               "budget_text": 2_000}
ERROR_LEN = 2_000


def clean_text(value: str) -> str:
    """Without NUL bytes and lone surrogates (neither can be stored as UTF-8 text)."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode()
    return value


def cut(value: str, limit: int) -> str:
    """At most `limit` characters, an ellipsis marking a cut."""
    return value if len(value) <= limit else value[:limit - 1] + "…"


def distinct_cut(value: str, limit: int) -> str:
    """At most `limit` characters; two long values that differ stay different (a digest of the whole)."""
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()
    return f"{value[:limit - len(digest) - 1]}#{digest}"


def clean_json(value: Any) -> Any:
    """A JSON-safe copy: text cleaned, NaN and infinities as null, keys as text, other objects as text."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [clean_json(v) for v in value]
    return clean_text(str(value))


def is_clean_json(value: Any) -> bool:
    """Whether `value` is built of JSON's own types only (dicts with text keys, lists, text, ints, finite floats,
    booleans, None) and its text is clean: `clean_json` and a JSON round trip would both give it back equal.
    One walk, no copy: what most scraped payloads cost.
    """
    kind = type(value)
    if kind is str:
        return "\x00" not in value and (value.isascii() or clean_text(value) == value)
    if kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(type(k) is str and is_clean_json(k) and is_clean_json(v) for k, v in value.items())
    if kind is list:
        return all(is_clean_json(v) for v in value)
    return False


def _optional(value: str | None, limit: int) -> str | None:
    return None if value is None else cut(clean_text(value), limit)


def bounded(call: ScrapedCall) -> tuple[ScrapedCall, bool]:
    """The record as storage keeps it (the same object when nothing needed cleaning, the usual case), and whether
    its raw payload is plain JSON (`is_clean_json`): then it is stored as it is, without walking it again."""
    changes: dict[str, Any] = {}
    external_id = distinct_cut(clean_text(call.external_id), EXTERNAL_ID_LEN)
    if external_id != call.external_id:
        changes["external_id"] = external_id
    for name, limit in (("identifier", IDENTIFIER_LEN), ("programme", PROGRAMME_LEN), ("language", LANGUAGE_LEN),
                        *TEXT_LIMITS.items()):
        old = getattr(call, name)
        if old is None:
            continue
        new = clean_text(old)
        new = new[:limit] if name == "language" else cut(new, limit)
        if new != old:
            changes[name] = new
    if call.budget_eur is not None and not math.isfinite(call.budget_eur):
        changes["budget_eur"] = None
    if any(d.label is not None and (len(d.label) > LABEL_LEN or clean_text(d.label) != d.label)
           for d in call.deadlines):
        changes["deadlines"] = tuple(Deadline(at=d.at, date_only=d.date_only, label=_optional(d.label, LABEL_LEN))
                                     for d in call.deadlines)
    raw_clean = is_clean_json(call.raw)
    if not raw_clean:
        raw = clean_json(call.raw)
        if raw != call.raw or _has_nan(call.raw):
            changes["raw"] = raw
    return (replace(call, **changes) if changes else call), raw_clean


def _has_nan(value: Any) -> bool:
    """NaN != NaN, so a comparison alone would miss a raw payload whose only flaw is a NaN."""
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, Mapping):
        return any(_has_nan(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nan(v) for v in value)
    return False


def raw_record(call: ScrapedCall) -> str:
    """The record exactly as scraped, as JSON text (ASCII: NUL bytes and surrogates survive as escapes)."""
    return json.dumps(asdict(call), default=str, ensure_ascii=True, sort_keys=True)


def bounded_etag(value: str | None) -> str | None:
    """An ETag too long to keep is not kept at all: a cut one would never match again."""
    if value is None:
        return None
    value = clean_text(value)
    return value if len(value) <= ETAG_LEN else None


def bounded_last_modified(value: str | None) -> str | None:
    if value is None:
        return None
    value = clean_text(value)
    return value if len(value) <= LAST_MODIFIED_LEN else None
