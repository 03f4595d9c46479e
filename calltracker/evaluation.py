"""Scoring the classifier against hand-labelled calls (pure): per-theme P/R/F1, macro-F1, regions, fit."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from calltracker.classify import CallText, Classification, Rules, classify
from calltracker.domain import Consortium, Region, Scope, Theme
from calltracker.errors import InputError

REGIONS = (Region.LOMBARDIA, Region.PIEMONTE, Region.LIGURIA)


@dataclass(frozen=True)
class Labels:
    themes: frozenset[str]
    eligible: dict[str, bool]
    scope: str
    consortium: str
    tri_regional_fit: bool


@dataclass(frozen=True)
class LabelledCall:
    call: CallText
    labels: Labels
    notes: str | None = None


# Portals a scraper of the project reads: a record copied from one of them is what that scraper would store.
SCRAPER_HOSTS = (("ec.europa.eu/info/funding-tenders", "eu_ft"), ("regione.lombardia.it", "lombardia"),
                 ("bandi.regione.piemonte.it", "piemonte"), ("filse.it", "liguria"), ("incentivi.gov.it", "incentivi"),
                 ("esastar-publication", "esa"))


def scraper_of(record: Mapping[str, Any]) -> str | None:
    """The scraper that would store this call: the record's `scraper`, else the one reading its source portal."""
    if "scraper" in record and record["scraper"]:
        return str(record["scraper"])
    where = str(record.get("source") or "").lower()
    return next((name for host, name in SCRAPER_HOSTS if host in where), None)


def stored_call_text(record: Mapping[str, Any]) -> CallText:
    """What the classifier reads of a labelled call: the fields a stored call gives it, as tagging.call_text
    builds them (title; summary and description, or the excerpt, as text; identifier; programme; language;
    source). `source` is the name of the scraper that would have stored the call (`scraper_of`; None for pages
    no scraper reads): the page address a record was copied from is provenance, not input."""
    parts = [str(record[k]) for k in ("summary", "description") if record.get(k)]
    text = "\n".join(parts) if parts else str(record.get("text") or "")
    return CallText(
        id=str(record["id"]), title=str(record.get("title") or ""), text=text,
        identifier=record.get("identifier"), programme=record.get("programme"),
        language=record.get("language"), source=scraper_of(record),
    )


def parse_record(record: dict[str, Any]) -> LabelledCall:
    """One line of a labelled file (the shared dev.jsonl format) as a CallText with its labels."""
    try:
        lab = record["labels"]
        call = stored_call_text(record)
        labels = Labels(
            themes=frozenset(Theme(t).value for t in lab["themes"]),
            eligible={g.value: bool(lab["eligible"][g.value]) for g in REGIONS},
            scope=str(lab["scope"]), consortium=str(lab["consortium"]),
            tri_regional_fit=bool(lab["tri_regional_fit"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"labelled record {record.get('id', '?')}: {exc}") from exc
    return LabelledCall(call, labels, record.get("label_notes"))


def _json_objects(lines: Iterable[str], what: str = "line") -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of JSON lines; blank lines are skipped, a bad line raises InputError with its number."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{what} {number}: not JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise InputError(f"{what} {number}: not a JSON object")
        yield number, record


def load_labelled(lines: Iterable[str]) -> list[LabelledCall]:
    """Parse JSON lines; blank lines are skipped, a bad line raises InputError with its number."""
    return [parse_record(record) for _, record in _json_objects(lines)]


@dataclass(frozen=True)
class Prediction:
    """What the classifier said of one labelled call, kept apart from the code that said it: a blind score taken
    with one commit's rules can be scored again, joined with other sets, after the rules have changed."""

    id: str
    theme_ids: tuple[str, ...]
    eligible: Mapping[Region, bool]
    scope: Scope
    consortium: Consortium
    tri_regional_fit: bool
    rules_version: str

    @classmethod
    def of(cls, result: Classification) -> Prediction:
        return cls(result.id, tuple(result.theme_ids), {g: bool(result.eligible[g]) for g in REGIONS}, result.scope,
                   result.consortium, result.tri_regional_fit, result.rules_version)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "rules_version": self.rules_version, "themes": list(self.theme_ids),
                "eligible": {g.value: self.eligible[g] for g in REGIONS}, "scope": self.scope.value,
                "consortium": self.consortium.value, "tri_regional_fit": self.tri_regional_fit}

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Prediction:
        try:
            return cls(str(record["id"]), tuple(Theme(t).value for t in record["themes"]),
                       {g: bool(record["eligible"][g.value]) for g in REGIONS}, Scope(record["scope"]),
                       Consortium(record["consortium"]), bool(record["tri_regional_fit"]),
                       str(record.get("rules_version") or "?"))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"prediction {record.get('id', '?') if isinstance(record, Mapping) else '?'}: "
                             f"{exc}") from exc


def load_predictions(lines: Iterable[str]) -> dict[str, Prediction]:
    """Stored predictions (JSON lines of `Prediction.to_json`) by call id; a bad line or an id given twice raises
    InputError naming it."""
    out: dict[str, Prediction] = {}
    for number, record in _json_objects(lines, "predictions line"):
        prediction = Prediction.from_json(record)
        if prediction.id in out:
            raise InputError(f"predictions line {number}: call {prediction.id} is predicted twice")
        out[prediction.id] = prediction
    return out


