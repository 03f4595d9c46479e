"""What members read: Italian reasons in Italian, texts cut between words, the matched sentence as evidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from calltracker.classify import CallText, classify
from calltracker.digest import Entry, call_card
from calltracker.domain import Deadline
from calltracker.storage import ClassificationView
from calltracker.text import plain_text, sentence_around, shorten

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_the_italian_fit_reason_names_themes_in_italian() -> None:
    c = classify(CallText(
        id="x", title="Space technologies and cybersecurity for satellites", programme="Horizon Europe", source="eu_ft",
        text="HORIZON-CL4-2026-SPACE-01: research and innovation actions on secure satellite communication, Earth "
             "observation downstream services and cybersecurity of space ground segments. Proposals must be "
             "submitted by a consortium of at least three legal entities from three different Member States."))
    assert {t.theme.value for t in c.themes} == {"space_economy", "cybersecurity"} and c.tri_regional_fit
    assert "(economia dello spazio, cybersicurezza)" in c.fit_reason_it
    assert "space" not in c.fit_reason_it.lower() and "cybersecurity" not in c.fit_reason_it.lower()


def test_shortened_texts_end_between_words() -> None:
    assert shorten("Sostegno agli investimenti aerospaziali", 30) == "Sostegno agli investimenti…"
    assert plain_text("<p>Sostegno agli   investimenti aerospaziali</p>", 30) == "Sostegno agli investimenti…"
    assert shorten("corto", 30) == "corto"
    assert len(shorten("x" * 50, 20)) == 20  # one endless word is still cut to fit


@dataclass(frozen=True)
class Call:
    id: int = 1
    title: str = "A call"
    programme: str | None = ("Programma regionale FESR 2021-2027 Asse I Ricerca innovazione e competitività "
                             "Azione 1.1.4 Sostegno alle attività collaborative di ricerca e sviluppo per lo "
                             "sviluppo di nuove tecnologie sostenibili")
    deadlines: tuple[Deadline, ...] = ()
    classification: ClassificationView | None = None
    status: str = "open"
    first_seen_at: datetime = NOW
    last_changed_at: datetime = NOW
    url: str = "https://www.regione.lombardia.it/x"
    identifier: str | None = None
    budget_eur: float | None = None
    budget_text: str | None = None


def test_an_email_card_cuts_a_long_programme_between_words() -> None:
    card = call_card(Entry(call=Call(), new=True), "it", NOW)
    assert card["programme"].endswith("…") and len(card["programme"]) <= 160
    words = set(Call.programme.split()) if Call.programme else set()
    assert card["programme"][:-1].split()[-1] in words  # the last word shown is whole


def test_the_matched_sentence_is_the_one_holding_the_match() -> None:
    text = "Il bando sostiene le PMI. Sono ammessi consorzi di almeno tre imprese! Scadenza a ottobre."
    start = text.index("consorzi")
    assert sentence_around(text, start, start + 8) == "Sono ammessi consorzi di almeno tre imprese!"
    long = "parola " * 100 + "satellite " + "altra " * 100
    at = long.index("satellite")
    shown = sentence_around(long, at, at + 9, limit=80)
    assert "satellite" in shown and shown.startswith("… ") and shown.endswith(" …") and len(shown) <= 84


def test_a_match_inside_a_word_shows_the_whole_word() -> None:
    long = "parola " * 100 + "satellites " + "altra " * 100
    at = long.index("satellite")
    assert " satellites " in sentence_around(long, at, at + 9, limit=80)
