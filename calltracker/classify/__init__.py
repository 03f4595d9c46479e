"""Rule-based, explainable classification of funding calls (pure).

`classify(CallText)` decides themes, eligible regions (Lombardia, Piemonte, Liguria), scope, consortium rule
and the tri-regional fit, keeping the evidence of every rule that fired. Rules live in
calltracker/data/rules/*.json; RULES_VERSION changes whenever one of those files does. The modules:
`model` (inputs and results), `text` (field preparation, phrase lexicons, the RE2 prefilter), `rules`
(loading), `programme`, `regions`, `consortium`, `themes` (the decisions), `explain` (reasons) and `engine`;
`native` names the modules scripts/compile_classifier.py may compile with mypyc (optional, about 1.4x faster).
"""

from __future__ import annotations

from calltracker.classify import native

native.check()  # first: refuses compiled modules (optional, scripts/compile_classifier.py) older than their source

from calltracker.classify.engine import classify, default_rules  # noqa: E402
from calltracker.classify.explain import explain  # noqa: E402
from calltracker.classify.model import CallText, Classification, Document, Evidence, ThemeResult  # noqa: E402
from calltracker.classify.rules import Rules, load_rules  # noqa: E402

RULES_VERSION: str = default_rules().version

__all__ = ["RULES_VERSION", "CallText", "Classification", "Document", "Evidence", "Rules", "ThemeResult",
           "classify", "explain", "load_rules"]
