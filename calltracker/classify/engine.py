"""The decisions: themes, eligible regions, scope, consortium rule and tri-regional fit, each with evidence."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from calltracker import labels
from calltracker.classify.rules import Programme, Rules, load_rules
from calltracker.classify.text import Entry, Field, Match
from calltracker.domain import Consortium, Region, Scope, Theme

REGIONS = (Region.LOMBARDIA, Region.PIEMONTE, Region.LIGURIA)
REGION_LABELS = {Region.LOMBARDIA: "Lombardia", Region.PIEMONTE: "Piemonte", Region.LIGURIA: "Liguria"}
#: (English, Italian) theme names inside a fit reason: the shared labels, lower-cased as they sit mid-sentence.
THEME_LABELS = {t: (labels.theme(t.value, "en").lower(), labels.theme(t.value, "it").lower()) for t in Theme}
# Upper-case identifiers inside a text ("HORIZON-CL4-2026-SPACE-03-61") are not prose.
_IDENTIFIER = re.compile(r"\b[A-Z][A-Z0-9]*(?:-[A-Za-z0-9]+){3,}\b")
_SEAT_RULE = Entry("seat in the region", ("seat",), ())


@dataclass(frozen=True)
class CallText:
    """What the classifier reads about a call. `scope` and `regions` are hints from the source."""

    id: str
    title: str
    text: str
    identifier: str | None = None
    programme: str | None = None
    language: str | None = None
    source: str | None = None
    scope: Scope | None = None
    regions: tuple[Region, ...] = ()


@dataclass(frozen=True, slots=True)
class Evidence:
    """One rule that fired: `kind` (keyword, acronym, identifier, programme, ...), the rule, where, what."""

    kind: str
    rule: str
    field: str | None = None
    start: int | None = None
    end: int | None = None
    matched: str | None = None
    weight: float = 0.0
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "rule": self.rule}
        for key in ("field", "start", "end", "matched", "note"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.weight:
            data["weight"] = self.weight
        return data

    def describe(self) -> str:
        where = ""
        if self.field is not None:
            where = f" in {self.field}" + (f" at {self.start}" if self.start is not None else "")
        shown = f' "{self.matched}"' if self.matched is not None and self.matched != self.rule else ""
        weight = f" (+{self.weight:g})" if self.weight else ""
        note = f" -- {self.note}" if self.note else ""
        return f"{self.kind} {self.rule!r}{shown}{where}{weight}{note}"


@dataclass(frozen=True, slots=True)
class ThemeResult:
    theme: Theme
    score: float
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Classification:
    id: str
    themes: tuple[ThemeResult, ...]
    eligible: Mapping[Region, bool]
    scope: Scope
    consortium: Consortium
    tri_regional_fit: bool
    fit_score: int
    fit_reason: str
    fit_reason_it: str
    evidence: Mapping[str, tuple[Evidence, ...]]
    rules_version: str
    programme: str | None = None
    below_threshold: tuple[ThemeResult, ...] = field(default=())

    @property
    def theme_ids(self) -> list[str]:
        return [t.theme.value for t in self.themes]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "themes": self.theme_ids,
            "eligible": {r.value: bool(self.eligible[r]) for r in REGIONS},
            "scope": self.scope.value,
            "consortium": self.consortium.value,
            "tri_regional_fit": self.tri_regional_fit,
            "fit_score": self.fit_score,
            "fit_reason": self.fit_reason,
            "fit_reason_it": self.fit_reason_it,
            "theme_scores": {t.theme.value: t.score for t in self.themes},
            "programme": self.programme,
            "rules_version": self.rules_version,
            "evidence": {
                "themes": {t.theme.value: [e.to_json() for e in t.evidence] for t in self.themes},
                **{k: [e.to_json() for e in v] for k, v in self.evidence.items() if k != "themes"},
            },
        }


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    return load_rules()


def classify(call: CallText, rules: Rules | None = None) -> Classification:
    """Classify one call with `rules` (default: the packaged rule files, loaded once)."""
    r = rules if rules is not None else default_rules()
    # Programme names and places are read before the trap phrases are blanked ("Spazio Alpino" is a
    # programme even though it is no space theme).
    title_raw = Field("title", call.title or "", (_IDENTIFIER,))
    text_raw = Field("text", call.text or "", (_IDENTIFIER,))
    prog_raw = Field("programme", call.programme or "")
    title, text, prog = (f.blanked(r.negatives) for f in (title_raw, text_raw, prog_raw))
    language = (call.language or "").lower()[:2] or None

    programme, scope, scope_ev, implied = _programme_and_scope(call, r, prog_raw, title_raw, text_raw)
    eligible, region_ev = _eligibility(call, r, scope, programme, prog_raw, title_raw, text_raw)
    consortium, cons_ev = _consortium(r, scope, programme, title, text)
    tagged, below = _themes(call, r, title, text, prog, language, implied)

    all_three = all(eligible[g] for g in REGIONS)
    fit = all_three and consortium is not Consortium.SINGLE and bool(tagged)
    mode_key = (programme.mode if programme and programme.mode else None) \
        or str(r.scope_defaults[scope].get("mode", "other"))
    mode = r.modes.get(mode_key) or r.modes["other"]
    reason_en, reason_it = _reason(fit, eligible, consortium, tagged, mode.reason_en, mode.reason_it)
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


# -- scope and programme

def _pick(matches: list[Match], r: Rules) -> tuple[Programme, Match] | None:
    best: tuple[Programme, Match] | None = None
    for m in matches:
        for payload in m.entry.payloads:
            prog = r.programmes[payload[1]]
            if best is None or prog.priority > best[0].priority:
                best = (prog, m)
    return best


def _source_rule(source: str | None, r: Rules) -> tuple[str, Mapping[str, Any]] | None:
    if not source:
        return None
    low = source.lower()
    for key, rule in r.sources.items():
        if low == key or ("." in key and key in low):
            return key, rule
    return None


def _programme_and_scope(call: CallText, r: Rules, prog: Field, title: Field, text: Field
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
    src = _source_rule(call.source, r)
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


# -- eligible regions

def _detect_regions(call: CallText, r: Rules, fields: tuple[Field, ...], evidence: list[Evidence]
                    ) -> set[Region] | None:
    """Regions a call names, read field by field: our region names win, then other regions, then places."""
    places: dict[Region, Match] = {}
    for fld in fields:
        named: dict[Region, Match] = {}
        other: Match | None = None
        for m in r.regions.scan(fld):
            for kind, key in m.entry.payloads:
                if kind == "name":
                    named.setdefault(Region(key), m)
                elif kind == "place":
                    places.setdefault(Region(key), m)
                elif other is None:
                    other = m
        for fld_cue in r.eligibility_cues:
            for cue in fld_cue.finditer(fld.low):
                word = cue.group(1)
                region = next((g for g in REGIONS if word.startswith(g.value[:5])), None)
                if region is not None and region not in named:
                    named[region] = Match(_SEAT_RULE, fld.name, cue.start(), cue.end(), cue.group())
        if named:
            for region, m in named.items():
                evidence.append(Evidence("region name", m.entry.phrase, m.field, m.start, m.end, m.text,
                                         note=region.value))
            return set(named)
        if other is not None:
            wide = _italy_wide(r, fields)
            if wide is not None:
                evidence.append(wide)
                return set(REGIONS)
            evidence.append(Evidence("other region", other.entry.phrase, other.field, other.start, other.end,
                                     other.text, note="a region outside Lombardia, Piemonte, Liguria"))
            return set()
    if places:
        for region, m in places.items():
            evidence.append(Evidence("place", m.entry.phrase, m.field, m.start, m.end, m.text, note=region.value))
        return set(places)
    if call.regions:
        evidence.append(Evidence("source regions", ",".join(g.value for g in call.regions), "source"))
        return set(call.regions)
    src = _source_rule(call.source, r)
    if src is not None and src[1].get("regions"):
        evidence.append(Evidence("source", src[0], "source", matched=call.source))
        return {Region(g) for g in src[1]["regions"]}
    return None


def _italy_wide(r: Rules, fields: tuple[Field, ...]) -> Evidence | None:
    """A phrase opening a local body's call to applicants from anywhere in Italy."""
    if r.italy_wide is None:
        return None
    for fld in fields:
        m = r.italy_wide.search(fld.low)
        if m:
            return Evidence("open to all Italy", m.group(), fld.name, m.start(), m.end(), note="all three")
    return None


