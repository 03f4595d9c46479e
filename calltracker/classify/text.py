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
from itertools import accumulate, compress, count
from operator import add
from typing import Any, NamedTuple

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
# The characters the table changes. A text has a few distinct ones ("à", "è", "’"): replacing each everywhere in
# turn is several times faster than translating the whole text through the dict, or each run of them (same result).
_FOLDABLE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_FOLD)) + "]")
_FOLDED = {chr(code): base for code, base in _FOLD.items()}
# Those the table turns into another it changes ("ǣ" -> "æ" -> "a"): replaced in turn, they could be changed twice.
_CHAINED = frozenset(char for char, base in _FOLDED.items() if base in _FOLDED)
_WORD = re.compile(r"[a-z0-9]+")
# Every byte but a-z and 0-9 made a space: a lower-cased text, encoded to one byte per character and translated
# through this, splits on spaces into its words in C (three times faster than a regex split into words and gaps).
_GAPS_TO_SPACES = bytes(c if 48 <= c <= 57 or 97 <= c <= 122 else 32 for c in range(256))
# What every identifier ("HORIZON-CL4-2026-SPACE-03-61") contains: three hyphens joining letters or digits.
_HYPHENATED = re.compile(r"-[A-Za-z0-9]+-[A-Za-z0-9]+-")
_NOT_UPPER = bytes(c for c in range(256) if not 65 <= c <= 90)
_NOT_LOWER = bytes(c for c in range(256) if not 97 <= c <= 122)


def fold(text: str) -> str:
    """Accents off, typographic quotes and dashes plain; same length as the input."""
    if text.isascii() and "`" not in text:
        return text
    found = set(_FOLDABLE.findall(text))
    if not found.isdisjoint(_CHAINED):
        return text.translate(_FOLD)
    for char in found:
        text = text.replace(char, _FOLDED[char])
    return text


def words_of(phrase: str) -> tuple[str, ...]:
    """The lower-case words of a phrase, as the matcher sees them."""
    return tuple(_WORD.findall(fold(phrase).lower()))


