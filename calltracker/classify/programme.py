"""Which programme a call belongs to, and so its scope: identifier, programme field, title, source, text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from calltracker.classify.model import CallText, Evidence
from calltracker.classify.rules import Programme, Rules
from calltracker.classify.text import Field, Match
from calltracker.domain import Scope

#: A programme whose themes count, and where it is named: field, start, end and the words (or identifier) read.
Implied = tuple[Programme, str, int | None, int | None, str]


def _pick(matches: list[Match], r: Rules) -> tuple[Programme, Match] | None:
    best: tuple[Programme, Match] | None = None
    for m in matches:
        for payload in m.entry.payloads:
            prog = r.programmes[payload[1]]
            if best is None or prog.priority > best[0].priority:
                best = (prog, m)
    return best


def _issuer(matches: list[Match], r: Rules) -> tuple[Programme, Match] | None:
    """A region (or its programme) named in the title issues the call, even when the title also names an EU
    programme it contributes to ("Regione Campania - avviso Aerospazio ... Clean Aviation") or a national fund
    it spends (PNRR)."""
    regional = [m for m in matches for payload in m.entry.payloads
                if r.programmes[payload[1]].scope is Scope.REGIONAL and r.programmes[payload[1]].priority >= 45]
    # A national fund a region spends ("Regione Veneto - bando PNRR ...") is the region's call too.
    wider = any(r.programmes[payload[1]].scope is Scope.EU or payload[1] in _GENERIC_NATIONAL
                for m in matches for payload in m.entry.payloads)
    return _pick(regional, r) if regional and wider else None


def _leading_foundation(matches: list[Match], r: Rules) -> tuple[Programme, Match] | None:
    """A title that opens with a foundation ("Fondazione CRC - bando ... (provincia di Cuneo)") names its issuer
    first: a province, town or region named after it is the territory it funds, not a public body's call."""
    first = min(matches, key=lambda m: m.start, default=None)
    if first is None or first.start != 0:
        return None
    lead = _pick([first], r)
    best = _pick(matches, r)
    if lead is None or best is None or lead[0].scope is not Scope.OTHER or best[0].id != _LOCAL:
        return None
    return lead


# A programme recognised at this priority or below is a catch-all ("Interreg", "Ministero", "Regione").
_CATCH_ALL = 60
# Programmes recognised by generic words ("Gazzetta Ufficiale", "credito d'imposta", "PNRR") that any call may cite.
_GENERIC_NATIONAL = frozenset({"national_generic"})
_LOCAL = "regional_generic"


def _abroad(kind: str, key: str) -> bool:
    """A foreign country or place of the gazetteer."""
    return kind == "elsewhere" and key.startswith("abroad")


def _a_place(kind: str, key: str) -> bool:
    """An Italian place or region, ours or not (a foreign one is not a local body's)."""
    return kind in ("name", "place", "other") or (kind == "elsewhere" and not _abroad(kind, key))


def _title_place(r: Rules, title: Field, names: Callable[[str, str], bool], *, at_start: bool = False
                 ) -> Match | None:
    """The first place the title names of a kind `names` accepts (only one the title opens with, `at_start`)."""
    for m in r.regions.scan(title):
        if (not at_start or m.start == 0) and any(names(kind, key) for kind, key in m.entry.payloads):
            return m
    return None


def _leading_region(matches: list[Match], title: Field, r: Rules) -> tuple[Programme, Match] | None:
    """A title that opens with a named region ("Regione Abruzzo - 10 milioni FESR per ... GovSatcom del Piano Space
    Economy"), or with a local body of a place it names, names its issuer first: a national plan or programme it
    names after is the one the region's share funds, not the national call. Not a region joining a multi-regional
    plan ("Regione Puglia - adesione al Piano multiregionale Mirror Copernicus"): that plan's calls are open in every
    region that signed it."""
    if r.joins_multiregional(title.low):
        return None
    first = min(matches, key=lambda m: m.start, default=None)
    if first is None or first.start != 0:
        return None
    lead = _pick([first], r)
    if lead is None or lead[0].scope is not Scope.REGIONAL:
        return None
    if lead[0].priority < 45 and _title_place(r, title, _a_place) is None:
        return None  # a local body ("Camera di Commercio di Caltanissetta - ...") counts when the title names its place
    return lead


def _another_region(kind: str, key: str) -> bool:
    return kind == "other"


def _local_body(r: Rules, title: Field, names: Callable[[str, str], bool], note: str
                ) -> tuple[Programme, Evidence] | None:
    """The call of a local body when its title names a territory (`names` tells which kind counts):

    - a title naming an Italian place or region, on a call whose text only cites a national law or fund, is a
      local body's call (an airport's, a town's, a province's): regional, placed by the places it names;
    - a title naming an EU programme and another Italian region ("settore aerospaziale campano (Aerospazio e
      Clean Aviation)") is that region's call for a line of the programme, not the EU's own call.
    """
    local = r.programmes.get(_LOCAL)
    m = _title_place(r, title, names) if local is not None else None
    if local is None or m is None:
        return None
    return local, Evidence.at("local body", m, note=note)


