"""The pure digest: choosing calls per member, formatting, and keeping scraped text inert."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from calltracker.digest import (
    CardRenderer,
    Entry,
    call_card,
    choose_alerts,
    choose_digest,
    closing_lead_days,
    format_deadline,
)
from calltracker.domain import Deadline
from calltracker.mailtemplates import load_templates
from calltracker.storage import ClassificationView
from calltracker.text import plain_text as clean_text
from calltracker.text import safe_url

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
BXL = ZoneInfo("Europe/Brussels")
ROME = ZoneInfo("Europe/Rome")


def classification(themes: tuple[str, ...] = ("green_aviation",), *, tri: bool = False, fit: int = 50,
                   consortium: str = "single", liguria: bool = True) -> ClassificationView:
    return ClassificationView(rules_version="t", themes={t: 1.0 for t in themes},
                              eligible={"lombardia": True, "piemonte": True, "liguria": liguria}, scope="eu",
                              consortium=consortium, tri_regional_fit=tri, fit_score=fit, fit_reason="why",
                              fit_reason_it="perché", evidence={})


@dataclass(frozen=True)
class Call:
    id: int
    title: str = "A call"
    deadlines: tuple[Deadline, ...] = (Deadline(datetime(2027, 4, 15, 17, 0, tzinfo=BXL)),)
    classification: ClassificationView | None = field(default_factory=classification)
    status: str = "open"
    first_seen_at: datetime = NOW - timedelta(days=2)
    last_changed_at: datetime = NOW - timedelta(days=2)
    url: str = "https://ec.europa.eu/x"
    identifier: str | None = None
    programme: str | None = "Horizon Europe"
    budget_eur: float | None = None
    budget_text: str | None = None


@dataclass(frozen=True)
class Member:
    id: int = 1
    email: str = "m@example.it"
    name: str = ""
    region: str | None = None
    language: str = "it"
    themes: tuple[str, ...] = ()
    min_fit: int = 0
    frequency: str = "weekly"


@dataclass(frozen=True)
class Change:
    call_id: int
    field: str
    old: object
    new: object
    changed_at: datetime


def test_new_calls_go_to_joint_or_other_and_tri_regional_come_first() -> None:
    calls = [Call(1, "Other", classification=classification(tri=False)),
             Call(2, "Joint", classification=classification(tri=True))]
    content = choose_digest(Member(), calls, {}, since=NOW - timedelta(days=7), now=NOW, closing_soon_days=45)
    assert [e.call.id for e in content.joint] == [2]
    assert [e.call.id for e in content.other] == [1]
    assert content.news == 2


def test_calls_seen_before_the_last_digest_and_unchanged_are_left_out() -> None:
    old = Call(1, first_seen_at=NOW - timedelta(days=30), last_changed_at=NOW - timedelta(days=30))
    content = choose_digest(Member(), [old], {}, since=NOW - timedelta(days=7), now=NOW, closing_soon_days=45)
    assert content.entries == [] and content.news == 0


def test_a_moved_deadline_lands_in_changed_with_before_and_after() -> None:
    call = Call(1, first_seen_at=NOW - timedelta(days=30), last_changed_at=NOW - timedelta(days=1))
    moved = Change(1, "deadlines", ["2027-04-15T15:00:00+00:00[Europe/Brussels]"],
                   ["2027-05-06T15:00:00+00:00[Europe/Brussels]"], NOW - timedelta(days=1))
    content = choose_digest(Member(), [call], {1: [moved]}, since=NOW - timedelta(days=7), now=NOW,
                            closing_soon_days=45)
    assert [e.call.id for e in content.changed] == [1]
    card = call_card(content.changed[0], "it", NOW)
    assert card["changes"] == [{"label": "Scadenza", "before": "15 aprile 2027, 17:00 (ora di Bruxelles)",
                                "after": "6 maggio 2027, 17:00 (ora di Bruxelles)"}]


def test_closing_soon_lead_time_is_longer_when_a_consortium_is_required() -> None:
    assert closing_lead_days("single", 45) < closing_lead_days("optional", 45) < closing_lead_days("required", 45)
    in_60_days = (Deadline(NOW + timedelta(days=60)),)
    single = Call(1, deadlines=in_60_days, classification=classification(consortium="single"))
    consortium = Call(2, deadlines=in_60_days, classification=classification(consortium="required"))
    content = choose_digest(Member(), [single, consortium], {}, since=NOW - timedelta(days=7), now=NOW,
                            closing_soon_days=45)
    assert [e.call.id for e in content.closing] == [2]
    assert [e.call.id for e in content.other] == [1]


def test_unchanged_calls_closing_soon_are_reminders_but_not_news() -> None:
    old = Call(1, deadlines=(Deadline(NOW + timedelta(days=5)),), first_seen_at=NOW - timedelta(days=60),
               last_changed_at=NOW - timedelta(days=60))
    content = choose_digest(Member(), [old], {}, since=NOW - timedelta(days=7), now=NOW, closing_soon_days=45)
    assert [e.call.id for e in content.closing] == [1] and content.news == 0


def test_themes_min_fit_and_region_filter_what_a_member_gets() -> None:
    space = Call(1, classification=classification(("space_economy",)))
    weak = Call(2, classification=classification(("green_aviation",), fit=10))
    not_liguria = Call(3, classification=classification(("green_aviation",), liguria=False))
    closed = Call(4, status="closed")
    member = Member(themes=("green_aviation",), min_fit=20, region="liguria")
    content = choose_digest(member, [space, weak, not_liguria, closed], {}, since=None, now=NOW,
                            closing_soon_days=45)
    assert content.entries == []
    everyone = choose_digest(Member(), [space, weak, not_liguria, closed], {}, since=None, now=NOW,
                             closing_soon_days=45)
    assert sorted(e.call.id for e in everyone.entries) == [1, 2, 3]


def test_deadlines_show_italian_time_and_name_the_official_zone() -> None:
    d = Deadline(datetime(2027, 4, 15, 17, 0, tzinfo=BXL))
    assert format_deadline(d, "it") == "15 aprile 2027, 17:00 (ora di Bruxelles)"
    assert format_deadline(d, "en") == "15 April 2027, 17:00 (Brussels time)"
    assert format_deadline(Deadline(datetime(2027, 1, 31, 12, 0, tzinfo=ROME)), "it") == "31 gennaio 2027, 12:00"
    utc = Deadline(datetime(2027, 1, 31, 16, 0, tzinfo=UTC))
    assert format_deadline(utc, "it") == "31 gennaio 2027, 17:00 (ora italiana; 16:00 UTC)"
    assert format_deadline(Deadline(datetime(2027, 2, 11, tzinfo=ROME), date_only=True), "en") == "11 February 2027"


def test_scraped_markup_is_reduced_to_inert_text() -> None:
    assert clean_text('Bando <script>alert("x")</script><b>Aerospazio</b>\x00 &amp; più') == "Bando Aerospazio & più"
    assert clean_text("&lt;script&gt;alert(1)&lt;/script&gt;Titolo") == "Titolo"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url(" JaVaScRiPt:alert(1)") is None
    assert safe_url("data:text/html,<b>x</b>") is None
    assert safe_url("https://ec.europa.eu/a?b=c") == "https://ec.europa.eu/a?b=c"


def test_card_uses_the_italian_fit_reason_for_italian_members() -> None:
    entry = Entry(call=Call(1), new=True)
    assert call_card(entry, "it", NOW)["fit_reason"] == "perché"
    assert call_card(entry, "en", NOW)["fit_reason"] == "why"


def test_alerts_pick_the_tightest_lead_time_reached_once_per_deadline() -> None:
    call = Call(7, deadlines=(Deadline(datetime(2026, 12, 5, 17, 0, tzinfo=BXL)),
                              Deadline(datetime(2027, 6, 1, 17, 0, tzinfo=BXL))))
    reminders = choose_alerts(Member(), [call], now=NOW, lead_days=[30, 14, 3])
    assert [(r.lead_days, r.days_left, r.period_key) for r in reminders] == [(14, 10, "7:14:2026-12-05")]


def test_each_frequency_the_preferences_page_offers_gets_its_weeks() -> None:
    from types import SimpleNamespace

    from calltracker.delivery import wants_digest
    from calltracker.web.app import FREQUENCIES

    weeks = [f"2027-W{n:02d}" for n in range(1, 9)]
    got = {f: [w for w in weeks if wants_digest(SimpleNamespace(frequency=f), w)] for f in FREQUENCIES}  # type: ignore[arg-type]
    assert got["weekly"] == weeks
    assert got["fortnightly"] == ["2027-W01", "2027-W03", "2027-W05", "2027-W07"]
    assert got["monthly"] == ["2027-W01", "2027-W05"]  # Mondays 4 January and 1 February 2027


def test_a_batch_renders_each_card_once_per_look_and_keeps_the_looks_apart() -> None:
    cards = CardRenderer(load_templates(), NOW)
    call = Call(1, "Droni per la logistica")
    new = cards.card(Entry(call=call, new=True), "it")
    assert cards.card(Entry(call=call, new=True), "it") is new  # a second member gets the same card
    known = cards.card(Entry(call=call, new=False), "it")
    assert "Nuovo" in new.html and "Nuovo" not in known.html and "[nuovo]" in new.text
    assert "New" in cards.card(Entry(call=call, new=True), "en").html
    assert cards.card(Entry(call=call, new=True), "it", "joint").html != new.html  # another border colour
    soon = cards.card(Entry(call=call, new=False, closing_in_days=1), "it", "closing")
    assert "Scade domani" in soon.html
    assert "Droni per la logistica" in new.html and 'style="' in new.html


def test_templates_load_once_per_folder_and_again_when_the_stylesheet_changes(tmp_path: Path) -> None:
    import os
    import shutil

    from calltracker.mailtemplates import TEMPLATES_DIR

    folder = tmp_path / "email"
    shutil.copytree(TEMPLATES_DIR, folder)
    first = load_templates(folder)
    assert load_templates(folder) is first
    css = folder / "email.css"
    css.write_text(css.read_text(encoding="utf-8") + "\n.x{color:red}\n", encoding="utf-8")
    later = css.stat().st_mtime_ns + 1_000_000_000
    os.utime(css, ns=(later, later))
    assert load_templates(folder) is not first
    # An edited template is picked up by the set already loaded.
    subject = folder / "digest" / "subject.it.txt"
    subject.write_text("Novità {{ news }}", encoding="utf-8")
    os.utime(subject, ns=(later + 1_000_000_000, later + 1_000_000_000))
    assert load_templates(folder).text.get_template("digest/subject.it.txt").render(news=2) == "Novità 2"
