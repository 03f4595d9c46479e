"""Themes: words, acronyms, identifiers and programmes, weighed by where and how the call names them."""

from __future__ import annotations

import re
from dataclasses import replace

from calltracker.classify.model import CallText, Evidence, ThemeResult
from calltracker.classify.programme import Implied
from calltracker.classify.rules import Rules
from calltracker.classify.text import Field, ids_of
from calltracker.domain import Theme

_THEMES = {t.value: t for t in Theme}
_ALL_THEMES = tuple(Theme)  # iterating the enum class runs a generator per call


def _sentences_around(patterns: tuple[re.Pattern[str], ...], fld: Field) -> list[tuple[int, int]]:
    """The sentences (or ;-clauses) that contain a match of any of `patterns`."""
    spans: list[tuple[int, int]] = []
    low = fld.low
    for pattern in patterns:
        if not fld.may(pattern):
            continue
        for m in pattern.finditer(low):
            start = max(low.rfind(".", 0, m.start()), low.rfind(";", 0, m.start())) + 1
            ends = [i for i in (low.find(".", m.end()), low.find(";", m.end())) if i >= 0]
            spans.append((start, min(ends) if ends else len(low)))
    return spans


def _full_stop(low: str, start: int) -> int:
    """The end of the sentence that goes on at `start` (a list of examples runs past its semicolons)."""
    end = low.find(".", start)
    return end if end >= 0 else len(low)


def _list_end(low: str, start: int) -> int:
    """Where a list that starts at `start` ends: a blank line, or a full stop that ends a line, or the text's end."""
    ends = [i for i in (low.find("\n\n", start), low.find(".\n", start)) if i >= 0]
    return min(ends) if ends else len(low)


_KINDS = ("off", "ancillary", "examples")


class _Contexts:
    """The demoting spans of one field, each computed on the first hit that needs it."""

    __slots__ = ("_r", "_fld", "_spans", "_none")

    def __init__(self, r: Rules, fld: Field) -> None:
        self._r = r
        self._fld = fld
        self._spans: dict[str, list[tuple[int, int]]] = {}
        self._none: bool | None = None

    def plain(self) -> bool:
        """Whether the field has none of the contexts that demote any theme's word (off focus, ancillary cost,
        examples): most fields have none, and their words are only checked for the kinds that depend on the
        theme (course subjects, tools), which are read when a theme asks for them."""
        if self._none is None:
            possible = self._fld.possible
            # When the prefilter says none of their patterns can match, no span is looked for.
            self._none = (possible is not None and possible.isdisjoint(ids_of(self._r.demoting))) \
                or not any(map(self._get, _KINDS))
        return self._none

    def _get(self, kind: str) -> list[tuple[int, int]]:
        spans = self._spans.get(kind)
        if spans is None:
            r, fld = self._r, self._fld
            if kind == "off":
                spans = _sentences_around((r.off_focus,), fld) if r.off_focus is not None else []
            elif kind == "course":
                spans = [c.span() for c in r.course_subjects.finditer(fld.low)] if fld.may(r.course_subjects) \
                    else []
            elif kind == "ancillary":
                spans = _sentences_around((r.ancillary,), fld) if r.ancillary is not None else []
            elif kind == "examples":
                low = fld.low
                spans = [(max(low.rfind(".", 0, m.start()), 0), _full_stop(low, m.end()))
                         for m in r.examples.finditer(low)] if r.examples is not None and fld.may(r.examples) else []
                if r.technology_list is not None and fld.may(r.technology_list):
                    spans += [(m.start(), _list_end(fld.low, m.end())) for m in r.technology_list.finditer(fld.low)]
            elif kind == "threat":
                spans = [m.span() for m in r.threat.finditer(fld.low)] if r.threat is not None else []
            else:
                spans = _sentences_around(r.tool_contexts, fld) if r.tool_themes else []
            self._spans[kind] = spans
        return spans

    def inside(self, kind: str, pos: int) -> bool:
        spans = self._spans.get(kind)
        if spans is None:
            spans = self._get(kind)
        for a, b in spans:  # noqa: SIM110 - a loop, not any() over a generator: called for every strong word
            if a <= pos < b:
                return True
        return False


def _aviation(r: Rules, text: Field, known: bool | None) -> bool:
    """Whether the call has an aviation context: `known` when already decided, else whether its text names the
    sector (read only when a rule first asks: most calls have no word that does)."""
    return known if known is not None else bool(r.gate.scan(text))


def _lead_end(low: str) -> int:
    """Where the text's opening sentence ends (at most 300 characters): the sentence that says what a call funds."""
    cut = low[:300]
    ends = [i for i in (cut.find(". "), cut.find(".\n"), cut.find("\n")) if i >= 0]
    return min(ends) if ends else len(cut)


