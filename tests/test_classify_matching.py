"""The classifier's matching machinery gives the same answers as the plain, slower way of computing them."""

from __future__ import annotations

import re
from pathlib import Path

from calltracker.classify import CallText
from calltracker.classify.engine import default_rules
from calltracker.classify.text import (
    _FOLD,
    _NON_PLAIN,
    Field,
    RegexBank,
    _branches_that_may,
    fold,
    re2_view,
    required_literals,
)
from calltracker.evaluation import load_labelled


def test_fold_equals_translating_the_whole_text() -> None:
    every = "".join(chr(c) for c in range(0x20, 0x2100))
    for text in (every, "Perché è così: l’aeronautica – “Ærø” ß", "plain `tick`", "città", "ascii only",
                 "Ǣ then Æ, ǿ then ø"):  # folded to a character the table folds too: once, not twice
        assert fold(text) == text.translate(_FOLD)
        assert len(fold(text)) == len(text)


def _labelled_calls() -> list[CallText]:
    folder = Path(__file__).parent / "fixtures" / "labeled"
    return [it.call for name in ("dev.jsonl", "extra.jsonl")
            for it in load_labelled((folder / name).read_text(encoding="utf-8").splitlines())]


def test_one_prefilter_pass_over_the_joined_fields_keeps_every_pattern_that_matches_a_field() -> None:
    rules = default_rules()
    bank = rules.field_bank
    assert bank is not None
    patterns = sorted(bank.patterns, key=lambda p: p.pattern)
    assert bank.possible("") < frozenset(patterns)  # the prefilter does leave patterns out
    checked = 0
    for call in _labelled_calls():
        fields = [Field(name, value or "") for name, value in
                  (("title", call.title), ("text", call.text), ("programme", call.programme))]
        possible = bank.possible("\n".join(f.low for f in fields))
        for pattern in patterns:
            if any(pattern.search(f.low) for f in fields):
                assert pattern in possible, (call.id, pattern.pattern)
                checked += 1
    assert checked > 20


def _view_one_by_one(text: str) -> str | None:
    out = []
    for char in text:
        if _NON_PLAIN.fullmatch(char) is None:
            out.append(char)
        elif char.isalnum() or char == "_":
            return None
        else:
            out.append("\x0c" if char.isspace() else "\x01")
    return "".join(out)


def test_re2_view_maps_every_character_as_the_one_by_one_mapping_does() -> None:
    for code in (*range(0x3100), *range(0x3100, 0x110000, 61)):  # every character a call text is likely to hold
        char = chr(code)
        if 0xD800 <= code <= 0xDFFF:
            continue
        assert re2_view(f"a {char} b") == _view_one_by_one(f"a {char} b"), hex(code)
    assert re2_view("plain text") == "plain text"
    assert re2_view("5 €\u2003x\x1f") == "5 \x01\x0cx\x0c"


def test_blanking_with_the_branches_the_prefilter_left_blanks_what_the_whole_alternation_blanks() -> None:
    rules = default_rules()
    blanked = 0
    for call in _labelled_calls():
        for name, value in (("title", call.title), ("text", call.text), ("programme", call.programme)):
            fld = Field(name, value or "")
            fld.possible = rules.field_bank.possible_ids(fld.low) if rules.field_bank is not None else None
            fast = fld.blanked(rules.negatives, rules.negative_parts, rules.field_bank)
            whole = fld.blanked(rules.negatives)  # no parts given: no prefilter, the whole alternation
            assert fast.words == whole.words, (call.id, name)
            blanked += fast is not fld
    assert blanked > 5


def test_an_alternation_is_cut_to_the_branches_that_may_match_and_left_whole_otherwise() -> None:
    parts = frozenset(re.compile(p) for p in ("spazio alpino", r"(?<=\bin )education", r"m\d ?c\d"))
    whole = re.compile("|".join(f"(?:{p.pattern})" for p in sorted(parts, key=lambda p: p.pattern)))
    text = "il programma spazio alpino, m1c2 e in education"
    ids = frozenset(id(p) for p in parts if p.search(text) and "alpino" not in p.pattern)
    cut = _branches_that_may(whole, parts, ids)
    assert cut.pattern == r"(?:(?<=\bin )education)|(?:m\d ?c\d)"  # same order as in the whole alternation
    assert [m.span() for m in cut.finditer("m1c2 in education")] == \
        [m.span() for m in whole.finditer("m1c2 in education")]
    other = re.compile("spazio alpino|education")  # not built from these parts: searched whole
    assert _branches_that_may(other, parts, ids) is other


