"""Which of Lombardia, Piemonte and Liguria may apply: programme territory, scope, names and places read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from calltracker.classify.model import REGIONS, CallText, Evidence
from calltracker.classify.programme import source_rule
from calltracker.classify.rules import Programme, Rules
from calltracker.classify.text import Entry, Field, Match
from calltracker.domain import Region, Scope

_SEAT_RULE = Entry("seat in the region", ("seat",), ())


def _detect_regions(call: CallText, r: Rules, fields: tuple[Field, ...], evidence: list[Evidence]
                    ) -> set[Region] | None:
    """Regions a call names, read field by field: our region names win, then other regions, then places.

    A call written in another language names no town of ours: its words ("como", "centro") only look like them.
    """
    foreign = _foreign_language(call)
    places: dict[Region, Match] = {}
    elsewhere: Match | None = None  # a town, province or country outside the three regions
    for fld in fields:
        named: dict[Region, Match] = {}
        other: Match | None = None
        for m in r.regions.scan(fld):
            for kind, key in m.entry.payloads:
                if kind == "name":
                    named.setdefault(Region(key), m)
                elif kind == "place":
                    if not foreign:
                        places.setdefault(Region(key), m)
                elif kind == "elsewhere":
                    elsewhere = elsewhere or m
                elif other is None:
                    other = m
        for fld_cue in r.eligibility_cues:
            if not fld.may(fld_cue):
                continue
            for cue in fld_cue.finditer(fld.low):
                word = cue.group(1)
                region = next((g for g in REGIONS if word.startswith(g.value[:5])), None)
                if region is not None and region not in named:
                    named[region] = Match(_SEAT_RULE, fld.name, cue.start(), cue.end(), cue.group())
        if named:
            for region, m in named.items():
                evidence.append(Evidence.at("region name", m, note=region.value))
            return set(named)
        if other is not None:
            wide = _italy_wide(r, fields)
            if wide is not None:
                evidence.append(wide)
                return set(REGIONS)
            evidence.append(Evidence.at("other region", other, note="a region outside Lombardia, Piemonte, Liguria"))
            return set()
    if places:
        for region, m in places.items():
            evidence.append(Evidence.at("place", m, note=region.value))
        return set(places)
    if elsewhere is not None:
        wide = _italy_wide(r, fields)
        if wide is not None:
            evidence.append(wide)
            return set(REGIONS)
        where = elsewhere.entry.payloads[0][1]
        evidence.append(Evidence.at("place elsewhere", elsewhere,
                                    note=f"{where}: outside Lombardia, Piemonte, Liguria"))
        return set()
    if call.regions:
        evidence.append(Evidence("source regions", ",".join(g.value for g in call.regions), "source"))
        return set(call.regions)
    src = source_rule(call.source, r)
    if src is not None and src[1].get("regions"):
        evidence.append(Evidence("source", src[0], "source", matched=call.source))
        return {Region(g) for g in src[1]["regions"]}
    return None


def _italy_wide(r: Rules, fields: tuple[Field, ...]) -> Evidence | None:
    """A phrase opening a local body's call to applicants from anywhere in Italy."""
    if r.italy_wide is None:
        return None
    for fld in fields:
        m = r.italy_wide.search(fld.low) if fld.may(r.italy_wide) else None
        if m:
            return Evidence("open to all Italy", m.group(), fld.name, m.start(), m.end(), note="all three")
    return None


@lru_cache(maxsize=256)
def _whole_word(word: str) -> re.Pattern[str]:
    """`word` as a whole word of a lower-cased text (compiled once: the words are a programme's, few)."""
    return re.compile(rf"\b{re.escape(word.lower())}\b")


