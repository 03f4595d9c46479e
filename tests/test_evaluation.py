"""Metrics of the evaluation module on small hand-computed cases."""

from __future__ import annotations

import json

import pytest

from calltracker.classify import Classification, ThemeResult
from calltracker.domain import Consortium, Region, Scope, Theme
from calltracker.errors import InputError
from calltracker.evaluation import LabelledCall, evaluate, load_labelled, prf


def record(id: str, themes: list[str], lom: bool = True, fit: bool = False) -> str:
    return json.dumps({"id": id, "title": "t", "text": "x", "labels": {
        "themes": themes, "eligible": {"lombardia": lom, "piemonte": True, "liguria": True},
        "scope": "eu", "consortium": "required", "tri_regional_fit": fit}})


def prediction(id: str, themes: list[Theme], lom: bool = True, fit: bool = False,
               scope: Scope = Scope.EU) -> Classification:
    return Classification(
        id=id, themes=tuple(ThemeResult(t, 2.0, ()) for t in themes),
        eligible={Region.LOMBARDIA: lom, Region.PIEMONTE: True, Region.LIGURIA: True}, scope=scope,
        consortium=Consortium.REQUIRED, tri_regional_fit=fit, fit_score=2 if fit else 0, fit_reason="",
        fit_reason_it="", evidence={}, rules_version="test")


def test_prf_counts_and_scores() -> None:
    m = prf([(True, True), (True, False), (False, True), (False, False), (True, True)])
    assert (m.tp, m.fp, m.fn) == (2, 1, 1)
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(2 / 3)


def test_a_theme_never_labelled_nor_predicted_scores_one() -> None:
    assert prf([(False, False)]).f1 == 1.0
    assert prf([(False, True)]).f1 == 0.0


def test_evaluate_hand_computed_case() -> None:
    items: list[LabelledCall] = load_labelled([
        record("a", ["cybersecurity"], fit=True),
        record("b", ["cybersecurity", "space_economy"], lom=False),
        "",
        record("c", []),
    ])
    preds = [prediction("a", [Theme.CYBERSECURITY], fit=True),
             prediction("b", [Theme.SPACE_ECONOMY], lom=True),
             prediction("c", [Theme.CYBERSECURITY], scope=Scope.NATIONAL)]
    report = evaluate(items, preds)
    cyber = report.themes["cybersecurity"]
    assert (cyber.tp, cyber.fp, cyber.fn) == (1, 1, 1)
    assert report.themes["space_economy"].f1 == 1.0
    # five themes never seen score 1.0; cyber 0.5; space 1.0
    assert report.macro_f1 == pytest.approx((5 + 0.5 + 1.0) / 7)
    assert report.region_accuracy == pytest.approx(2 / 3)
    assert report.scope_accuracy == pytest.approx(2 / 3)
    assert report.fit.f1 == 1.0
    assert [e["id"] for e in report.errors] == ["b", "c"]


def test_bad_lines_raise_with_their_number() -> None:
    with pytest.raises(InputError, match="line 2"):
        load_labelled([record("a", []), "{not json"])
    with pytest.raises(InputError, match="bogus"):
        load_labelled([record("a", ["bogus"])])