class Field:
    """One field of a call (title, text...) prepared once: folded, lower-cased, split into words.

    `blanked` gives a copy where spans (known traps, identifiers) are overwritten with spaces, so they
    match nothing while every other position stays where it was; `low` of the copy is still the full text,
    which the consortium and territory cues read.
    """

    __slots__ = ("name", "raw", "low", "folded", "_scan_low", "_scan_folded", "words", "_parts", "_starts",
                 "_shouting", "possible", "_hits")
    name: str
    raw: str
    low: str
    folded: str
    #: The ids of the regexes of the rules' bank that may match `low` (None: not prefiltered, every one may).
    possible: frozenset[int] | None

    def __init__(self, name: str, text: str, blank_raw: Sequence[re.Pattern[str]] = (), *,
                 blanking: tuple[Field, list[tuple[int, int]]] | None = None) -> None:
        """`blanking` (a field and spans; `text` unused) makes that field's copy with the spans blanked."""
        self.name = name
        if blanking is not None:
            # Through __init__, not object.__new__: a class compiled with mypyc has no uninitialised instances.
            of, spans = blanking
            self.raw, self.low, self.folded, self.possible = of.raw, of.low, of.folded, of.possible
            self._set_scan(_blank(of._scan_low, spans), _blank(of._scan_folded, spans))
            return
        folded = fold(text)
        low = folded.lower()
        if len(low) != len(folded):  # exotic case mappings: give up case-sensitive matching, keep positions
            folded = low
        self.raw = text if len(text) == len(low) else low
        self.low = low
        self.folded = folded
        # An identifier has at least three hyphens between letters or digits: most fields have none and skip the
        # search (a search that starts at every capital letter; the hint only at hyphens).
        spans = [m.span() for p in blank_raw for m in p.finditer(folded)] \
            if blank_raw and folded.count("-") >= 3 and _HYPHENATED.search(folded) else []
        self._set_scan(_blank(low, spans), _blank(folded, spans))
        self.possible = None

    def may(self, pattern: re.Pattern[str]) -> bool:
        """Whether `pattern` can match `low` at all (the bank's one-pass prefilter said so, or none ran)."""
        # By id: hashing a compiled pattern hashes its whole program, on every lookup.
        return self.possible is None or id(pattern) in self.possible

    def _set_scan(self, scan_low: str, scan_folded: str) -> None:
        self._scan_low = scan_low
        self._scan_folded = scan_folded
        # The text with every character but a-z and 0-9 made a space ("replace" encodes each non-ASCII character
        # as one "?", so positions stay those of the text), split at each space: words, and "" between two spaces.
        self._parts: list[str] = scan_low.encode("ascii", "replace").translate(_GAPS_TO_SPACES).decode("ascii") \
            .split(" ")
        self.words: list[str] = list(filter(None, self._parts))
        self._starts: list[int] | None = None
        self._shouting: bool | None = None
        self._hits: tuple[object, list[tuple[int, Row]]] | None = None

    def hits(self, shared: LexiconIndex) -> list[tuple[int, Row]]:
        """The words that may start a phrase of a lexicon of `shared`, by position, with the phrases each lexicon
        has for them: one pass over the words serves every lexicon (computed on the first scan)."""
        cached = self._hits
        if cached is None or cached[0] is not shared:
            # The probes and the selection of the words found run in C (map, compress): most words start nothing.
            words = self.words
            found = list(map(shared.index.get, words))
            last = len(words) - 1
            # Most words found ("e", "the", "della") only start longer phrases, none of which goes on with the
            # next word: they can match nothing, in no lexicon.
            kept = compress(enumerate(found), found)  # (position, (row, followers)) of the words found
            cached = (shared, [(i, row) for i, (row, followers) in kept  # type: ignore[misc]
                               if followers is None or (i != last and words[i + 1] in followers)])
            self._hits = cached
        return cached[1]

    def blanked(self, patterns: Sequence[re.Pattern[str]], parts: frozenset[re.Pattern[str]] = frozenset(),
                bank: RegexBank | None = None) -> Field:
        """A copy whose words skip every span matched by `patterns` (on the lower-cased text).

        `patterns` are alternations of `parts`; when the prefilter says no part can match, nothing is searched.
        """
        possible = None
        if parts:
            possible = self.possible if self._scan_low is self.low else (
                bank.possible_ids(self._scan_low) if bank is not None else None)
            if possible is not None and possible.isdisjoint(ids_of(parts)):
                return self
        if possible is not None:
            patterns = [_branches_that_may(p, parts, possible) for p in patterns]
        spans = [m.span() for p in patterns for m in p.finditer(self._scan_low)]
        if not spans:
            return self
        return Field(self.name, "", blanking=(self, spans))

    def starts(self) -> list[int]:
        """Word `i` starts at character `starts[i]` (computed on first use: most fields match few words)."""
        if self._starts is None:
            # The word of part k of the split starts after the k spaces before it and the words before it.
            self._starts = list(map(add, compress(count(), self._parts), accumulate(map(len, self.words), initial=0)))
        return self._starts

    def span(self, i: int) -> tuple[int, int]:
        """Character span of word `i` (computed on first use: most fields match few words)."""
        start = self.starts()[i]
        return start, start + len(self.words[i])

    def word_as_written(self, i: int) -> str:
        start, end = self.span(i)
        return self.folded[start:end]

    @property
    def shouting(self) -> bool:
        """An all-capitals field ("CONTRIBUTI AI COMUNI") makes every word look like an acronym."""
        if self._shouting is None:
            # Counting bytes is exact here: UTF-8 never puts an ASCII letter byte inside another character.
            data = self.folded.encode()
            upper = len(data.translate(None, _NOT_UPPER))
            lower = len(data.translate(None, _NOT_LOWER))
            self._shouting = upper + lower >= 12 and upper > 0.6 * (upper + lower)
        return self._shouting


_IDS: dict[int, tuple[Iterable[re.Pattern[str]], frozenset[int]]] = {}


def ids_of(patterns: frozenset[re.Pattern[str]] | tuple[re.Pattern[str], ...]) -> frozenset[int]:
    """The ids of a rules' collection of patterns, kept with it (so the ids stay theirs); bounded."""
    cached = _IDS.get(id(patterns))
    if cached is None or cached[0] is not patterns:
        cached = (patterns, frozenset(map(id, patterns)))
        if len(_IDS) < _CACHE_MAX:
            _IDS[id(patterns)] = cached
    return cached[1]