def _demoted(hits: list[Evidence], factor: float, note: str, only: str | None = None) -> list[Evidence]:
    """The hits that no context has demoted yet (those of field `only`, when given) weighed `factor` times, with
    `note` saying why; the others as they are."""
    return [replace(e, weight=e.weight * factor, note=note) if e.note is None and (only is None or e.field == only)
            else e for e in hits]


def themes(call: CallText, r: Rules, title: Field, text: Field, prog: Field, language: str | None,
           implied: list[Implied], pages: tuple[Field, ...] = ()
           ) -> tuple[list[ThemeResult], list[ThemeResult]]:
    """Theme scores and evidence; `pages` (attached documents' pages) weigh as the call's own text."""
    s = r.scoring
    strong: dict[Theme, list[Evidence]] = {}
    weak: dict[Theme, list[Evidence]] = {}
    # An aerospace word in the title or programme makes an aerospace call; anywhere, an aviation context.
    # A title naming aviation as one mode among others ("emissions of heavy-duty, aviation and maritime fuels")
    # makes neither: aviation is one end-use sector there (the README's hard negatives).
    multimodal = r.multimodal_title is not None and r.multimodal_title.search(title.low) is not None
    gate_named = [] if multimodal else (r.gate.scan(title) or r.gate.scan(prog))
    aerospace_call = bool(gate_named)
    # The text is read for an aviation context only when a rule first asks (most calls have no word that does).
    aviation_context: bool | None = True if aerospace_call else (False if multimodal else None)
    fields = ((title, s["title_strong"]), (text, s["text_strong"]), (prog, s["programme_keyword"]),
              *((page, s["text_strong"]) for page in pages))
    weak_weight = s["weak"]
    for fld, weight in fields:
        matches = r.themes.scan(fld, language)
        if not matches:
            continue
        name = fld.name
        ctx = _Contexts(r, fld) if fld is not prog else None
        plain: bool | None = None  # no context that demotes every theme: read at the field's first strong word
        for m in matches:
            entry = m.entry
            for _, key, tier in entry.payloads:
                theme = _THEMES[key]
                if tier == "gated":
                    aviation_context = _aviation(r, text, aviation_context)
                    if not aviation_context:
                        continue
                    tier = "strong"
                if tier != "strong":
                    weak.setdefault(theme, []).append(
                        Evidence("weak keyword", entry.phrase, name, m.start, m.end, m.text, weak_weight))
                    continue
                w, note = weight, None
                if ctx is not None:
                    if plain is None:
                        plain = ctx.plain()
                    # (a plain field has no off-focus, ancillary or example context: those are not looked up)
                    if not plain and ctx.inside("off", m.start):
                        w, note = weight * r.off_focus_weight, "outside the call's focus"
                    elif theme not in r.course_exempt and ctx.inside("course", m.start):
                        w, note = weight * r.course_weight, "course subject"
                    elif theme in r.tool_themes and ctx.inside("tool", m.start):
                        w, note = weight * r.tool_weight, "used as a tool"
                    elif not plain and ctx.inside("ancillary", m.start):
                        w, note = weight * r.ancillary_weight, "ancillary eligible cost"
                    elif not plain and ctx.inside("examples", m.start):
                        w, note = weight * r.examples_weight, "named as an example"
                    elif theme in r.threat_themes and fld is text and ctx.inside("threat", m.start) \
                            and not any(e.field == "title" for e in strong.get(theme, ())):
                        # Drones the text names as a threat to protect against (soldiers' camouflage against
                        # drone surveillance, an aircraft's anti-drone role) are not the call's subject; a
                        # counter-UAS call names them in its title (read first).
                        w, note = weight * r.threat_weight, "named as a threat"
                strong.setdefault(theme, []).append(
                    Evidence("acronym" if entry.exact is not None else "keyword", entry.phrase, name, m.start,
                             m.end, m.text, w, note))
    for theme in r.tool_themes:
        hits = strong.get(theme, [])
        in_text = [e for e in hits if e.field == "text"]
        if in_text and all(e.note == "used as a tool" for e in in_text):
            # The body names the theme only as a means, so a title naming it names the means too.
            strong[theme] = _demoted(hits, r.tool_weight, "used as a tool", only="title")

    if r.physical_title is not None and r.physical_title.search(title.low):
        for theme in r.physical_themes:
            hits = strong.get(theme, [])
            if hits and not any(e.field == "title" for e in hits):
                # The title is about physical security (public spaces, videosurveillance): cyber words of its
                # text name a side of that work, not the call's subject.
                strong[theme] = _demoted(hits, r.physical_weight, "physical security call")

    rule_ev: dict[Theme, list[Evidence]] = {}
    ident = (call.identifier or "").strip()
    if ident:
        for rule in r.id_rules:
            if rule.pattern.search(ident):
                rule_ev.setdefault(rule.theme, []).append(Evidence(
                    "identifier", rule.pattern.pattern, "identifier", matched=ident, note=rule.strength,
                    weight=s["identifier_strong"] if rule.strength == "strong" else s["identifier_conditional"]))
    seen: set[tuple[str, Theme]] = set()
    for p, where, start, end, matched in implied:
        for theme, strength in p.themes.items():
            if (p.id, theme) in seen:
                continue
            seen.add((p.id, theme))
            rule_ev.setdefault(theme, []).append(Evidence(
                "programme", p.id, where, start, end, matched, note=strength,
                weight=s["programme_strong"] if strength == "strong" else s["programme_conditional"]))

    if implied and r.training_funds and any(p.id in r.training_funds for p, *_ in implied):
        for theme, hits in strong.items():
            if theme not in r.course_exempt:
                # A training fund's notice on AI or digitalisation finances courses on them.
                strong[theme] = _demoted(hits, r.course_weight, "course subject")

    # (most calls have no identifier or programme rule: no generator per theme to ask)
    domain = [t for t in r.domain_themes if any(e.note == "strong" for e in rule_ev.get(t, []))] if rule_ev else []
    if domain:
        for theme in r.tool_themes:
            if theme not in rule_ev and theme in strong:
                # A topic of an aviation or space programme that names AI puts it to work in that domain.
                strong[theme] = _demoted(strong[theme], r.tool_weight, "used as a tool")

    if not r.title_domain_themes.isdisjoint(strong) \
            and any(e.field == "title" and e.note is None for t in r.title_domain_themes for e in strong.get(t, [])):
        for theme in r.tool_themes:
            hits = strong.get(theme, [])
            if hits and not any(e.field == "title" for e in hits):
                # The title is about cybersecurity or air traffic; AI it does not name is a tool of that work.
                strong[theme] = _demoted(hits, r.tool_weight, "used as a tool")

    if r.body_subject_min:
        lead = _lead_end(text.low)
        for theme in r.tool_themes:
            hits = strong.get(theme, [])
            if not hits or any(e.note == "strong" for e in rule_ev.get(theme, ())) \
                    or any(e.note is None and (e.field == "title" or e.rule in r.subject_phrases
                                               or (e.field == "text" and e.start is not None and e.start < lead))
                           for e in hits):
                continue
            body = sum(e.weight for e in hits if e.note is None and e.field != "programme") \
                + min(sum(e.weight for e in weak.get(theme, ())), 2 * weak_weight)
            if body < r.body_subject_min:
                # Named neither in the title nor as an initiative of its own, and only in passing in the body
                # (AI in a health, biodiversity or vehicle-platform topic): a means of that topic's work.
                strong[theme] = _demoted(hits, r.tool_weight, "used as a tool")

    if r.traffic_only is not None:
        theme, alone = r.traffic_only
        hits, fired = strong.get(theme, []), rule_ev.get(theme, [])
        # Only when the call's words say so: a bare SESAR identifier with no text keeps its programme's theme.
        if hits and all(e.rule in alone for e in (*hits, *fired) if e.note is None):
            # Air traffic management with no drone, U-space or IAM word: not the air mobility theme.
            note = "air traffic management only"
            strong[theme] = [replace(e, weight=0.0, note=note) for e in hits]
            rule_ev[theme] = [replace(e, weight=0.0, note=note) for e in fired]

    tagged: list[ThemeResult] = []
    below: list[ThemeResult] = []
    for theme in _ALL_THEMES:
        if theme not in strong and theme not in rule_ev and theme not in weak:
            continue  # nothing names it: no score
        kw = strong.get(theme, [])
        # Only a keyword in the call's own focus confirms a conditional rule or lets weak words count.
        focused = any(e.note is None for e in kw)
        rules_fired = rule_ev.get(theme, [])
        firm = [e for e in rules_fired if e.note == "strong"]
        conditional = [e for e in rules_fired if e.note != "strong"] if focused else []
        evidence = kw + firm + conditional[:1]
        score = sum(e.weight for e in evidence)
        weak_ok = focused or bool(firm)
        if not weak_ok and theme in weak and theme in r.weak_needs_gate:
            aviation_context = weak_ok = _aviation(r, text, aviation_context)
        if weak_ok and theme in weak:
            weak_ev = weak[theme]
            capped = min(sum(e.weight for e in weak_ev), 2 * s["weak"])
            score += capped
            evidence = evidence + weak_ev
        if focused and theme in r.aerospace_native and aerospace_call:
            gate_m = gate_named[0]
            bonus = s["aerospace_call_bonus"]
            score += bonus
            evidence = evidence + [Evidence.at("aerospace call", gate_m, weight=bonus)]
        if score <= 0:
            continue
        result = ThemeResult(theme, round(score, 2), tuple(evidence))
        (tagged if score >= s["threshold"] else below).append(result)
    tagged.sort(key=lambda t: -t.score)
    return tagged, below
