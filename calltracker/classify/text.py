"""Text preparation and phrase matching for the classifier (pure).

Text is accent-folded with a table that keeps every character in place, so match positions are positions in
the original string. Words are runs of ASCII letters and digits; phrases match on whole words, so hyphens and
punctuation never matter ("hybrid-electric" = "hybrid electric") and "aria" never matches inside "agraria".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_SPECIAL = {
    "\u2019": "'", "\u2018": "'", "\u201b": "'", "`": "'", "\u00b4": "'", "\u201c": '"', "\u201d": '"',
    "\u2013": "-", "\u2014": "-", "\u2010": "-", "\u2011": "-", "\u00b2": "2", "\u00b3": "3", "\u0130": "I",
    "\u00a0": " ", "\u00df": "s", "\u00e6": "a", "\u00c6": "A", "\u0153": "o", "\u0152": "O", "\u00f8": "o",
    "\u00d8": "O", "\u0142": "l", "\u0141": "L",
}


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        if len(base) == 1 and base != char:
            table[code] = base
    table.update({ord(k): v for k, v in _SPECIAL.items()})
    return table


_FOLD = _fold_table()
_WORD = re.compile(r"[a-z0-9]+")
_UPPER = re.compile(r"[A-Z]")
_LOWER = re.compile(r"[a-z]")


def fold(text: str) -> str:
    """Accents off, typographic quotes and dashes plain; same length as the input."""
    return text.translate(_FOLD)


def words_of(phrase: str) -> tuple[str, ...]:
    """The lower-case words of a phrase, as the matcher sees them."""
    return tuple(_WORD.findall(fold(phrase).lower()))


class Field:
    """One field of a call (title, text...) prepared once: folded, lower-cased, split into words.

    `blanked` gives a copy where spans (known traps, identifiers) are overwritten with spaces, so they
    match nothing while every other position stays where it was; `low` of the copy is still the full text,
    which the consortium and territory cues read.
    """

    __slots__ = ("name", "raw", "low", "folded", "_scan_low", "_scan_folded", "words", "_spans", "_shouting")

    def __init__(self, name: str, text: str, blank_raw: Sequence[re.Pattern[str]] = ()) -> None:
        self.name = name
        folded = fold(text)
        low = folded.lower()
        if len(low) != len(folded):  # exotic case mappings: give up case-sensitive matching, keep positions
            folded = low
        self.raw = text if len(text) == len(low) else low
        self.low = low
        self.folded = folded
        spans = [m.span() for p in blank_raw for m in p.finditer(folded)]
        self._set_scan(_blank(low, spans), _blank(folded, spans))

    def _set_scan(self, scan_low: str, scan_folded: str) -> None:
        self._scan_low = scan_low
        self._scan_folded = scan_folded
        self.words: list[str] = _WORD.findall(scan_low)
        self._spans: list[tuple[int, int]] | None = None
        self._shouting: bool | None = None

    def blanked(self, patterns: Sequence[re.Pattern[str]]) -> Field:
        """A copy whose words skip every span matched by `patterns` (on the lower-cased text)."""
        spans = [m.span() for p in patterns for m in p.finditer(self._scan_low)]
        if not spans:
            return self
        twin = object.__new__(Field)
        twin.name, twin.raw, twin.low, twin.folded = self.name, self.raw, self.low, self.folded
        twin._set_scan(_blank(self._scan_low, spans), _blank(self._scan_folded, spans))
        return twin

    def span(self, i: int) -> tuple[int, int]:
        """Character span of word `i` (computed on first use: most fields match few words)."""
        if self._spans is None:
            self._spans = [m.span() for m in _WORD.finditer(self._scan_low)]
        return self._spans[i]

    def word_as_written(self, i: int) -> str:
        start, end = self.span(i)
        return self.folded[start:end]

    @property
    def shouting(self) -> bool:
        """An all-capitals field ("CONTRIBUTI AI COMUNI") makes every word look like an acronym."""
        if self._shouting is None:
            upper = len(_UPPER.findall(self.folded))
            lower = len(_LOWER.findall(self.folded))
            self._shouting = upper + lower >= 12 and upper > 0.6 * (upper + lower)
        return self._shouting


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    parts = []
    last = 0
    for start, end in sorted(spans):
        if end <= last:
            continue
        start = max(start, last)
        parts.append(text[last:start])
        parts.append(" " * (end - start))
        last = end
    parts.append(text[last:])
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Entry:
    """A phrase of a lexicon and what it stands for. `exact` is set for case-sensitive acronyms."""

    phrase: str
    words: tuple[str, ...]
    payloads: tuple[tuple[str, ...], ...]
    exact: tuple[str, ...] | None = None
    languages: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Match:
    entry: Entry
    field: str
    start: int
    end: int
    text: str


class Lexicon:
    """Longest-match phrase lookup over the words of a field: one dict probe per word."""

    def __init__(self, items: Iterable[tuple[str, tuple[str, ...], bool, frozenset[str] | None]]) -> None:
        merged: dict[tuple[tuple[str, ...], tuple[str, ...] | None, frozenset[str] | None],
                     tuple[str, list[tuple[str, ...]]]] = {}
        for phrase, payload, case_sensitive, languages in items:
            words = words_of(phrase)
            if not words:
                continue
            exact = tuple(re.findall(r"[A-Za-z0-9]+", fold(phrase))) if case_sensitive else None
            key = (words, exact, languages)
            if key not in merged:
                merged[key] = (phrase, [])
            if payload not in merged[key][1]:
                merged[key][1].append(payload)
        index: dict[str, list[Entry]] = {}
        for (words, exact, languages), (phrase, payloads) in merged.items():
            index.setdefault(words[0], []).append(
                Entry(phrase, words, tuple(payloads), exact, languages))
        for entries in index.values():
            # Longest first; among equals, case-sensitive entries first (they are the stricter reading).
            entries.sort(key=lambda e: (-len(e.words), e.exact is None))
        self._index = index

    def scan(self, field: Field, language: str | None = None) -> list[Match]:
        words = field.words
        index = self._index
        found: list[Match] = []
        n = len(words)
        taken_to = 0
        # Most words start no phrase: find the few that do in one comprehension, then check those.
        for i in [i for i, w in enumerate(words) if w in index]:
            if i < taken_to:
                continue
            for entry in index[words[i]]:
                size = len(entry.words)
                if i + size > n:
                    continue
                if size > 1 and tuple(words[i:i + size]) != entry.words:
                    continue
                if entry.exact is not None:
                    if field.shouting:
                        continue
                    raw = tuple(field.word_as_written(j) for j in range(i, i + size))
                    if raw != entry.exact:
                        continue
                if entry.languages is not None and (language or "") not in entry.languages:
                    continue
                start, end = field.span(i)[0], field.span(i + size - 1)[1]
                found.append(Match(entry, field.name, start, end, field.raw[start:end]))
                taken_to = i + size
                break
        return found