def stored_predictions(items: Sequence[LabelledCall], predictions: Mapping[str, Prediction]) -> list[Prediction]:
    """The stored prediction of each labelled call, in order; a call with none raises InputError naming it."""
    missing = [it.call.id for it in items if it.call.id not in predictions]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise InputError(f"no stored prediction for {len(missing)} labelled call(s): {shown}")
    return [predictions[it.call.id] for it in items]


@dataclass(frozen=True)
class PRF:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else (1.0 if not self.fn else 0.0)

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else (1.0 if not self.fp else 0.0)

    @property
    def f1(self) -> float:
        if self.tp == 0:
            return 1.0 if self.fp == 0 and self.fn == 0 else 0.0
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn)

    def to_json(self) -> dict[str, float | int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


def prf(pairs: Iterable[tuple[bool, bool]]) -> PRF:
    """Counts from (expected, predicted) pairs."""
    tp = fp = fn = 0
    for expected, predicted in pairs:
        tp += expected and predicted
        fp += predicted and not expected
        fn += expected and not predicted
    return PRF(tp, fp, fn)


@dataclass(frozen=True)
class Report:
    calls: int
    themes: dict[str, PRF]
    macro_f1: float
    region_accuracy: float
    scope_accuracy: float
    consortium_accuracy: float
    fit: PRF
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "themes": {k: v.to_json() for k, v in self.themes.items()},
            "themes_macro_f1": round(self.macro_f1, 4),
            "region_accuracy": round(self.region_accuracy, 4),
            "scope_accuracy": round(self.scope_accuracy, 4),
            "consortium_accuracy": round(self.consortium_accuracy, 4),
            "fit": self.fit.to_json(),
            "fit_f1": round(self.fit.f1, 4),
            "errors": self.errors,
        }


def evaluate(items: Sequence[LabelledCall], predictions: Sequence[Classification | Prediction]) -> Report:
    """Compare predictions with labels, call by call (same order)."""
    if len(items) != len(predictions):
        raise ValueError("one prediction per labelled call is needed")
    n = len(items)
    predicted = [frozenset(p.theme_ids) for p in predictions]
    pairs = list(zip(items, predicted, strict=True))
    themes = {t.value: prf((t.value in it.labels.themes, t.value in pr) for it, pr in pairs) for t in Theme}
    macro = sum(v.f1 for v in themes.values()) / len(themes)
    regions_ok = scope_ok = cons_ok = 0
    errors: list[dict[str, Any]] = []
    for it, p, pt in zip(items, predictions, predicted, strict=True):
        got_regions = {g.value: bool(p.eligible[g]) for g in REGIONS}
        wrong: dict[str, Any] = {}
        if got_regions == it.labels.eligible:
            regions_ok += 1
        else:
            wrong["eligible"] = {"expected": it.labels.eligible, "got": got_regions}
        if p.scope.value == it.labels.scope:
            scope_ok += 1
        else:
            wrong["scope"] = {"expected": it.labels.scope, "got": p.scope.value}
        if p.consortium.value == it.labels.consortium:
            cons_ok += 1
        else:
            wrong["consortium"] = {"expected": it.labels.consortium, "got": p.consortium.value}
        if pt != it.labels.themes:
            wrong["themes"] = {"expected": sorted(it.labels.themes), "got": sorted(pt)}
        if p.tri_regional_fit != it.labels.tri_regional_fit:
            wrong["tri_regional_fit"] = {"expected": it.labels.tri_regional_fit, "got": p.tri_regional_fit}
        if wrong:
            errors.append({"id": it.call.id, "title": it.call.title, **wrong})
    fit = prf((it.labels.tri_regional_fit, p.tri_regional_fit) for it, p in zip(items, predictions, strict=True))
    return Report(n, themes, macro, regions_ok / n if n else 1.0, scope_ok / n if n else 1.0,
                  cons_ok / n if n else 1.0, fit, errors)


def evaluate_calls(items: Sequence[LabelledCall], rules: Rules | None = None) -> Report:
    """Classify every labelled call and score the result."""
    return evaluate(items, [classify(it.call, rules) for it in items])


def format_report(report: Report, show_errors: bool = True) -> str:
    """A plain-text report: per-theme table, macro-F1, accuracies, fit F1, then the calls that were wrong."""
    lines = [f"{report.calls} labelled calls", "",
             f"{'theme':<26}{'P':>7}{'R':>7}{'F1':>7}{'tp':>5}{'fp':>5}{'fn':>5}"]
    for name, v in report.themes.items():
        lines.append(f"{name:<26}{v.precision:>7.3f}{v.recall:>7.3f}{v.f1:>7.3f}{v.tp:>5}{v.fp:>5}{v.fn:>5}")
    lines += [
        "",
        f"themes macro-F1        {report.macro_f1:.3f}",
        f"region accuracy        {report.region_accuracy:.3f}  (all three flags right)",
        f"scope accuracy         {report.scope_accuracy:.3f}",
        f"consortium accuracy    {report.consortium_accuracy:.3f}",
        f"tri-regional fit F1    {report.fit.f1:.3f}  (P {report.fit.precision:.3f}, R {report.fit.recall:.3f})",
    ]
    if show_errors and report.errors:
        lines += ["", "calls with a wrong field:"]
        for err in report.errors:
            fields = "; ".join(f"{k}: expected {v['expected']}, got {v['got']}"
                               for k, v in err.items() if k not in ("id", "title"))
            lines.append(f"  {err['id']} {err['title'][:60]!r}: {fields}")
    return "\n".join(lines)