def _eligibility(call: CallText, r: Rules, scope: Scope, programme: Programme | None, prog: Field,
                 title: Field, text: Field) -> tuple[dict[Region, bool], list[Evidence]]:
    evidence: list[Evidence] = []
    rule = programme.eligible if programme is not None else str(r.scope_defaults[scope]["eligible"])
    regions: set[Region]
    if isinstance(rule, tuple):
        regions = set(rule)
        evidence.append(Evidence("programme territory", programme.id if programme else "",
                                 note=", ".join(g.value for g in rule) or "none of the three"))
        if programme is not None:
            for region, words in programme.extra_regions.items():
                for fld in (title, text):
                    hit = next((w for w in words if re.search(rf"\b{re.escape(w.lower())}\b", fld.low)), None)
                    if hit and region not in regions:
                        regions.add(region)
                        evidence.append(Evidence("programme territory", hit, fld.name, note=region.value))
    elif rule == "all":
        regions = set(REGIONS)
        evidence.append(Evidence("scope", scope.value, note="open to all three regions"))
        if scope is Scope.NATIONAL:
            for fld in (prog, title, text):
                m = _national_restriction(r, fld.low)
                if m:
                    regions = set()
                    evidence.append(Evidence("national restriction", m.group(), fld.name, m.start(), m.end(),
                                             note="reserved to other areas of Italy"))
                    break
    else:
        found = _detect_regions(call, r, (prog, title, text), evidence)
        if found is None:
            regions = set(REGIONS) if rule == "detect_or_all" else set()
            evidence.append(Evidence("no region named", rule, note="all three" if regions else "none"))
        else:
            regions = found
    return {g: g in regions for g in REGIONS}, evidence


