"""Dates, deadlines, amounts and text as the regional, national and EU sites write them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from calltracker.normalize import (
    BRUSSELS,
    ROME,
    clean_text,
    html_to_text,
    parse_amount,
    parse_dates,
    parse_deadline,
    parse_iso_datetime,
)


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)  # type: ignore[misc]


def test_it_reads_a_numeric_date_with_ore() -> None:
    d = parse_deadline("31/01/2026 ore 12:00")
    assert d is not None
    assert d.at == rome(2026, 1, 31, 12, 0)
    assert d.at.tzinfo is ROME
    assert not d.date_only


def test_it_reads_the_lombardia_space_comma_form() -> None:
    parsed = parse_dates("Scade il: 07/09/2026 , ore 12:00")
    assert [d.at for d in parsed.deadlines] == [rome(2026, 9, 7, 12, 0)]
    assert parsed.leftover is None


def test_a_day_without_time_is_date_only_in_rome() -> None:
    d = parse_deadline("entro il 15 marzo 2026")
    assert d is not None
    assert d.date_only
    assert d.day.isoformat() == "2026-03-15"
    assert d.at.utcoffset() is not None and d.at.utcoffset().total_seconds() == 3600  # type: ignore[union-attr]


def test_dalle_ore_del_is_an_opening_not_a_deadline() -> None:
    parsed = parse_dates("dalle ore 10:00 del 3 febbraio 2026")
    assert parsed.deadlines == ()
    assert parsed.opening == rome(2026, 2, 3, 10, 0)


def test_an_opening_and_a_closing_in_one_sentence() -> None:
    parsed = parse_dates("Le domande potranno essere presentate dalle ore 09:00 del 22 aprile 2024 "
                         "alle ore 12:00 del 29 giugno 2024.")
    assert parsed.opening == rome(2024, 4, 22, 9, 0)
    assert [d.at for d in parsed.deadlines] == [rome(2024, 6, 29, 12, 0)]


def test_dotted_dates_and_times_and_early_closure_note() -> None:
    parsed = parse_dates("dalle ore 10.00 del 22.04.2024 alle ore 16.00 del 30.09.2024, salvo chiusura "
                         "anticipata del bando per esaurimento dei fondi disponibili.")
    assert parsed.opening == rome(2024, 4, 22, 10, 0)
    assert parsed.deadline is not None and parsed.deadline.at == rome(2024, 9, 30, 16, 0)
    assert parsed.rolling
    assert parsed.leftover is not None and "salvo chiusura anticipata" in parsed.leftover


def test_time_with_comma_before_the_date() -> None:
    d = parse_deadline("entro le ore 17,00 del 30 luglio 2026")
    assert d is not None and d.at == rome(2026, 7, 30, 17, 0)


def test_an_extended_deadline_keeps_only_the_new_one() -> None:
    parsed = parse_dates("La data di chiusura, inizialmente fissata al 18 novembre 2022, è prorogata alle "
                         "ore 12 del 25 novembre 2022.")
    assert [d.at for d in parsed.deadlines] == [rome(2022, 11, 25, 12, 0)]


def test_a_closing_sportello_dalle_is_a_deadline_and_reference_dates_are_ignored() -> None:
    parsed = parse_dates("Con avviso direttoriale del 29 maggio 2023 si dispone, a seguito dell’esaurimento "
                         "delle risorse disponibili, la chiusura dello sportello dalle ore 12:00 del 1° giugno 2023.")
    assert [d.at for d in parsed.deadlines] == [rome(2023, 6, 1, 12, 0)]
    assert parsed.opening is None


def test_until_funds_run_out_is_rolling_without_a_deadline() -> None:
    parsed = parse_dates("fino ad esaurimento risorse")
    assert parsed.rolling
    assert parsed.deadlines == ()
    assert parsed.leftover is None


def test_a_presumed_month_is_kept_as_text_not_guessed() -> None:
    parsed = parse_dates("metà Giugno 2026")
    assert parsed.deadlines == () and parsed.opening is None
    assert parsed.leftover == "metà Giugno 2026"


def test_an_impossible_date_is_left_as_text() -> None:
    parsed = parse_dates("31/02/2026")
    assert parsed.deadlines == ()
    assert parsed.leftover == "31/02/2026"


def test_english_deadline_in_brussels_time() -> None:
    d = parse_deadline("12 January 2026 17:00 Brussels time")
    assert d is not None
    assert d.at == datetime(2026, 1, 12, 17, 0, tzinfo=BRUSSELS)
    assert d.at.tzinfo is BRUSSELS
    assert parse_deadline("Deadline: 16 September 2026 17:00:00 Brussels time") == \
        parse_deadline("16 September 2026 17:00 CET")


def test_english_range_from_to() -> None:
    parsed = parse_dates("from 3 March 2026 to 12 May 2026")
    assert parsed.opening == rome(2026, 3, 3, 0, 0)
    assert parsed.deadline is not None and parsed.deadline.day.isoformat() == "2026-05-12"
    assert parsed.leftover is None


def test_iso_dates_and_instants() -> None:
    assert parse_deadline("2026-01-31") is not None
    instant = parse_deadline("2026-09-04T21:59:59Z")
    assert instant is not None and instant.at == rome(2026, 9, 4, 23, 59, 59)
    assert instant.at.tzinfo is ROME


def test_piemonte_weekday_dash_time() -> None:
    d = parse_deadline("Ven, 04/09/2026 - 23:59")
    assert d is not None and d.at == rome(2026, 9, 4, 23, 59)


@pytest.mark.parametrize(
    ("value", "expected", "date_only"),
    [
        ("2026-12-14T00:00:00", rome(2026, 12, 14, 0, 0), True),
        ("2019-12-31T23:00:00", rome(2020, 1, 1, 0, 0), True),  # UTC rendering of Italian midnight
        ("2023-06-01T10:00:00", rome(2023, 6, 1, 12, 0), False),  # noon in Rome, written in UTC
        ("2026-09-07T00:00:00.000", rome(2026, 9, 7, 0, 0), True),
    ],
)
def test_naive_utc_exports_become_rome_dates(value: str, expected: datetime, date_only: bool) -> None:
    d = parse_iso_datetime(value, naive_is_utc=True)
    assert d is not None
    assert d.at == expected
    assert d.date_only is date_only


def test_iso_with_offset_keeps_the_instant() -> None:
    d = parse_iso_datetime("2024-02-07T17:00:00.000+0000", tz=BRUSSELS)
    assert d is not None
    assert d.at == datetime(2024, 2, 7, 17, 0, tzinfo=UTC)
    assert d.at.tzinfo is BRUSSELS
    assert parse_iso_datetime("not a date") is None
    assert parse_iso_datetime("2026-13-01") is None


@pytest.mark.parametrize(
    ("text", "euros"),
    [
        ("€ 1.500.000", 1_500_000.0),
        ("1,5 milioni di euro", 1_500_000.0),
        ("EUR 2 500 000", 2_500_000.0),
        ("EUR 2\u00a0500\u00a0000", 2_500_000.0),
        ("38.817.000,00", 38_817_000.0),
        ("Le risorse disponibili ammontano a € 13.408.000,00.", 13_408_000.0),
        ("126.110.000,00 euro", 126_110_000.0),
        ("10 milioni di euro", 10_000_000.0),
        ("€. 213.774,00 o.f.e.", 213_774.0),
        ("15375383,50", 15_375_383.5),
        ("18000000", 18_000_000.0),
        ("EUR 1,500,000", 1_500_000.0),
        ("€1.5 million", 1_500_000.0),
        ("EUR 422 million", 422_000_000.0),
    ],
)
def test_amounts_in_euros(text: str, euros: float) -> None:
    assert parse_amount(text) == euros


@pytest.mark.parametrize(
    "text",
    [
        "163000000 (con dm 29/7), 161800000 (con dm 09/08)",  # two different figures: ambiguous
        "tra un minimo di € 5.000,00 ed un massimo di € 80.000,00.",
        "2%",
        "10 milioni",  # of what?
        "",
        "Sovvenzione a fondo perduto",
    ],
)
def test_ambiguous_or_missing_amounts_are_none(text: str) -> None:
    assert parse_amount(text) is None


def test_html_to_text_keeps_blocks_and_decodes_entities() -> None:
    html = "<p>possono presentare domanda di&nbsp;partecipazione le&nbsp;PMI<br />\ngiugno</p>" \
           "<ul><li>prima</li><li>seconda &amp; terza</li></ul><script>var x=1;</script>"
    assert html_to_text(html) == "possono presentare domanda di partecipazione le PMI\ngiugno\nprima\nseconda & terza"
    assert html_to_text("") == ""
    assert html_to_text("a<b>b</b>c") == "abc"


def test_clean_text_collapses_whitespace_and_invisible_characters() -> None:
    assert clean_text("  Fondo\u00a0“Confidiamo\u200b nella ripresa”\n\t ") == "Fondo “Confidiamo nella ripresa”"
    assert clean_text(None) == ""


def test_utc_midnight_is_a_bare_day_not_two_in_the_morning() -> None:
    for d in (parse_deadline("2026-09-30T00:00:00Z"), parse_iso_datetime("2026-09-30T00:00:00Z")):
        assert d is not None
        assert d.date_only and d.day.isoformat() == "2026-09-30" and d.at.tzinfo is ROME


def test_status_from_dates_compares_days_for_dates_and_instants_for_times() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from calltracker.domain import Deadline, Status
    from calltracker.normalize import status_from_dates

    rome = ZoneInfo("Europe/Rome")
    day = Deadline(datetime(2026, 3, 31, 23, 59, 59, tzinfo=rome), date_only=True)
    noon = Deadline(datetime(2026, 3, 31, 12, 0, tzinfo=rome))
    afternoon = datetime(2026, 3, 31, 14, 0, tzinfo=UTC)  # 16:00 in Rome, same day
    assert status_from_dates(None, day, afternoon) is Status.OPEN
    assert status_from_dates(None, noon, afternoon) is Status.CLOSED
    assert status_from_dates(Deadline(datetime(2026, 4, 1, tzinfo=rome), date_only=True), None,
                             afternoon) is Status.FORTHCOMING
    assert status_from_dates(None, noon, None) is None
