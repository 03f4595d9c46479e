"""What the classifier reads (CallText, Document) and what it returns (Classification, Evidence) (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from calltracker import labels
from calltracker.domain import Consortium, Region, Scope, Theme
from calltracker.domain import Document as Document  # re-exported: what CallText.documents holds

if TYPE_CHECKING:
    from calltracker.classify.text import Match

REGIONS = (Region.LOMBARDIA, Region.PIEMONTE, Region.LIGURIA)
#: Region names inside a fit reason, in both languages: the shared labels' own (Italian) names.
REGION_LABELS = {r: labels.region(r.value, "it") for r in REGIONS}
#: (English, Italian) theme names inside a fit reason: the shared labels, lower-cased as they sit mid-sentence.
THEME_LABELS = {t: (labels.theme(t.value, "en").lower(), labels.theme(t.value, "it").lower()) for t in Theme}


class DocumentText(Protocol):
    """A document attached to a call as the classifier reads it (calltracker.domain.Document fits)."""

    @property
    def name(self) -> str: ...

    @property
    def url(self) -> str: ...

    @property
    def pages(self) -> tuple[str, ...]: ...


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
    #: Attached documents (the PDF "bando", annexes): their pages are read for themes and the consortium rule,
    #: and evidence found there names the document and the page.
    documents: tuple[DocumentText, ...] = ()


@dataclass(frozen=True, slots=True, init=False)
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

    def __init__(self, kind: str, rule: str, field: str | None = None, start: int | None = None,
                 end: int | None = None, matched: str | None = None, weight: float = 0.0,
                 note: str | None = None) -> None:
        # Frozen: the slots are filled through their own descriptors, about twice as fast as the
        # object.__setattr__ by name that dataclass writes (a classification builds a dozen of these).
        _SET_KIND(self, kind)
        _SET_RULE(self, rule)
        _SET_FIELD(self, field)
        _SET_START(self, start)
        _SET_END(self, end)
        _SET_MATCHED(self, matched)
        _SET_WEIGHT(self, weight)
        _SET_NOTE(self, note)

    @classmethod
    def at(cls, kind: str, m: Match, note: str | None = None, weight: float = 0.0) -> Evidence:
        """A lexicon phrase found in a field: its entry's phrase as the rule, where it is and what it matched."""
        return cls(kind, m.entry.phrase, m.field, m.start, m.end, m.text, weight, note)

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


_SET_KIND, _SET_RULE, _SET_FIELD, _SET_START, _SET_END, _SET_MATCHED, _SET_WEIGHT, _SET_NOTE = (
    getattr(Evidence, name).__set__ for name in ("kind", "rule", "field", "start", "end", "matched", "weight", "note"))


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
