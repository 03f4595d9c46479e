"""Loading the classifier's rule files (calltracker/data/rules/*.json) into compiled lexicons and regexes."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from calltracker.classify.text import Lexicon, LexiconIndex, RegexBank
from calltracker.domain import Consortium, Region, Scope, Theme

TIERS = ("strong", "weak")
# Strong words that name a technology shared with other transport modes ("propulsione elettrica"): they count
# as strong only when the call also has an aviation context.
GATED_TIER = "strong_needs_gate"


@dataclass(frozen=True, slots=True)
class IdRule:
    pattern: re.Pattern[str]
    theme: Theme
    strength: str


@dataclass(frozen=True, slots=True)
class Programme:
    id: str
    priority: int
    scope: Scope
    eligible: str | tuple[Region, ...]  # "all", "detect", "detect_or_all" or fixed regions
    consortium: Consortium | None
    mode: str | None
    themes: Mapping[Theme, str]
    identifiers: tuple[re.Pattern[str], ...]
    extra_regions: Mapping[Region, tuple[str, ...]]
    #: A title that names a foreign country makes the call that country's node or campaign of the programme
    #: ("ESA Phi-Lab Austria", "Portugal Space - InCubed campaign"), not the programme's own call.
    national_nodes: bool = False
    #: The programme's consortium rule outranks the instrument cues ("invitation to tender" reads single for an EU
    #: service contract, while an ESA tender takes a prime contractor with its subcontractors).
    consortium_over_instruments: bool = False


@dataclass(frozen=True, slots=True)
class Mode:
    fit: int
    reason_en: str
    reason_it: str


@dataclass(frozen=True)
class Rules:
    """Everything the classifier needs, compiled once. Build it with `load_rules`."""

    version: str
    scoring: Mapping[str, float]
    negatives: tuple[re.Pattern[str], ...]
    themes: Lexicon
    gate: Lexicon
    aerospace_native: frozenset[Theme]
    weak_needs_gate: frozenset[Theme]
    id_rules: tuple[IdRule, ...]
    programmes: Mapping[str, Programme]
    programme_lexicon: Lexicon
    #: The programmes, highest priority first (the order identifiers are tried in).
    programme_order: tuple[Programme, ...]
    regions: Lexicon
    national_restrictions: re.Pattern[str]
    eligibility_cues: tuple[re.Pattern[str], ...]
    scope_defaults: Mapping[Scope, Mapping[str, Any]]
    sources: Mapping[str, Mapping[str, Any]]
    modes: Mapping[str, Mode]
    consortium_cues: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]
    course_subjects: re.Pattern[str]
    course_weight: float
    course_exempt: frozenset[Theme]
    tool_contexts: tuple[re.Pattern[str], ...] = ()
    tool_weight: float = 1.0
    tool_themes: frozenset[Theme] = frozenset()
    domain_themes: frozenset[Theme] = frozenset()
    title_domain_themes: frozenset[Theme] = frozenset()
    body_subject_min: float = 0.0
    subject_phrases: frozenset[str] = frozenset()
    national_shares: re.Pattern[str] | None = None
    off_focus: re.Pattern[str] | None = None
    off_focus_weight: float = 0.0
    ancillary: re.Pattern[str] | None = None
    ancillary_weight: float = 1.0
    italy_wide: re.Pattern[str] | None = None
    field_bank: RegexBank | None = None
    consortium_bank: RegexBank | None = None
    negative_parts: frozenset[re.Pattern[str]] = frozenset()
    local_seat: re.Pattern[str] | None = None
    national_open_too: re.Pattern[str] | None = None
    examples: re.Pattern[str] | None = None
    examples_weight: float = 1.0
    technology_list: re.Pattern[str] | None = None
    physical_title: re.Pattern[str] | None = None
    #: A title naming aviation as one transport mode among others: no aerospace call, no aviation context.
    multimodal_title: re.Pattern[str] | None = None
    listed_regions: re.Pattern[str] | None = None
    country_list: re.Pattern[str] | None = None
    foreign_currency: re.Pattern[str] | None = None
    cofunded: re.Pattern[str] | None = None
    cofunded_by: re.Pattern[str] | None = None
    multiregional: re.Pattern[str] | None = None
    #: Words right before an Interreg programme's name that make a regional body's notice that programme's call.
    drawn_on: re.Pattern[str] | None = None
    #: Foundations whose joint calls are open to the territories of each (not a community foundation's call).
    joint_foundations: frozenset[str] = frozenset()
    physical_themes: frozenset[Theme] = frozenset()
    physical_weight: float = 1.0
    threat: re.Pattern[str] | None = None
    threat_themes: frozenset[Theme] = frozenset()
    threat_weight: float = 1.0
    #: (theme, the words and rule ids that alone do not make it): air traffic management is not air mobility.
    traffic_only: tuple[Theme, frozenset[str]] | None = None
    #: Programmes that finance training only: other themes they name are course subjects.
    training_funds: frozenset[str] = frozenset()
    #: The programmes with identifier patterns, highest priority first (those of programme_order).
    identified_programmes: tuple[Programme, ...] = ()

    @cached_property
    def demoting(self) -> tuple[re.Pattern[str], ...]:
        """The patterns of the contexts that demote any theme's word: off focus, ancillary costs, examples."""
        return tuple(p for p in (self.off_focus, self.ancillary, self.examples, self.technology_list) if p is not None)

    def joins_multiregional(self, low: str) -> bool:
        """Whether a (lower-cased) title has a region joining a multi-regional plan ("Regione Puglia - adesione al
        Piano multiregionale ..."): that plan's calls are open in every region that signed it, whatever the title
        names."""
        return self.multiregional is not None and self.multiregional.search(low) is not None