def eligibility(call: CallText, r: Rules, scope: Scope, programme: Programme | None, prog: Field,
                 title: Field, text: Field) -> tuple[dict[Region, bool], list[Evidence]]:
    evidence: list[Evidence] = []
    rule = programme.eligible if programme is not None else str(r.scope_defaults[scope]["eligible"])
    regions: set[Region]
    if isinstance(rule, tuple):
        regions = set(rule)
        evidence.append(Evidence("programme territory", programme.id if programme else "",
                                 note=", ".join(g.value for g in rule) or "none of the three"))
        if programme is not None and programme.id in r.joint_foundations:
            regions |= _partner_territories(r, programme, (prog, title), evidence)
        if programme is not None and programme.extra_regions:
            base = set(regions)
            for region, words in programme.extra_regions.items():
                for fld in (title, text):
                    hit = next((w for w in words if _whole_word(w).search(fld.low)), None)
                    if hit and region not in regions:
                        regions.add(region)
                        evidence.append(Evidence("programme territory", hit, fld.name, note=region.value))
            if regions != base and not _names_any(r, base, (title, text)):
                # A call for the extra territory alone (a Lombard foundation's call for Novara): not the base.
                regions -= base
                evidence.append(Evidence("programme territory", programme.id,
                                         note="only the territory named: " + ", ".join(g.value for g in regions)))
    elif rule == "all":
        regions = set(REGIONS)
        evidence.append(Evidence("scope", scope.value, note="open to all three regions"))
        if scope is Scope.NATIONAL:
            for fld in (prog, title, text):
                m = _national_restriction(r, fld.low) if fld.may(r.national_restrictions) else None
                if m:
                    regions = set()
                    evidence.append(Evidence("national restriction", m.group(), fld.name, m.start(), m.end(),
                                             note="reserved to other areas of Italy"))
                    break
            else:
                local = _local_seat(r, (title, text)) or _listed_regions(r, (title, text)) \
                    or _title_region(r, title)
                if local is not None:
                    regions, ev = local
                    evidence.append(ev)
        elif scope is Scope.EU:
            listed = _countries_listed(r, (title, text))
            if listed is not None:
                regions = set()
                evidence.append(listed)
    else:
        # The title first: it says where the call applies, the programme field who runs it (a catalogue may name
        # another region's body there: "Regione Lombardia" for a chamber's call "... dell'alto Piemonte").
        found = _detect_regions(call, r, (title, prog, text), evidence)
        if found is None and _foreign_language(call):
            found = set()
            evidence.append(Evidence("foreign call", call.language or "", "language",
                                     note="written for applicants of another country"))
        if found is None and (money := _foreign_money(r, (title, text))) is not None:
            found = set()
            evidence.append(money)
        if found is None:
            regions = set(REGIONS) if rule == "detect_or_all" else set()
            evidence.append(Evidence("no region named", rule, note="all three" if regions else "none"))
        else:
            regions = found
    return {g: g in regions for g in REGIONS}, evidence


def _partner_territories(r: Rules, programme: Programme, fields: tuple[Field, ...], evidence: list[Evidence]
                         ) -> set[Region]:
    """A joint call of several foundations ('Compagnia di San Paolo, Fondazione Cariplo e Fondazione CDP - bando
    ...') is open to the territories of each: the regions of the other foundations its programme field or title
    names, among the large foundations of `joint_foundations` (a community foundation's call that a large one
    funds is for the community's territory alone)."""
    found: set[Region] = set()
    for fld in fields:
        for m in r.programme_lexicon.scan(fld):
            for payload in m.entry.payloads:
                other = r.programmes[payload[1]]
                if other is programme or other.id not in r.joint_foundations or not isinstance(other.eligible, tuple):
                    continue
                new = set(other.eligible) - found
                if new:
                    found |= new
                    evidence.append(Evidence.at("partner territory", m, note=", ".join(sorted(g.value for g in new))))
    return found


def _national_restriction(r: Rules, low: str) -> re.Match[str] | None:
    """The first phrase reserving a national measure to other areas, unless it only reserves a share."""
    shares: list[tuple[int, int]] | None = None  # read only when a restriction is there: most calls have none
    for m in r.national_restrictions.finditer(low):
        if shares is None:
            if r.national_open_too is not None and r.national_open_too.search(low):
                return None
            shares = [s.span() for s in r.national_shares.finditer(low)] if r.national_shares is not None else []
        if not any(a <= m.start() < b for a, b in shares):
            return m
    return None


def _names_any(r: Rules, regions: set[Region], fields: tuple[Field, ...]) -> bool:
    """Whether the fields name one of `regions` or one of their places."""
    wanted = {g.value for g in regions}
    return any(kind in ("name", "place") and key in wanted
               for fld in fields for m in r.regions.scan(fld) for kind, key in m.entry.payloads)


