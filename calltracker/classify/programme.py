"""Which programme a call belongs to, and so its scope: identifier, programme field, title, source, text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from calltracker.classify.model import CallText, Evidence
from calltracker.classify.rules import Programme, Rules
from calltracker.classify.text import Field, Match
from calltracker.domain import Scope


def _pick(matches: list[Match], r: Rules) -> tuple[Programme, Match] | None:
    best: tuple[Programme, Match] | None = None
    for m in matches:
        for payload in m.entry.payloads:
            prog = r.programmes[payload[1]]
            if best is None or prog.priority > best[0].priority:
                best = (prog, m)
    return best


def source_rule(source: str | None, r: Rules) -> tuple[str, Mapping[str, Any]] | None:
    if not source:
        return None
    low = source.lower()
    for key, rule in r.sources.items():
        if low == key or ("." in key and key in low):
            return key, rule
    return None


def programme_and_scope(call: CallText, r: Rules, prog: Field, title: Field, text: Field
                         ) -> tuple[Programme | None, Scope, list[Evidence], list[tuple[Programme, Evidence]]]:
    """Recognise the programme: identifier, then programme field, title, source, scope hint, text."""
    evidence: list[Evidence] = []
    implied: list[tuple[Programme, Evidence]] = []  # programmes whose themes count (not from free text)
    chosen: Programme | None = None
    if call.identifier:
        ident = call.identifier.strip()
        for p in sorted(r.programmes.values(), key=lambda p: -p.priority):
            hit = next((pat for pat in p.identifiers if pat.search(ident)), None)
            if hit is not None:
                ev = Evidence("identifier", hit.pattern, "identifier", matched=ident, note=f"programme {p.id}")
                chosen = chosen or p
                if chosen is p:
                    evidence.append(ev)
                implied.append((p, ev))
    for fld in (prog, title):
        matches = r.programme_lexicon.scan(fld)
        for m in matches:
            for payload in m.entry.payloads:
                p = r.programmes[payload[1]]
                implied.append((p, Evidence("programme", m.entry.phrase, fld.name, m.start, m.end, m.text,
                                            note=f"programme {p.id}")))
        if chosen is None:
            best = _pick(matches, r)
            if best is not None:
                chosen = best[0]
                m = best[1]
                evidence.append(Evidence("programme", m.entry.phrase, fld.name, m.start, m.end, m.text,
                                         note=f"programme {chosen.id}"))
    if chosen is not None:
        return chosen, chosen.scope, evidence, implied
    src = source_rule(call.source, r)
    if src is not None and src[1].get("scope"):
        evidence.append(Evidence("source", src[0], "source", matched=call.source))
        return None, Scope(src[1]["scope"]), evidence, implied
    if call.scope is not None:
        evidence.append(Evidence("scope hint", call.scope.value, "source"))
        return None, call.scope, evidence, implied
    best = _pick(r.programme_lexicon.scan(text), r)
    if best is not None:
        m = best[1]
        evidence.append(Evidence("programme", m.entry.phrase, "text", m.start, m.end, m.text,
                                 note=f"programme {best[0].id}"))
        return best[0], best[0].scope, evidence, implied
    evidence.append(Evidence("default", "other", note="no programme, source or scope marker"))
    return None, Scope.OTHER, evidence, implied