def _rules_dir() -> Path:
    return Path(str(resources.files("calltracker").joinpath("data", "rules")))


def _alternation(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def _acronym(item: str | Mapping[str, Any]) -> tuple[str, frozenset[str] | None]:
    if isinstance(item, str):
        return item, None
    langs = item.get("languages")
    return str(item["token"]), frozenset(langs) if langs else None


def _eligible(value: Any) -> str | tuple[Region, ...]:
    if isinstance(value, str):
        return value
    return tuple(Region(v) for v in value)


LexiconItem = tuple[str, tuple[str, ...], bool, frozenset[str] | None]


def _read(folder: Path) -> tuple[str, dict[str, Any]]:
    """The rule files named by the manifest, parsed, and the version: manifest version + digest of the bytes."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256()
    raw: dict[str, Any] = {}
    for name in ["manifest.json", *manifest["files"]]:
        data = (folder / name).read_bytes()
        digest.update(name.encode() + b"\0" + data + b"\0")
        raw[name] = json.loads(data)
    return f"{manifest['version']}+{digest.hexdigest()[:10]}", raw


def _theme_rules(themes_doc: Mapping[str, Any]) -> dict[str, Any]:
    """Theme words, acronyms and identifier rules as one lexicon; the aerospace gate as another."""
    items: list[LexiconItem] = []
    id_rules: list[IdRule] = []
    native: set[Theme] = set()
    gated: set[Theme] = set()
    for key, spec in themes_doc["themes"].items():
        theme = Theme(key)
        for tier in TIERS:
            items.extend((phrase, ("theme", key, tier), False, None) for phrase in spec.get(tier, []))
        items.extend((phrase, ("theme", key, "gated"), False, None) for phrase in spec.get(GATED_TIER, []))
        for item in spec.get("acronyms", []):
            token, langs = _acronym(item)
            items.append((token, ("theme", key, "strong"), True, langs))
        id_rules.extend(IdRule(re.compile(r["regex"]), theme, r["strength"]) for r in spec.get("identifiers", []))
        if spec.get("aerospace_native"):
            native.add(theme)
        if spec.get("weak_needs_gate"):
            gated.add(theme)
    gate_spec = themes_doc["gates"]["aerospace"]
    gate = Lexicon([(w, ("gate",), False, None) for w in gate_spec["words"]]
                   + [(w, ("gate",), True, None) for w in gate_spec.get("acronyms", [])])
    return {"themes": Lexicon(items), "gate": gate, "id_rules": tuple(id_rules),
            "aerospace_native": frozenset(native), "weak_needs_gate": frozenset(gated)}


def _theme_contexts(themes_doc: Mapping[str, Any]) -> dict[str, Any]:
    """The contexts that lower a theme word's weight: course subjects, tools, off-focus and ancillary costs."""
    tools = themes_doc.get("tool_contexts", {})
    off_focus = themes_doc.get("off_focus", {})
    ancillary = themes_doc.get("ancillary", {})
    examples = themes_doc.get("examples", {})
    physical = themes_doc.get("physical_security", {})
    threat = themes_doc.get("threats", {})
    traffic = themes_doc.get("traffic_management_only", {})
    multimodal = themes_doc.get("multimodal", {})
    return {
        "scoring": {k: float(v) for k, v in themes_doc["scoring"].items() if not isinstance(v, str)},
        "negatives": (_alternation(themes_doc["negatives"]["patterns"]),),
        "negative_parts": frozenset(re.compile(p) for p in themes_doc["negatives"]["patterns"]),
        "course_subjects": re.compile(themes_doc["course_subjects"]["pattern"]),
        "course_weight": float(themes_doc["course_subjects"]["weight"]),
        "course_exempt": frozenset(Theme(t) for t in themes_doc["course_subjects"]["except"]),
        "tool_contexts": tuple(re.compile(tools[k]) for k in ("pattern", "also") if tools.get(k)),
        "tool_weight": float(tools.get("weight", 1.0)),
        "tool_themes": frozenset(Theme(t) for t in tools.get("themes", [])),
        "domain_themes": frozenset(Theme(t) for t in tools.get("domain_programme_themes", [])),
        "title_domain_themes": frozenset(Theme(t) for t in tools.get("title_domain_themes", [])),
        "body_subject_min": float(tools.get("body_only", {}).get("min_weight", 0.0)),
        "subject_phrases": frozenset(tools.get("body_only", {}).get("subject_phrases", [])),
        "off_focus": re.compile(off_focus["pattern"]) if off_focus.get("pattern") else None,
        "off_focus_weight": float(off_focus.get("weight", 0.0)),
        "ancillary": re.compile(ancillary["pattern"]) if ancillary.get("pattern") else None,
        "ancillary_weight": float(ancillary.get("weight", 1.0)),
        "examples": re.compile(examples["pattern"]) if examples.get("pattern") else None,
        "examples_weight": float(examples.get("weight", 1.0)),
        "technology_list": re.compile(examples["list"]) if examples.get("list") else None,
        "physical_title": re.compile(physical["title"]) if physical.get("title") else None,
        "physical_themes": frozenset(Theme(t) for t in physical.get("themes", [])),
        "physical_weight": float(physical.get("weight", 1.0)),
        "threat": re.compile(threat["pattern"]) if threat.get("pattern") else None,
        "threat_themes": frozenset(Theme(t) for t in threat.get("themes", [])),
        "threat_weight": float(threat.get("weight", 1.0)),
        "traffic_only": (Theme(traffic["theme"]), frozenset([*traffic["words"], *traffic["rules"]]))
        if traffic else None,
        "training_funds": frozenset(themes_doc.get("training_funds", {}).get("programmes", [])),
        "multimodal_title": re.compile(multimodal["title"]) if multimodal.get("title") else None,
    }


def _programmes(territory: Mapping[str, Any]) -> dict[str, Any]:
    programmes: dict[str, Programme] = {}
    items: list[LexiconItem] = []
    for spec in territory["programmes"]:
        pid = spec["id"]
        programmes[pid] = Programme(
            id=pid, priority=int(spec["priority"]), scope=Scope(spec["scope"]),
            eligible=_eligible(spec.get("eligible", "detect")),
            consortium=Consortium(spec["consortium"]) if spec.get("consortium") else None,
            mode=spec.get("mode"),
            themes={Theme(k): v for k, v in spec.get("themes", {}).items()},
            identifiers=tuple(re.compile(p) for p in spec.get("identifiers", [])),
            extra_regions={Region(k): tuple(v) for k, v in spec.get("extra_regions", {}).items()},
            national_nodes=bool(spec.get("national_nodes", False)),
            consortium_over_instruments=bool(spec.get("consortium_over_instruments", False)),
        )
        items.extend((a, ("programme", pid), False, None) for a in spec.get("aliases", []))
        items.extend((a, ("programme", pid), True, None) for a in spec.get("acronyms", []))
    order = tuple(sorted(programmes.values(), key=lambda p: -p.priority))
    return {"programmes": programmes, "programme_lexicon": Lexicon(items),
            "programme_order": order, "identified_programmes": tuple(p for p in order if p.identifiers)}


def _territory(territory: Mapping[str, Any], places: Mapping[str, Any] | None) -> dict[str, Any]:
    """Region names and places (ours and others', with the gazetteer's), the cues and defaults of eligibility."""
    items: list[LexiconItem] = []
    for key, spec in territory["regions"].items():
        items.extend((w, ("name", key), False, None) for w in spec["names"])
        items.extend((w, ("place", key), False, None) for w in spec["places"])
    others = territory["other_regions"]
    items.extend((w, ("other", w), False, None) for w in others["names"])
    items.extend((w, ("other", w), True, None) for w in others.get("case_sensitive", []))
    if places is not None:
        items.extend(_gazetteer_items(places))
    italy_wide = territory.get("italy_wide", {}).get("patterns", [])
    shares = territory["national_restrictions"].get("shares", {}).get("patterns", [])
    return {
        "regions": Lexicon(items),
        "national_restrictions": _alternation(territory["national_restrictions"]["patterns"]),
        "national_shares": _alternation(shares) if shares else None,
        "national_open_too": _alternation(also) if (also := territory["national_restrictions"].get("also_open", {})
                                                         .get("patterns")) else None,
        "eligibility_cues": tuple(re.compile(p) for p in territory["eligibility_cues"]["patterns"]),
        "italy_wide": _alternation(italy_wide) if italy_wide else None,
        "local_seat": _alternation(local) if (local := territory.get("local_seat", {}).get("patterns")) else None,
        "listed_regions": _alternation(listed) if (listed := territory.get("listed_regions", {}).get("patterns"))
        else None,
        **{key: re.compile(source) if (source := territory.get(section, {}).get(name)) else None
           for key, section, name in (("cofunded", "cofunding", "pattern"), ("cofunded_by", "cofunding", "before"),
                                      ("multiregional", "cofunding", "joined"), ("drawn_on", "cofunding", "drawn_on"),
                                      ("foreign_currency", "foreign_currency", "pattern"))},
        "country_list": _alternation(countries) if (countries := territory.get("country_lists", {})
                                                    .get("patterns")) else None,
        "joint_foundations": frozenset(territory.get("joint_foundations", {}).get("programmes", [])),
        "scope_defaults": {Scope(k): v for k, v in territory["scope_defaults"].items()},
        "sources": {k: v for k, v in territory["sources"].items() if isinstance(v, dict)},
        "modes": {k: Mode(int(v["fit"]), v["reason_en"], v["reason_it"]) for k, v in territory["modes"].items()},
    }


def _gazetteer_items(places: Mapping[str, Any]) -> list[LexiconItem]:
    """Places of the gazetteer file: ours become places of a region, the rest places outside the three."""
    ours = {"lombardia", "piemonte", "liguria"}
    items: list[LexiconItem] = []
    for entry in places.get("places", []):
        name, region = entry["name"], entry["region"]
        payload = ("place", region) if region in ours else ("elsewhere", region)
        items.append((name, payload, bool(entry.get("case_sensitive", True)), None))
    return items


def _banks(parts: Mapping[str, Any], consortium_cues: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]
           ) -> tuple[RegexBank, RegexBank]:
    """One RE2 prefilter for the regexes read on a field's text (traps included), one for consortium cues: one
    pass over the call's fields joined tells which of them may match any field. Two sets, not one: RE2 runs
    both sets in about half the time of their union (whose automaton grows much larger)."""
    field_patterns = [*parts["eligibility_cues"], *parts["tool_contexts"], parts["course_subjects"],
                      parts["national_restrictions"], *sorted(parts["negative_parts"], key=lambda p: p.pattern)]
    field_patterns += [p for p in (parts["national_shares"], parts["off_focus"], parts["ancillary"],
                                   parts["italy_wide"], parts["local_seat"], parts["listed_regions"],
                                   parts["country_list"], parts["examples"],
                                   parts["technology_list"]) if p is not None]
    return RegexBank(field_patterns), RegexBank(p for _, patterns in consortium_cues for p in patterns)


def load_rules(directory: str | Path | None = None) -> Rules:
    """Read and compile the rule files; `directory` defaults to the packaged calltracker/data/rules."""
    folder = Path(directory) if directory is not None else _rules_dir()
    version, raw = _read(folder)
    themes_doc, territory = raw["themes.json"], raw["territory.json"]
    # One regex per cue, not one alternation per class: most cues begin with a literal, which the regex
    # engine skips to directly, while an alternation tries every branch at every position (about 40% slower).
    cues = tuple((cls, tuple(re.compile(p) for p in raw["consortium.json"][cls]))
                 for cls in ("single_only", "optional", "required", "single_instrument"))
    parts: dict[str, Any] = {**_theme_rules(themes_doc), **_theme_contexts(themes_doc), **_programmes(territory),
                             **_territory(territory, raw.get("places.json"))}
    field_bank, consortium_bank = _banks(parts, cues)
    # One dict probe per word of a field finds the phrases of all four lexicons.
    LexiconIndex([parts[k] for k in ("themes", "gate", "programme_lexicon", "regions")])
    return Rules(version=version, consortium_cues=cues, field_bank=field_bank, consortium_bank=consortium_bank,
                 **parts)
