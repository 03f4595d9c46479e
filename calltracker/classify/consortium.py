"""Whether a call needs a partnership: the first cue class found in its text, else the programme's or scope's rule."""

from __future__ import annotations

from calltracker.classify.model import Evidence
from calltracker.classify.rules import Programme, Rules
from calltracker.classify.text import Field, ids_of
from calltracker.domain import Consortium, Scope

_OUTCOME = {"single_only": Consortium.SINGLE, "optional": Consortium.OPTIONAL,
            "required": Consortium.REQUIRED, "single_instrument": Consortium.SINGLE}


def consortium(r: Rules, scope: Scope, programme: Programme | None, title: Field, text: Field,
               pages: tuple[Field, ...] = ()) -> tuple[Consortium, list[Evidence]]:
    """The cue class found first (title and text, then the attached documents page by page), else defaults."""
    found = _cue(r, title, text)
    for page in pages:
        if found is not None:
            break
        found = _cue(r, Field(page.name, ""), page)
    # (an instrument cue, "invitation to tender", gives way to a programme whose own rule outranks it: ESA's)
    instrument_only = found is not None and found[1][0].rule == "single_instrument"
    outranked = instrument_only and programme is not None and programme.consortium is not None \
        and programme.consortium_over_instruments
    if found is not None and not outranked:
        return found
    if programme is not None and programme.consortium is not None:
        return programme.consortium, [Evidence("programme default", programme.id, note=programme.consortium.value)]
    value = Consortium(str(r.scope_defaults[scope]["consortium"]))
    return value, [Evidence("scope default", scope.value, note=value.value)]


def _cue(r: Rules, title: Field, text: Field) -> tuple[Consortium, list[Evidence]] | None:
    outcome = _OUTCOME
    both = title.low + "\n" + text.low  # one search per cue class instead of one per field
    possible = r.consortium_bank.possible_ids(both) if r.consortium_bank is not None else None
    for cls, patterns in r.consortium_cues:
        if possible is not None:
            may = possible.intersection(ids_of(patterns))
            if not may:
                continue  # no cue of this class can match
            patterns = tuple(p for p in patterns if id(p) in may)
        m = None
        for pattern in patterns:
            # Past the first match found only an earlier one matters; the class decides, not the position.
            hit = pattern.search(both, 0, m.start() if m else len(both))
            if hit and (m is None or hit.start() < m.start()):
                m = hit
        if m:
            if m.start() <= len(title.low):
                return outcome[cls], [Evidence("consortium cue", cls, title.name, m.start(), m.end(), m.group())]
            offset = len(title.low) + 1
            return outcome[cls], [Evidence("consortium cue", cls, text.name, m.start() - offset, m.end() - offset,
                                           m.group())]
    return None