def _local_seat(r: Rules, fields: tuple[Field, ...]) -> tuple[set[Region], Evidence] | None:
    """A national body's call for firms seated in one named province or town: that place's region only."""
    if r.local_seat is None:
        return None
    for fld, cue, sub in _captured(r.local_seat, fields):
        regions: set[Region] = set()
        outside = False
        for m in r.regions.scan(sub):
            for kind, key in m.entry.payloads:
                if kind in ("name", "place"):
                    regions.add(Region(key))
                elif kind in ("other", "elsewhere"):
                    outside = True
        if regions or outside:
            where = ", ".join(sorted(g.value for g in regions)) or "outside Lombardia, Piemonte, Liguria"
            return regions, Evidence("local seat", cue.group(), fld.name, cue.start(), cue.end(), note=where)
    return None


def _title_region(r: Rules, title: Field) -> tuple[set[Region], Evidence] | None:
    """A national body's notice whose title names a region ("INAIL - Avviso pubblico ISI 2024 ... - Emilia
    Romagna"): one of the notices it publishes region by region, open in the regions the title names only. Not a
    region joining a multi-regional plan ("Regione Puglia - adesione al Piano multiregionale ..."): that plan is open
    in every region that signed it."""
    if r.joins_multiregional(title.low):
        return None
    regions: set[Region] = set()
    first: Match | None = None
    for m in r.regions.scan(title):
        for kind, key in m.entry.payloads:
            if kind == "name":
                regions.add(Region(key))
            elif kind != "other":
                continue
            first = first or m
    if first is None:
        return None
    where = ", ".join(sorted(g.value for g in regions)) or "outside Lombardia, Piemonte, Liguria"
    return regions, Evidence.at("region in the title", first, note=where)


def _captured(pattern: re.Pattern[str], fields: tuple[Field, ...]) -> Iterator[tuple[Field, re.Match[str], Field]]:
    """Each match of `pattern` in the fields, with its group as a field of its own (to scan for places): the group
    of the alternative that matched (`pattern` joins several, one group each)."""
    for fld in fields:
        if not fld.may(pattern):
            continue
        for cue in pattern.finditer(fld.low):
            start, end = cue.span(cue.lastindex or 1)
            yield fld, cue, Field(fld.name, fld.raw[start:end])


def _listed_regions(r: Rules, fields: tuple[Field, ...]) -> tuple[set[Region], Evidence] | None:
    """A national call for firms of listed regions ('negli incubatori delle regioni Campania, ...; al 45% per le
    regioni Friuli Venezia Giulia, Liguria, Toscana e Umbria'): the three regions it lists, when it lists any.
    Lists naming only other regions are left to the restrictions: they often list a share, not who applies."""
    if r.listed_regions is None:
        return None
    regions: set[Region] = set()
    first: Evidence | None = None
    for fld, cue, sub in _captured(r.listed_regions, fields):
        for m in r.regions.scan(sub):
            for kind, key in m.entry.payloads:
                if kind == "name":
                    regions.add(Region(key))
                    first = first or Evidence("listed regions", cue.group(), fld.name, cue.start(), cue.end())
    if not regions or first is None:
        return None
    return regions, Evidence(first.kind, first.rule, first.field, first.start, first.end,
                             note=", ".join(sorted(g.value for g in regions)))


def _countries_listed(r: Rules, fields: tuple[Field, ...]) -> Evidence | None:
    """An EU-funded call whose applicants must be based in listed countries ('the SMEs must be based in one of the
    5 consortium partners countries: Bulgaria, France, ...'): closed to the three regions when Italy is not listed."""
    if r.country_list is None:
        return None
    for fld, cue, sub in _captured(r.country_list, fields):
        if "ital" in sub.low:
            return None
        if any(kind == "elsewhere" and key.startswith("abroad")
               for m in r.regions.scan(sub) for kind, key in m.entry.payloads):
            return Evidence("countries listed", cue.group(), fld.name, cue.start(), cue.end(),
                            note="Italy not among the countries where applicants must be based")
    return None


def _foreign_money(r: Rules, fields: tuple[Field, ...]) -> Evidence | None:
    """A call with no programme or place that counts its money in dollars or pounds ('grants up to $2 million'):
    another country's call."""
    if r.foreign_currency is None:
        return None
    for fld in fields:
        m = r.foreign_currency.search(fld.low)
        if m:
            return Evidence("foreign call", m.group(), fld.name, m.start(), m.end(),
                            note="amounts in another currency than the euro")
    return None


_NATIVE = frozenset({"it", "en"})


def _foreign_language(call: CallText) -> bool:
    """A call written in neither Italian nor English that no programme opens to Italy: a foreign call."""
    lang = (call.language or "").lower()[:2]
    return bool(lang) and lang not in _NATIVE