# Each alternation's branches in order, as (id, source), with the alternation and its parts (held, so the ids
# stay theirs); and the alternations cut down to the branches the prefilter left, by sources. Both bounded.
_ORDER: dict[int, tuple[re.Pattern[str], frozenset[re.Pattern[str]], tuple[tuple[int, str], ...] | None]] = {}
_CUT: dict[tuple[str, tuple[str, ...]], re.Pattern[str]] = {}
_CACHE_MAX = 1024


def _branch_order(pattern: re.Pattern[str], parts: frozenset[re.Pattern[str]]) -> tuple[tuple[int, str], ...] | None:
    """The branches of `pattern` in order, if it is the alternation "(?:a)|(?:b)|..." of exactly `parts`."""
    source = pattern.pattern
    ordered = sorted(parts, key=lambda p: source.find(f"(?:{p.pattern})"))
    if "|".join(f"(?:{p.pattern})" for p in ordered) != source or any(p.flags != pattern.flags for p in ordered):
        return None
    return tuple((id(p), p.pattern) for p in ordered)


def _branches_that_may(pattern: re.Pattern[str], parts: frozenset[re.Pattern[str]],
                       possible: frozenset[int]) -> re.Pattern[str]:
    """`pattern`, an alternation of `parts`, without the branches that cannot match the text (not in `possible`).

    Python's `re` tries every branch at every position; a branch that matches nowhere in the text never wins
    at any position, so the alternation of the others finds the very same matches, much sooner.
    """
    entry = _ORDER.get(id(pattern))
    if entry is None or entry[0] is not pattern or entry[1] is not parts:
        entry = (pattern, parts, _branch_order(pattern, parts))
        if len(_ORDER) < _CACHE_MAX:
            _ORDER[id(pattern)] = entry
    order = entry[2]
    if order is None:
        return pattern  # not an alternation of exactly these parts: search it whole
    left = tuple(source for pid, source in order if pid in possible)
    key = (pattern.pattern, left)
    cut = _CUT.get(key)
    if cut is None:
        cut = re.compile("|".join(f"(?:{source})" for source in left), pattern.flags)
        if len(_CUT) < _CACHE_MAX:
            _CUT[key] = cut
    return cut


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


class Match(NamedTuple):
    """A phrase found in a field (a named tuple: one is built for every phrase found, in a third of the time
    of a frozen dataclass)."""

    entry: Entry
    field: str
    start: int
    end: int
    text: str


# Match(...) without the Python-level __new__ of a named tuple: one is built for every phrase found.
_new_match = tuple.__new__

# The phrases a word starts, in matching order, grouped by their second word (longer phrases, which come first)
# with the one-word phrases last: at a word, only the phrases going on with the next word are compared.
Starts = tuple[dict[str, tuple[Entry, ...]] | None, tuple[Entry, ...]]


def _starts(entries: list[Entry]) -> Starts:
    by_second: dict[str, list[Entry]] = {}
    for entry in entries:
        if len(entry.words) > 1:
            by_second.setdefault(entry.words[1], []).append(entry)
    singles = tuple(e for e in entries if len(e.words) == 1)
    return ({w: tuple(es) for w, es in by_second.items()} if by_second else None), singles


def _followers(row: Sequence[Starts | None]) -> frozenset[str] | None:
    """The second words of the phrases a word starts in any lexicon; None when one of them is that word alone."""
    if any(starts[1] for starts in row if starts is not None):
        return None
    return frozenset(w for starts in row if starts is not None for w in (starts[0] or ()))


# A word's phrases in each lexicon of a LexiconIndex, by slot (None: it starts none there).
Row = tuple[Starts | None, ...]


class LexiconIndex:
    """The first words of several lexicons' phrases in one dict: word -> (its phrases in each lexicon, by slot, and
    the words that may follow it)."""

    def __init__(self, lexicons: Sequence[Lexicon]) -> None:
        rows: dict[str, list[Starts | None]] = {}
        for slot, lexicon in enumerate(lexicons):
            for word, entries in lexicon._index.items():
                rows.setdefault(word, [None] * len(lexicons))[slot] = entries
            lexicon._shared = (self, slot)
        self.index: dict[str, tuple[Row, frozenset[str] | None]] = {
            word: (tuple(row), _followers(row)) for word, row in rows.items()}
        self.vocabulary = frozenset(self.index)
        self.size = len(lexicons)