def _foreign_body(title: Field, m: Match | None, note: str) -> Evidence | None:
    """The foreign place `m` of the title, as evidence that the call is that country's (None: no such place)."""
    if m is None:
        return None
    return Evidence.at("foreign body", m, note=note)


def _foreign_ministry(call: CallText, r: Rules, programme: Programme, title: Field) -> Evidence | None:
    """A generic national word ("Ministry") on an English page whose title names a foreign country or place ("India
    Ministry of Civil Aviation - ...", "Ontario Aerospace Council - ..."): that country's ministry, as one on a page
    written in another language. The place, as evidence."""
    if programme.id not in _GENERIC_NATIONAL or (call.language or "").lower()[:2] != "en":
        return None
    return _foreign_body(title, _title_place(r, title, _abroad), "a ministry of the country the title names")


def _foreign_government(r: Rules, programme: Programme, title: Field) -> Evidence | None:
    """An EU programme's words ("clean aviation") in a call whose title opens with another country ("UK Government -
    green flight funding ... to accelerate clean aviation"): that country's call. The place, as evidence."""
    if programme.scope is not Scope.EU:
        return None
    return _foreign_body(title, _title_place(r, title, _abroad, at_start=True),
                         f"the title opens with another country; {programme.id} names its subject")


def _foreign_cofunded(call: CallText, r: Rules, programme: Programme, title: Field, prog: Field, text: Field
                      ) -> Evidence | None:
    """An EU programme named as a co-funder of a scheme whose title names a foreign country or place ("NCC-MT Malta
    - SME Cybersecurity Grant Scheme ... co-funded by the European Union under the Digital Europe Programme"): that
    country's own scheme; so is a programme's national node or campaign ("ESA Phi-Lab Austria"). The place, as
    evidence."""
    if programme.national_nodes:
        note = f"a national node or campaign of {programme.id} in the country the title names"
    elif programme.scope is Scope.EU and r.cofunded is not None and (r.cofunded.search(prog.low)
                                                                      or r.cofunded.search(text.low)):
        note = f"a scheme of the country the title names, co-funded by {programme.id}"
        if _foreign(call):  # written in another language: that country's scheme, whatever the title names
            return Evidence("foreign body", programme.id, "language", matched=call.language,
                            note=f"a scheme of another country, co-funding {programme.id}")
    else:
        return None
    return _foreign_body(title, _title_place(r, title, _abroad), note)


def _named_as_cofunder(r: Rules, programme: Programme, title_matches: list[Match], title: Field) -> bool:
    """Whether the title names `programme` only as the co-funder of someone else's call ("SPARKme (Openet
    Technologies, cofinanziato da ASI) - call per le imprese ... sede di Matera")."""
    named = [m for m in title_matches if any(payload[1] == programme.id for payload in m.entry.payloads)]
    before = r.cofunded_by
    return bool(named) and before is not None and all(before.search(title.low[max(0, m.start - 30):m.start])
                                                      for m in named)


def _drawn_on_interreg(r: Rules, text: Field) -> tuple[Programme, Match] | None:
    """An Interreg programme the text of a regional body's notice says it draws on ("Provincia autonoma di Bolzano
    - Avviso ... CLLD: ... a valere su Interreg VI-A Italia - Austria 2021-2027"): the region or province publishes
    the programme's call (as its managing authority or a partner), which is the programme's."""
    if r.drawn_on is None or "interreg" not in text.low:
        return None
    for m in r.programme_lexicon.scan(text):
        if r.drawn_on.search(text.low[max(0, m.start - 60):m.start]) is None:
            continue
        for payload in m.entry.payloads:
            prog = r.programmes[payload[1]]
            if prog.scope is Scope.INTERREG:
                return prog, m
    return None


def _foreign(call: CallText) -> bool:
    lang = (call.language or "").lower()[:2]
    return bool(lang) and lang not in ("it", "en")


def source_rule(source: str | None, r: Rules) -> tuple[str, Mapping[str, Any]] | None:
    if not source:
        return None
    low = source.lower()
    for key, rule in r.sources.items():
        if low == key or ("." in key and key in low):
            return key, rule
    return None


