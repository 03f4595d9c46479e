"""Which of Lombardia, Piemonte and Liguria may apply: programme territory, scope, names and places read."""

from __future__ import annotations

import re

from calltracker.classify.model import REGIONS, CallText, Evidence
from calltracker.classify.programme import source_rule
from calltracker.classify.rules import Programme, Rules
from calltracker.classify.text import Entry, Field, Match
from calltracker.domain import Region, Scope

_SEAT_RULE = Entry("seat in the region", ("seat",), ())


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
            if not fld.may(fld_cue):
                continue
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


def eligibility(call: CallText, r: Rules, scope: Scope, programme: Programme | None, prog: Field,
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
                m = _national_restriction(r, fld.low) if fld.may(r.national_restrictions) else None
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