class Lexicon:
    """Longest-match phrase lookup over the words of a field: one dict probe per word (shared by the lexicons of
    a `LexiconIndex`)."""

    def __init__(self, items: Iterable[tuple[str, tuple[str, ...], bool, frozenset[str] | None]]) -> None:
        self.vocabulary: frozenset[str] = frozenset()
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
        self._index = {word: _starts(entries) for word, entries in index.items()}
        self.vocabulary = frozenset(index)
        self._shared: tuple[LexiconIndex, int] | None = None

    def scan(self, field: Field, language: str | None = None) -> list[Match]:
        words = field.words
        name, raw_text = field.name, field.raw
        found: list[Match] = []
        n = len(words)
        taken_to = 0
        at: list[int] | None = None  # where each word starts, read on the first match
        # Most words start no phrase: the field finds, once for all lexicons, the few that may.
        if self._shared is not None:
            shared, slot = self._shared
            hits = field.hits(shared)
        else:
            index = self._index
            slot, hits = 0, [(i, (index[w],)) for i, w in enumerate(words) if w in index]
        for i, row in hits:
            starts = row[slot]
            if starts is None:
                continue
            by_second, singles = starts
            if i < taken_to:
                continue
            longer = by_second.get(words[i + 1]) if by_second is not None and i + 1 < n else None
            for entry in (longer + singles) if longer is not None else singles:
                size = len(entry.words)
                if size > 2 and (i + size > n or tuple(words[i:i + size]) != entry.words):
                    continue
                if entry.exact is not None:
                    if field.shouting:
                        continue
                    if at is None:
                        at = field.starts()
                    folded = field.folded
                    raw = tuple(folded[at[j]:at[j] + len(words[j])] for j in range(i, i + size))
                    if raw != entry.exact:
                        continue
                if entry.languages is not None and (language or "") not in entry.languages:
                    continue
                if at is None:
                    at = field.starts()
                start, end = at[i], at[i + size - 1] + len(words[i + size - 1])
                found.append(_new_match(Match, (entry, name, start, end, raw_text[start:end])))
                taken_to = i + size
                break
        return found


# RE2 tells, in one pass over a text, which of many regexes can match it at all; Python's `re` then runs only
# those, so the positions and semantics stay exactly those of `re`. RE2 reads ASCII the way `re` does (for
# patterns without look-arounds, back-references or `$`); a text with other characters is mapped first so
# that every character keeps its class (space, word, other), and a text with non-ASCII letters or digits is
# not prefiltered at all.
# Anchors at the start are unsafe too: the bank is asked about several fields joined by newlines at once.
_RE2_UNSAFE = re.compile(r"\(\?<?[=!]|\\[1-9]|\$|\\Z|\(\?P=|(?<!\[)\^|\\A")
_NON_PLAIN = re.compile(r"[\x0b\x1c-\x1f\x80-\U0010ffff]")
_ODD_ASCII = re.compile(r"[\x0b\x1c-\x1f]")  # the ASCII characters of _NON_PLAIN


def literal_prefix(pattern: str) -> str:
    """The plain text every match of `pattern` starts with ("" when there is none that is certain)."""
    depth, i, in_class = 0, 0, False
    while i < len(pattern):  # an alternative at the top level makes no prefix certain
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return ""
        i += 1
    prefix: list[str] = []
    for char in pattern:
        if char in "\\()[]{}?*+|.^$":
            if char in "?*{" and prefix:
                prefix.pop()  # the last character is optional or repeated
            break
        prefix.append(char)
    return "".join(prefix)


# Literal sets are cut off at this many strings (a product of alternatives grows fast), and a set with a string
# shorter than _MIN_LITERAL would be found in nearly every text.
_MAX_LITERALS = 64
_MIN_LITERAL = 3
_Items = Any  # a parsed pattern (re._parser.SubPattern): a sequence of (opcode, argument)


