"""classify(): prepare the fields once, then programme and scope, regions, consortium, themes, fit and reasons."""

from __future__ import annotations

import re
from functools import lru_cache

from calltracker.classify.consortium import consortium as decide_consortium
from calltracker.classify.explain import reason
from calltracker.classify.model import REGIONS, CallText, Classification
from calltracker.classify.programme import programme_and_scope
from calltracker.classify.regions import eligibility
from calltracker.classify.rules import Rules, load_rules
from calltracker.classify.text import Field
from calltracker.classify.themes import themes as find_themes
from calltracker.domain import Consortium

# Upper-case identifiers inside a text ("HORIZON-CL4-2026-SPACE-03-61") are not prose.
_IDENTIFIER = re.compile(r"\b[A-Z][A-Z0-9]*(?:-[A-Za-z0-9]+){3,}\b")


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    return load_rules()


def _field(name: str, text: str, r: Rules, blank: tuple[re.Pattern[str], ...] = ()) -> Field:
    fld = Field(name, text, blank)
    if r.field_bank is not None:
        fld.possible = r.field_bank.possible_ids(fld.low) if fld.low else frozenset()
    return fld


def classify(call: CallText, rules: Rules | None = None) -> Classification:
    """Classify one call with `rules` (default: the packaged rule files, loaded once)."""
    r = rules if rules is not None else default_rules()
    # Programme names and places are read before the trap phrases are blanked ("Spazio Alpino" is a
    # programme even though it is no space theme).
    title_raw = Field("title", call.title or "", (_IDENTIFIER,))
    text_raw = Field("text", call.text or "", (_IDENTIFIER,))
    prog_raw = Field("programme", call.programme or "")
    if r.field_bank is not None:  # one prefilter pass for the three fields
        possible = r.field_bank.possible_ids("\n".join((title_raw.low, text_raw.low, prog_raw.low)))
        title_raw.possible = text_raw.possible = prog_raw.possible = possible
    negatives, parts, bank = r.negatives, r.negative_parts, r.field_bank
    title = title_raw.blanked(negatives, parts, bank)
    text = text_raw.blanked(negatives, parts, bank)
    prog = prog_raw.blanked(negatives, parts, bank)
    language = (call.language or "").lower()[:2] or None

    pages = tuple(_field(f"document {doc.name!r} page {n}", page, r).blanked(negatives, parts, bank)
                  for doc in call.documents for n, page in enumerate(doc.pages, 1) if page.strip()) \
        if call.documents else ()

    programme, scope, scope_ev, implied = programme_and_scope(call, r, prog_raw, title_raw, text_raw)
    eligible, region_ev = eligibility(call, r, scope, programme, prog_raw, title_raw, text_raw)
    consortium, cons_ev = decide_consortium(r, scope, programme, title, text, pages)
    tagged, below = find_themes(call, r, title, text, prog, language, implied, pages)

    all_three = all(map(eligible.__getitem__, REGIONS))
    fit = all_three and consortium is not Consortium.SINGLE and bool(tagged)
    mode_key = (programme.mode if programme and programme.mode else None) \
        or str(r.scope_defaults[scope].get("mode", "other"))
    mode = r.modes.get(mode_key) or r.modes["other"]
    reason_en, reason_it = reason(fit, eligible, consortium, tagged, mode.reason_en, mode.reason_it)
    evidence = {
        "themes": tuple(e for t in tagged for e in t.evidence),
        "regions": tuple(region_ev),
        "scope": tuple(scope_ev),
        "consortium": tuple(cons_ev),
    }
    return Classification(
        id=call.id, themes=tuple(tagged), eligible=eligible, scope=scope, consortium=consortium,
        tri_regional_fit=fit, fit_score=mode.fit if fit else 0, fit_reason=reason_en, fit_reason_it=reason_it,
        evidence=evidence, rules_version=r.version, programme=programme.id if programme else None,
        below_threshold=tuple(below),
    )