def programme_and_scope(call: CallText, r: Rules, prog: Field, title: Field, text: Field
                         ) -> tuple[Programme | None, Scope, list[Evidence], list[Implied]]:
    """Recognise the programme: identifier, then programme field, title, source, scope hint, text."""
    evidence: list[Evidence] = []
    implied: list[Implied] = []  # programmes whose themes count (not from free text), and where they are named
    chosen: Programme | None = None
    if call.identifier:
        ident = call.identifier.strip()
        for p in r.identified_programmes:
            for hit in p.identifiers:
                if hit.search(ident):
                    break
            else:
                continue
            chosen = chosen or p
            if chosen is p:
                evidence.append(Evidence("identifier", hit.pattern, "identifier", matched=ident,
                                         note=f"programme {p.id}"))
            if p.themes:
                implied.append((p, "identifier", None, None, ident))
    in_title = r.programme_lexicon.scan(title)
    for fld, matches in ((prog, r.programme_lexicon.scan(prog)), (title, in_title)):
        for m in matches:
            for payload in m.entry.payloads:
                p = r.programmes[payload[1]]
                if p.themes:  # only the themes of the programmes implied count
                    implied.append((p, fld.name, m.start, m.end, m.text))
        if chosen is None:
            # A region beside a national fund or an EU programme issues the call, in the programme field too
            # ("Regione Lombardia / MIUR").
            best = _issuer(matches, r) or (_leading_foundation(matches, r) if fld is title else None)
            best = best or _pick(matches, r)
            if best is not None and fld is prog and best[0].priority <= _CATCH_ALL:
                sharper = _pick(in_title, r)
                if sharper is not None and sharper[0].scope is best[0].scope and sharper[0].priority > best[0].priority:
                    continue  # "Interreg VI-B Central Europe" read as any Interreg: the title names which one
            if best is not None and fld is title and best[0].scope is Scope.EU:
                local = _local_body(r, title, _another_region,
                                    f"the title names another region; {best[0].id} is a line of its call")
                if local is not None:
                    evidence.append(local[1])
                    return local[0], local[0].scope, evidence, implied
            if best is not None:
                chosen = best[0]
                m = best[1]
                evidence.append(Evidence.at("programme", m, note=f"programme {chosen.id}"))
    if chosen is not None and chosen.scope is Scope.NATIONAL:
        # A national plan or agency the title names after the region or local body that issues the call.
        if (lead := _leading_region(in_title, title, r)) is not None:
            evidence.append(Evidence.at("local body", lead[1],
                                        note=f"the title opens with a region; {chosen.id} funds its share"))
            return lead[0], lead[0].scope, evidence, implied
        local = _local_body(r, title, _a_place, f"{chosen.id} co-funds the call of a body of the place the title "
                            "names") if _named_as_cofunder(r, chosen, in_title, title) else None
        if local is not None:
            evidence.append(local[1])
            return local[0], local[0].scope, evidence, implied
    if chosen is not None and chosen.scope is Scope.REGIONAL and (drawn := _drawn_on_interreg(r, text)) is not None:
        evidence.append(Evidence.at("programme", drawn[1],
                                    note=f"programme {drawn[0].id}: the call draws on it; {chosen.id} publishes it"))
        return drawn[0], drawn[0].scope, evidence, implied
    if chosen is not None:
        if (abroad := _foreign_ministry(call, r, chosen, title) or _foreign_government(r, chosen, title)
                or _foreign_cofunded(call, r, chosen, title, prog, text)) is not None:
            evidence.append(abroad)
            return None, Scope.OTHER, evidence, implied
        if chosen.scope is Scope.NATIONAL and _foreign(call):
            # A ministry named in a page written in another language is that country's ministry.
            evidence.append(Evidence("foreign body", chosen.id, "language", matched=call.language,
                                     note="a national body of another country"))
            return None, Scope.OTHER, evidence, implied
        return chosen, chosen.scope, evidence, implied
    src = source_rule(call.source, r)
    if src is not None and src[1].get("scope"):
        evidence.append(Evidence("source", src[0], "source", matched=call.source))
        return None, Scope(src[1]["scope"]), evidence, implied
    if call.scope is not None:
        evidence.append(Evidence("scope hint", call.scope.value, "source"))
        return None, call.scope, evidence, implied
    best = _pick(r.programme_lexicon.scan(text), r)
    if best is not None and _foreign(call) and best[0].scope is not Scope.INTERREG:
        # A page in another language naming an EU programme in passing is that country's call.
        best = None
    if best is not None:
        m = best[1]
        evidence.append(Evidence.at("programme", m, note=f"programme {best[0].id}"))
        if (abroad := _foreign_ministry(call, r, best[0], title) or _foreign_government(r, best[0], title)) \
                is not None:
            evidence.append(abroad)
            return None, Scope.OTHER, evidence, implied
        local = _local_body(r, title, _a_place, f"the title names a place; {best[0].id} is only cited in the text") \
            if best[0].id in _GENERIC_NATIONAL else None
        if local is not None:
            evidence.append(local[1])
            return local[0], local[0].scope, evidence, implied
        return best[0], best[0].scope, evidence, implied
    evidence.append(Evidence("default", "other", note="no programme, source or scope marker"))
    return None, Scope.OTHER, evidence, implied