def _national_restriction(r: Rules, low: str) -> re.Match[str] | None:
    """The first phrase reserving a national measure to other areas, unless it only reserves a share."""
    shares: list[tuple[int, int]] | None = None  # read only when a restriction is there: most calls have none
    for m in r.national_restrictions.finditer(low):
        if shares is None:
            shares = [s.span() for s in r.national_shares.finditer(low)] if r.national_shares is not None else []
        if not any(a <= m.start() < b for a, b in shares):
            return m
    return None


# -- consortium

def _consortium(r: Rules, scope: Scope, programme: Programme | None, title: Field, text: Field
                ) -> tuple[Consortium, list[Evidence]]:
    outcome = {"single_only": Consortium.SINGLE, "optional": Consortium.OPTIONAL,
               "required": Consortium.REQUIRED, "single_instrument": Consortium.SINGLE}
    both = title.low + "\n" + text.low  # one search per cue class instead of one per field
    for cls, patterns in r.consortium_cues:
        m = None
        for pattern in patterns:
            # Past the first match found only an earlier one matters; the class decides, not the position.
            hit = pattern.search(both, 0, m.start() if m else len(both))
            if hit and (m is None or hit.start() < m.start()):
                m = hit
        if m:
            if m.start() <= len(title.low):
                return outcome[cls], [Evidence("consortium cue", cls, "title", m.start(), m.end(), m.group())]
            offset = len(title.low) + 1
            return outcome[cls], [Evidence("consortium cue", cls, "text", m.start() - offset, m.end() - offset,
                                           m.group())]
    if programme is not None and programme.consortium is not None:
        return programme.consortium, [Evidence("programme default", programme.id, note=programme.consortium.value)]
    value = Consortium(str(r.scope_defaults[scope]["consortium"]))
    return value, [Evidence("scope default", scope.value, note=value.value)]


# -- themes

def _sentences_around(patterns: tuple[re.Pattern[str], ...], low: str) -> list[tuple[int, int]]:
    """The sentences (or ;-clauses) that contain a match of any of `patterns`."""
    spans: list[tuple[int, int]] = []
    for pattern in patterns:
        for m in pattern.finditer(low):
            start = max(low.rfind(".", 0, m.start()), low.rfind(";", 0, m.start())) + 1
            ends = [i for i in (low.find(".", m.end()), low.find(";", m.end())) if i >= 0]
            spans.append((start, min(ends) if ends else len(low)))
    return spans