def required_literals(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Strings one of which every match of `pattern` contains (None when there is no such short set).

    Read from the parsed pattern: the run of items that match finitely many strings (literals, small classes,
    alternatives, optional parts) whose shortest string is longest gives their product; zero-width items (\\b,
    look-arounds) match "". A pattern with flags (IGNORECASE...) has none.
    """
    if pattern.flags & ~re.UNICODE:
        return None
    from re import _parser  # type: ignore[attr-defined]  # the stdlib's own parser of `re` syntax

    try:
        found = _required(list(_parser.parse(pattern.pattern, pattern.flags)))
    except Exception:  # noqa: BLE001 - syntax this reading does not know: no literals, the pattern is read whole
        return None
    return frozenset(found) if found else None


def _product(a: set[str], b: set[str]) -> set[str] | None:
    if len(a) * len(b) > _MAX_LITERALS:
        return None
    return {x + y for x in a for y in b}


def _union(sets: Iterable[set[str] | None]) -> set[str] | None:
    """The strings of an alternation's branches together (None when a branch has none, or they are too many)."""
    out: set[str] = set()
    for one in sets:
        if one is None:
            return None
        out |= one
    return out if len(out) <= _MAX_LITERALS else None


def _exact(items: _Items) -> set[str] | None:
    """The finite set of strings the sequence `items` can match, or None."""
    out: set[str] | None = {""}
    for op, av in items:
        one = _exact_item(op, av)
        if one is None or out is None:
            return None
        out = _product(out, one)
    return out


def _exact_item(op: Any, av: Any) -> set[str] | None:
    from re import _constants as c  # type: ignore[attr-defined]

    if op is c.LITERAL:
        return {chr(av)}
    if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
        return {""}  # zero-width
    if op is c.SUBPATTERN:
        return _exact(av[-1])
    if op is c.BRANCH:
        return _union(map(_exact, av[1]))
    if op is c.IN:
        chars: set[str] = set()
        for kind, value in av:
            if kind is c.LITERAL:
                chars.add(chr(value))
            elif kind is c.RANGE and value[1] - value[0] < 10:
                chars.update(chr(code) for code in range(value[0], value[1] + 1))
            else:
                return None  # a negated or large class, a category
        return chars
    if op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[1] == 1:
        one = _exact(av[2])
        return None if one is None else (one | {""} if av[0] == 0 else one)
    return None  # any character, a repeat, a back-reference...


def _shortest(strings: set[str] | None) -> int:
    return min(map(len, strings)) if strings else 0


def _required(items: _Items) -> set[str] | None:
    """A set of strings one of which every match of the sequence `items` contains, or None."""
    best: set[str] | None = None
    run: set[str] = {""}
    for op, av in items:
        one = _exact_item(op, av)
        if one is not None:
            joined = _product(run, one)
            if joined is None:
                best = run if _shortest(run) > _shortest(best) else best
                joined = one
            run = joined
            # Kept at its first reach of a length: an optional tail ("actions?") adds strings, not length.
            best = run if _shortest(run) > _shortest(best) else best
        else:
            best = run if _shortest(run) > _shortest(best) else best
            run = {""}
            inner = _required_item(op, av)
            best = inner if _shortest(inner) > _shortest(best) else best
    return run if _shortest(run) > _shortest(best) else best


def _required_item(op: Any, av: Any) -> set[str] | None:
    from re import _constants as c  # type: ignore[attr-defined]

    if op is c.SUBPATTERN:
        return _required(av[-1])
    if op is c.BRANCH:
        return _union(map(_required, av[1]))
    if op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
        return _required(av[2])
    return None


def re2_view(text: str) -> str | None:
    """`text` as RE2 should read it, or None when RE2 cannot stand in for `re` on it."""
    # Most texts are ASCII without those few control characters: five memchr-speed probes instead of a
    # character-class search over the whole text.
    if text.isascii() and "\x0b" not in text and "\x1c" not in text and "\x1d" not in text \
            and "\x1e" not in text and "\x1f" not in text:
        return text
    # Each other character decided once, however often the text holds it (a text has a few: "€", "°", "•"): a
    # letter or digit (`re`'s \w: isalnum() or "_") gives up, a space (`re`'s \s: isspace()) becomes a form feed,
    # any other \x01.
    odd = set(_NON_PLAIN.findall(text))
    if any(char.isalnum() or char == "_" for char in odd):
        return None
    for char in odd:
        text = text.replace(char, "\x0c" if char.isspace() else "\x01")
    return text


class RegexBank:
    """Many compiled `re` patterns, prefiltered together: `possible(text)` is the set of those that may match.

    A pattern with literals one of which every match contains (`required_literals`) is looked for by them alone;
    the others by their own source where RE2 reads it as `re` does, else by their literal prefix, else always run.

    `text` may be several fields joined by newlines: the answer then holds every pattern that may match any one
    of them (no pattern the bank reads with RE2 is anchored, and a newline is a word boundary like a text's end).
    """

    def __init__(self, patterns: Iterable[re.Pattern[str]]) -> None:
        import re2  # type: ignore[import-untyped]  # C extension, pure computation; loaded with the rules

        self._always: set[re.Pattern[str]] = set()
        self._slots: list[re.Pattern[str]] = []
        seen: set[re.Pattern[str]] = set()
        options = re2.Options()
        options.max_mem = 64 << 20
        matcher = re2.Set.SearchSet(options)
        by_literals = re2.Set.SearchSet(options)
        literal_slots: list[re.Pattern[str]] = []
        for pattern in patterns:
            if pattern in seen:
                continue
            seen.add(pattern)
            source = pattern.pattern
            literals = required_literals(pattern)
            if literals is not None and min(map(len, literals)) >= _MIN_LITERAL \
                    and all(_ODD_ASCII.search(text) is None for text in literals):
                # RE2 looks for the literals alone: a far smaller automaton than the pattern's (its bounded
                # repeats, "[^.;]{0,80}", multiply states), which stays in the processor's cache between calls.
                # Literals are found in any text as it is, in UTF-8, accented ones too ("qualità"): a character's
                # encoding is found only where the character is (UTF-8 never puts an ASCII byte or a first byte
                # inside another character). No view of the text to make.
                index = by_literals.Add("|".join(re.escape(text) for text in sorted(literals)))
                assert index == len(literal_slots)
                literal_slots.append(pattern)
                continue
            if pattern.flags & ~(re.UNICODE) or _RE2_UNSAFE.search(source):
                # RE2 cannot read this one exactly: prefilter on the literal every match starts with.
                prefix = literal_prefix(source)
                if len(prefix) < 4 or pattern.flags & ~(re.UNICODE):
                    self._always.add(pattern)
                    continue
                source = re.escape(prefix)
            try:
                index = matcher.Add(source)
            except Exception:  # noqa: BLE001 - any syntax RE2 refuses: that pattern is always run
                self._always.add(pattern)
                continue
            assert index == len(self._slots)
            self._slots.append(pattern)
        self._all = frozenset(seen)
        # The patterns stay referenced by the bank, so their ids stay theirs.
        self._slot_ids = [id(p) for p in self._slots]
        self._always_ids = frozenset(map(id, self._always))
        self._literal_ids = [id(p) for p in literal_slots]
        self._matcher = None
        if self._slots:
            matcher.Compile()
            self._matcher = matcher
        self._by_literals = None
        if literal_slots:
            by_literals.Compile()
            self._by_literals = by_literals

    @property
    def patterns(self) -> frozenset[re.Pattern[str]]:
        """Every pattern of the bank."""
        return self._all

    def possible(self, text: str) -> frozenset[re.Pattern[str]]:
        ids = self.possible_ids(text)
        return frozenset(p for p in self._all if id(p) in ids)

    def possible_ids(self, text: str) -> frozenset[int]:
        """`possible(text)` as the patterns' ids: a set of ints is built and probed without hashing a pattern
        (whose hash is computed from its whole compiled program, every time)."""
        found = self._always_ids
        data = text.encode()  # once for both sets (RE2 reads UTF-8)
        if self._by_literals is not None:
            hits = self._by_literals.Match(data)
            if hits:
                found = found.union(map(self._literal_ids.__getitem__, hits))
        if self._matcher is not None:
            view = re2_view(text)
            if view is None:
                found = found.union(self._slot_ids)
            else:
                hits = self._matcher.Match(data if view is text else view.encode())
                if hits:
                    found = found.union(map(self._slot_ids.__getitem__, hits))
        return found
