"""The classifier's matching machinery gives the same answers as the plain, slower way of computing them."""

from __future__ import annotations

from calltracker.classify.text import _FOLD, fold


def test_fold_by_runs_equals_translating_the_whole_text() -> None:
    every = "".join(chr(c) for c in range(0x20, 0x2100))
    for text in (every, "Perché è così: l’aeronautica – “Ærø” ß", "plain `tick`", "città", "ascii only"):
        assert fold(text) == text.translate(_FOLD)
        assert len(fold(text)) == len(text)