class _Contexts:
    """The demoting spans of one field, each computed on the first hit that needs it."""

    __slots__ = ("_r", "_low", "_spans")

    def __init__(self, r: Rules, low: str) -> None:
        self._r = r
        self._low = low
        self._spans: dict[str, list[tuple[int, int]]] = {}

    def _get(self, kind: str) -> list[tuple[int, int]]:
        spans = self._spans.get(kind)
        if spans is None:
            r, low = self._r, self._low
            if kind == "off":
                spans = _sentences_around((r.off_focus,), low) if r.off_focus is not None else []
            elif kind == "course":
                spans = [c.span() for c in r.course_subjects.finditer(low)]
            elif kind == "ancillary":
                spans = _sentences_around((r.ancillary,), low) if r.ancillary is not None else []
            else:
                spans = _sentences_around(r.tool_contexts, low) if r.tool_themes else []
            self._spans[kind] = spans
        return spans

    def inside(self, kind: str, pos: int) -> bool:
        return any(a <= pos < b for a, b in self._get(kind))


def _themes(call: CallText, r: Rules, title: Field, text: Field, prog: Field, language: str | None,
            implied: list[tuple[Programme, Evidence]]) -> tuple[list[ThemeResult], list[ThemeResult]]:
    s = r.scoring
    strong: dict[Theme, list[Evidence]] = {}
    weak: dict[Theme, list[Evidence]] = {}
    gate_hits = {fld.name: r.gate.scan(fld) for fld in (title, prog, text)}
    aviation_context = any(gate_hits.values())
    aerospace_call = bool(gate_hits["title"] or gate_hits["programme"])
    fields = ((title, s["title_strong"]), (text, s["text_strong"]), (prog, s["programme_keyword"]))
    for fld, weight in fields:
        ctx = _Contexts(r, fld.low) if fld is not prog else None
        for m in r.themes.scan(fld, language):
            kind = "acronym" if m.entry.exact is not None else "keyword"
            for _, key, tier in m.entry.payloads:
                theme = Theme(key)
                if tier == "gated":
                    if not aviation_context:
                        continue
                    tier = "strong"
                if tier != "strong":
                    weak.setdefault(theme, []).append(
                        Evidence("weak keyword", m.entry.phrase, fld.name, m.start, m.end, m.text, s["weak"]))
                    continue
                w, note = weight, None
                if ctx is not None:
                    if ctx.inside("off", m.start):
                        w, note = weight * r.off_focus_weight, "outside the call's focus"
                    elif theme not in r.course_exempt and ctx.inside("course", m.start):
                        w, note = weight * r.course_weight, "course subject"
                    elif theme in r.tool_themes and ctx.inside("tool", m.start):
                        w, note = weight * r.tool_weight, "used as a tool"
                    elif ctx.inside("ancillary", m.start):
                        w, note = weight * r.ancillary_weight, "ancillary eligible cost"
                strong.setdefault(theme, []).append(
                    Evidence(kind, m.entry.phrase, fld.name, m.start, m.end, m.text, w, note))
    for theme in r.tool_themes:
        hits = strong.get(theme, [])
        in_text = [e for e in hits if e.field == "text"]
        if in_text and all(e.note == "used as a tool" for e in in_text):
            # The body names the theme only as a means, so a title naming it names the means too.
            strong[theme] = [replace(e, weight=e.weight * r.tool_weight, note="used as a tool")
                             if e.field == "title" and e.note is None else e for e in hits]

    rule_ev: dict[Theme, list[Evidence]] = {}
    ident = (call.identifier or "").strip()
    if ident:
        for rule in r.id_rules:
            if rule.pattern.search(ident):
                rule_ev.setdefault(rule.theme, []).append(Evidence(
                    "identifier", rule.pattern.pattern, "identifier", matched=ident, note=rule.strength,
                    weight=s["identifier_strong"] if rule.strength == "strong" else s["identifier_conditional"]))
    seen: set[tuple[str, Theme]] = set()
    for p, ev in implied:
        for theme, strength in p.themes.items():
            if (p.id, theme) in seen:
                continue
            seen.add((p.id, theme))
            rule_ev.setdefault(theme, []).append(Evidence(
                "programme", p.id, ev.field, ev.start, ev.end, ev.matched, note=strength,
                weight=s["programme_strong"] if strength == "strong" else s["programme_conditional"]))

    domain = [t for t in r.domain_themes if any(e.note == "strong" for e in rule_ev.get(t, []))]
    if domain:
        for theme in r.tool_themes:
            if theme not in rule_ev and theme in strong:
                # A topic of an aviation or space programme that names AI puts it to work in that domain.
                strong[theme] = [replace(e, weight=e.weight * r.tool_weight, note="used as a tool")
                                 if e.note is None else e for e in strong[theme]]

    tagged: list[ThemeResult] = []
    below: list[ThemeResult] = []
    for theme in Theme:
        kw = strong.get(theme, [])
        # Only a keyword in the call's own focus confirms a conditional rule or lets weak words count.
        focused = any(e.note is None for e in kw)
        rules_fired = rule_ev.get(theme, [])
        firm = [e for e in rules_fired if e.note == "strong"]
        conditional = [e for e in rules_fired if e.note != "strong"] if focused else []
        evidence = kw + firm + conditional[:1]
        score = sum(e.weight for e in evidence)
        weak_ok = focused or bool(firm) or (theme in r.weak_needs_gate and aviation_context)
        if weak_ok and theme in weak:
            weak_ev = weak[theme]
            capped = min(sum(e.weight for e in weak_ev), 2 * s["weak"])
            score += capped
            evidence = evidence + weak_ev
        if focused and theme in r.aerospace_native and aerospace_call:
            gate_m = (gate_hits["title"] or gate_hits["programme"])[0]
            bonus = s["aerospace_call_bonus"]
            score += bonus
            evidence = evidence + [Evidence("aerospace call", gate_m.entry.phrase, gate_m.field, gate_m.start,
                                            gate_m.end, gate_m.text, bonus)]
        if score <= 0:
            continue
        result = ThemeResult(theme, round(score, 2), tuple(evidence))
        (tagged if score >= s["threshold"] else below).append(result)
    tagged.sort(key=lambda t: -t.score)
    return tagged, below


