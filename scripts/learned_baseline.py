"""A learned baseline for the theme tags, measured against the rules on this round's blind sets (issue #15).

    pip install scikit-learn && python scripts/learned_baseline.py [--with-imitations]

Not part of the package (the classifier ships no model): it answers whether a bag-of-words model trained on the
labelled calls would help the rules on calls neither has seen. Per theme, a logistic regression on TF-IDF word
unigrams and bigrams (accents stripped) is trained on every labelled set labelled before real_blind16 (the real
sets only, or with --with-imitations the early imitation sets too; real_final and real_blind4 stay aside) and
scored on real_blind16 to real_blind20: alone, and combined with the rules' first scores kept in
tests/fixtures/labeled/first_scores (a tag the rules gave is dropped when the model's probability is below VETO, a
tag is added when it is above ADD; thresholds fixed in advance, not tuned on the blind sets).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from calltracker.domain import Theme  # noqa: E402
from calltracker.evaluation import LabelledCall, Prediction, evaluate, load_labelled, load_predictions  # noqa: E402

LABELLED = ROOT / "tests" / "fixtures" / "labeled"
BLIND = [f"real_blind{n}.jsonl" for n in range(16, 21)]
ASIDE = {"real_final.jsonl", "real_blind4.jsonl"}
IMITATIONS = {"dev.jsonl", "extra.jsonl", "holdout.jsonl", "blind2.jsonl", "blind3.jsonl", "blind4.jsonl"}
COMBINATIONS = ((0.05, 0.95), (0.1, 0.9), (0.2, 0.8))  # (VETO, ADD)


def _document(item: LabelledCall) -> str:
    return "\n".join((item.call.title or "", item.call.programme or "", item.call.text or ""))


def _with_themes(p: Prediction, themes: set[str]) -> Prediction:
    fit = all(p.eligible.values()) and p.consortium.value != "single" and bool(themes)
    return Prediction(p.id, tuple(sorted(themes)), p.eligible, p.scope, p.consortium, fit, p.rules_version)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--with-imitations", action="store_true")
    args = parser.parse_args()
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    train = [item for path in sorted(LABELLED.glob("*.jsonl"))
             if path.name not in BLIND and path.name not in ASIDE
             and (args.with_imitations or path.name not in IMITATIONS)
             for item in load_labelled(path.read_text(encoding="utf-8").splitlines())]
    test = [item for name in BLIND
            for item in load_labelled((LABELLED / name).read_text(encoding="utf-8").splitlines())]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, strip_accents="unicode")
    x_train = vectorizer.fit_transform([_document(i) for i in train])
    x_test = vectorizer.transform([_document(i) for i in test])
    themes = [t.value for t in Theme]
    proba = {t: LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)
             .fit(x_train, [t in i.labels.themes for i in train]).predict_proba(x_test)[:, 1] for t in themes}
    stored = load_predictions((LABELLED / "first_scores" / "real_blind16-20.predictions.jsonl")
                              .read_text(encoding="utf-8").splitlines())
    rules = [stored[i.call.id] for i in test]

    def show(name: str, predictions: list[Prediction]) -> None:
        report = evaluate(test, predictions)
        sys.stdout.write(f"{name:34s} themes macro-F1 {report.macro_f1:.3f}  fit F1 {report.fit.f1:.3f}\n")

    sys.stdout.write(f"trained on {len(train)} labelled calls, scored on {len(test)} (real_blind16 to real_blind20)\n")
    show("rules (first scores)", rules)
    show("model alone (p > 0.5)", [_with_themes(p, {t for t in themes if proba[t][k] > 0.5})
                                   for k, p in enumerate(rules)])
    for veto, add in COMBINATIONS:
        show(f"rules, veto < {veto}, add > {add}", [
            _with_themes(p, {t for t in p.theme_ids if proba[t][k] >= veto} | {t for t in themes if proba[t][k] > add})
            for k, p in enumerate(rules)])


if __name__ == "__main__":
    main()