def test_required_literals_are_those_one_of_which_every_match_contains() -> None:
    cases = {
        r"consorti(?:a|um|ums)[^.;]{0,80}?\b(?:are|is) excluded": {"are excluded", "is excluded"},  # the longer
        r"\((?:ria|ia)\)": {"(ria)", "(ia)"},
        r"data spaces?": {"data space"},  # an optional tail adds no length
        r"\b(?:corsi|training)\b[^.;:]{0,40}?\bsu": {"corsi", "training"},
        r"singol[ae] o associat[aeio]": {f"singol{a} o associat{b}" for a in "ae" for b in "aeio"},
        r"education and training(?:(?<=\bin education and training))": {"education and training"},
    }
    for source, expected in cases.items():
        assert required_literals(re.compile(source)) == expected, source
    for source in (r"m\d ?c\d", r"[^.]+", r"(?i)voucher", r"(a|\d+)"):  # no literal every match contains
        literals = required_literals(re.compile(source))
        assert literals is None or min(map(len, literals)) < 3, source


def test_every_match_of_a_bank_pattern_in_the_labelled_texts_contains_one_of_its_literals() -> None:
    rules = default_rules()
    checked = 0
    for bank in (rules.field_bank, rules.consortium_bank):
        assert bank is not None
        for pattern in bank.patterns:
            literals = required_literals(pattern)
            if literals is None:
                continue
            for call in _labelled_calls():
                for value in (call.title, call.text, call.programme):
                    for m in pattern.finditer(Field("f", value or "").low):
                        assert any(text in m.group() for text in literals), (pattern.pattern, m.group())
                        checked += 1
    assert checked > 50


def test_a_bank_finds_literals_in_any_text_and_reads_the_other_patterns_only_where_re2_can() -> None:
    single, mission = re.compile(r"\bin forma singola\b"), re.compile(r"m\d ?c\d")
    bank = RegexBank([single, mission])
    assert bank.patterns == {single, mission}
    # A text with an accented letter: RE2 cannot stand in for re on it, but a literal is a literal anywhere.
    assert bank.possible("la città: domanda in forma singola") == {single, mission}
    assert bank.possible("la città: domanda associata") == {mission}
    assert bank.possible("domanda associata, m1c2") == {mission}
    assert bank.possible("domanda associata") == frozenset()


def test_an_identifier_is_blanked_and_a_hyphenated_phrase_is_not() -> None:
    from calltracker.classify.engine import _IDENTIFIER

    fld = Field("text", "Topic HORIZON-CL4-2026-SPACE-03-61: space - earth - orbit - data", (_IDENTIFIER,))
    assert fld.words == ["topic", "space", "earth", "orbit", "data"]
    assert Field("text", "bi-tri-quadri-motore", (_IDENTIFIER,)).words == ["bi", "tri", "quadri", "motore"]


def test_the_words_of_a_field_and_where_they_start_are_those_of_a_regex_over_its_text() -> None:
    texts = [c.text for c in _labelled_calls()] + [
        "", "  ", "città d'Aosta -- 2026/27: l’aeronautica €5 ½ Ærø ß", "\ud800 a\U0001f600b  c", "x" * 3 + "  y"]
    every = "".join(chr(c) for c in range(0x20, 0x2100))
    for text in [*texts, every]:
        fld = Field("text", text)
        plain = list(re.finditer(r"[a-z0-9]+", fld.low))
        assert fld.words == [m.group() for m in plain]
        assert fld.starts() == [m.start() for m in plain]
        assert [fld.span(i) for i in range(len(plain))] == [m.span() for m in plain]


def test_the_shared_index_of_the_lexicons_finds_what_each_lexicon_finds_alone() -> None:
    rules = default_rules()
    lexicons = (rules.themes, rules.gate, rules.programme_lexicon, rules.regions)
    found = 0
    for call in _labelled_calls():
        for name, value in (("title", call.title), ("text", call.text), ("programme", call.programme or "")):
            for language in (None, call.language, "it", "en", "fr"):
                fld = Field(name, value)
                for lexicon in lexicons:
                    matches = lexicon.scan(fld, language)
                    shared = lexicon._shared
                    # Every word of the field probed in the lexicon's own index, none skipped (the lexicon itself,
                    # not a copy: a class compiled with mypyc cannot be copied).
                    lexicon._shared = None
                    try:
                        alone = lexicon.scan(fld, language)
                    finally:
                        lexicon._shared = shared
                    assert matches == alone, (call.id, name, language)
                    found += len(matches)
    assert found > 1000


def test_the_territory_cues_are_prefiltered_by_their_literals() -> None:
    """An alternation whose literals pass _MAX_LITERALS goes to the bank's full automaton instead: three short
    italy_wide branches did that once and made the field prefilter 4.5 times slower (bench/bench_classify.py)."""
    rules = default_rules()
    for pattern in (rules.italy_wide, rules.national_restrictions, rules.listed_regions, rules.local_seat,
                    rules.country_list):
        assert pattern is not None and required_literals(pattern) is not None, pattern.pattern[:80]