# -- fit reason

def _names(regions: list[Region]) -> str:
    labels = [REGION_LABELS[g] for g in regions]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _reason(fit: bool, eligible: Mapping[Region, bool], consortium: Consortium, tagged: list[ThemeResult],
            mode_en: str, mode_it: str) -> tuple[str, str]:
    open_to = [g for g in REGIONS if eligible[g]]
    themes_en = ", ".join(THEME_LABELS[t.theme][0] for t in tagged)
    themes_it = ", ".join(THEME_LABELS[t.theme][1] for t in tagged)
    if not open_to:
        return ("None of Lombardia, Piemonte, Liguria can apply as beneficiary",
                "Nessuna tra Lombardia, Piemonte e Liguria può partecipare come beneficiario")
    if len(open_to) < len(REGIONS):
        names = _names(open_to)
        return (f"Only {names} can apply: no tri-regional bid",
                f"Solo {names.replace(' and ', ' e ')}: nessuna proposta tri-regionale")
    if consortium is Consortium.SINGLE:
        return ("Single applicants only: no joint bid, each member applies alone",
                "Solo domande singole: nessuna proposta congiunta, ogni socio partecipa da solo")
    if not tagged:
        return (f"{mode_en}; but no cluster theme is in focus",
                f"{mode_it}; ma nessun tema del cluster è centrale")
    assert fit
    return f"{mode_en} ({themes_en})", f"{mode_it} ({themes_it})"


def explain(classification: Classification) -> str:
    """Every rule that fired and why, one per line, for `calltracker classify --explain`."""
    c = classification
    lines = [f"call {c.id} (rules {c.rules_version})"]
    lines.append(f"scope: {c.scope.value}" + (f" (programme {c.programme})" if c.programme else ""))
    lines.extend(f"  - {e.describe()}" for e in c.evidence["scope"])
    lines.append("eligible: " + ", ".join(f"{g.value}={'yes' if c.eligible[g] else 'no'}" for g in REGIONS))
    lines.extend(f"  - {e.describe()}" for e in c.evidence["regions"])
    lines.append(f"consortium: {c.consortium.value}")
    lines.extend(f"  - {e.describe()}" for e in c.evidence["consortium"])
    if c.themes:
        lines.append("themes:")
        for t in c.themes:
            lines.append(f"  {t.theme.value}: score {t.score:g}")
            lines.extend(f"    - {e.describe()}" for e in t.evidence)
    else:
        lines.append("themes: none")
    if c.below_threshold:
        lines.append("below the threshold (passing mentions, not tagged):")
        for t in c.below_threshold:
            lines.append(f"  {t.theme.value}: score {t.score:g}")
            lines.extend(f"    - {e.describe()}" for e in t.evidence)
    verdict = "yes" if c.tri_regional_fit else "no"
    lines.append(f"tri-regional fit: {verdict}, score {c.fit_score}/3 -- {c.fit_reason}")
    lines.append(f"  (it) {c.fit_reason_it}")
    return "\n".join(lines)
