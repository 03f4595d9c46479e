"""The consortium builder below the web: interest, partners, introductions, digest links, staff report, CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from calltracker.bootstrap import App
from calltracker.cli import cli
from calltracker.config import parse_settings
from calltracker.consortium import board, partners
from calltracker.delivery import Composer, send_alerts, send_digests
from calltracker.errors import InputError
from calltracker.introductions import INTRO_KIND, build_staff_report, send_introductions, send_staff_report
from calltracker.mailtemplates import load_templates
from calltracker.members_csv import parse_member_row, read_members_csv
from calltracker.staff_auth import hash_password, verify_password
from calltracker.storage import MemberInput, Store
from calltracker.tokens import TokenError, make_token, read_token
from tests.digest_support import store_fixture_calls
from tests.smtp_sink import SmtpSink

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
KEY = "test-signing-key-0123456789abcdef01"
JOINT = "HORIZON-CL5-2027-03-D5-05"  # green_aviation + industry_5_0, tri-regional, all regions eligible
SINGLE = "HORIZON-JU-IHI-2026-13-two-stage-01"  # artificial_intelligence, not a joint bid


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as s:
        yield s


def make_app(store: Store, tmp_path: Path, port: int = 25, staff: tuple[str, ...] = ()) -> App:
    settings = parse_settings({
        "data_dir": str(tmp_path / "data"), "database": {"url": "sqlite:///unused"},
        "mail": {"transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_timeout": 5.0,
                 "from_address": "bandi@lac.example.it", "from_name": "Bandi LAC", "staff_addresses": list(staff)},
        "web": {"base_url": "https://bandi.example.org", "signing_key": KEY},
    }, environ={})
    return App(settings=settings, store=store, clock=lambda: NOW)


def member(store: Store, cluster: str, email_: str, region: str, *, themes: tuple[str, ...] = ("green_aviation",),
           share: bool | None = None, language: str = "it", organisation: str = "") -> int:
    name = email_.split("@")[0].title()
    store.import_members(cluster, [MemberInput(email_, name, organisation or f"{name} Srl",
                                               region, language, themes, share_profile=share)], NOW)
    return store.member(f"{cluster}:{email_}").id


def calls(store: Store) -> dict[str, int]:
    return store_fixture_calls(store, NOW - timedelta(days=2))


def interested(store: Store, member_id: int, call_id: int) -> None:
    m = store.member(member_id)
    assert store.add_interest(m.id, m.token_version, call_id, NOW)


# --- interest -------------------------------------------------------------------------------------------


def test_interest_is_kept_once_withdrawn_and_refused_for_a_revoked_link(store: Store) -> None:
    ids = calls(store)
    alice = member(store, "LAC", "alice@lac.example", "lombardia")
    assert store.add_interest(alice, 1, ids[JOINT], NOW)
    assert store.add_interest(alice, 1, ids[JOINT], NOW + timedelta(hours=1))
    found = store.interests(ids[JOINT])
    assert [(i.member.id, i.region, i.at) for i in found] == [(alice, "lombardia", NOW)]
    assert not store.add_interest(alice, 2, ids[SINGLE], NOW)  # a link of another token version
    assert not store.add_interest(alice, 1, 999_999, NOW)  # no such call
    assert store.withdraw_interest(alice, 1, ids[JOINT])
    assert store.interests() == []


def test_a_member_without_region_counts_for_their_cluster_region(store: Store) -> None:
    ids = calls(store)
    store.import_members("LIG", [MemberInput("x@lig.example", "X", "X", None, "it", ())], NOW)
    interested(store, store.member("x@lig.example").id, ids[JOINT])
    rows = board(store.find_calls(), store.interests(), NOW)
    assert [(r.call_id, r.counts.by_region, r.counts.by_cluster["LIG"]) for r in rows] == [
        (ids[JOINT], {"lombardia": 0, "piemonte": 0, "liguria": 1}, 1)]


def test_the_board_sorts_by_deadline_either_way_and_by_interest(store: Store) -> None:
    ids = calls(store)
    a = member(store, "LAC", "a@lac.example", "lombardia")
    b = member(store, "DAP", "b@dap.example", "piemonte")
    for call_id in ids.values():
        interested(store, a, call_id)
    interested(store, b, ids[SINGLE])
    all_calls = store.find_calls()
    soonest = [r.deadline for r in board(all_calls, store.interests(), NOW)]
    assert None not in soonest and soonest == sorted(soonest)  # type: ignore[type-var]
    latest = [r.deadline for r in board(all_calls, store.interests(), NOW, "-deadline")]
    assert latest == sorted(latest, reverse=True)  # type: ignore[type-var]
    assert board(all_calls, store.interests(), NOW, "interest")[0].call_id == ids[SINGLE]


# --- partners -------------------------------------------------------------------------------------------


def test_partners_are_other_regions_that_opted_in_with_matching_themes(store: Store) -> None:
    ids = calls(store)
    me = member(store, "LAC", "me@lac.example", "lombardia", share=True)
    member(store, "LAC", "same@lac.example", "lombardia", share=True)  # my own region: not suggested
    member(store, "DAP", "silent@dap.example", "piemonte")  # never agreed: not suggested
    member(store, "DAP", "quiet@dap.example", "piemonte", share=False)
    member(store, "DAP", "cyber@dap.example", "piemonte", share=True, themes=("cybersecurity",))
    open_ = member(store, "DAP", "open@dap.example", "piemonte", share=True, themes=("industry_5_0",))
    store.update_member(open_, NOW, share_contact=True)
    member(store, "LIG", "any@lig.example", "liguria", share=True, themes=())  # no themes: follows them all
    call = store.get_call(ids[JOINT])
    found = partners(call, store.partner_candidates(), for_region=store.member_region(me))
    assert [(p.cluster, p.email) for p in found] == [("DAP", "open@dap.example"), ("LIG", None)]
    assert found[1].organisation == "Any Srl" and found[1].themes == ()
    assert partners(store.get_call(ids[SINGLE]), store.partner_candidates()) == []  # not a joint bid


def test_partners_command_shows_addresses_only_when_agreed(store: Store, config_file: Path) -> None:
    ids = calls(store)
    member(store, "DAP", "open@dap.example", "piemonte", share=True)
    member(store, "LIG", "shy@lig.example", "liguria", share=True)
    member(store, "LIG", "hidden@lig.example", "liguria")
    store.update_member(store.member("open@dap.example").id, NOW, share_contact=True)
    runner = CliRunner()
    out = runner.invoke(cli, ["--config", str(config_file), "partners", str(ids[JOINT]), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert [(p["cluster"], p["email"]) for p in data["partners"]] == [("DAP", "open@dap.example"), ("LIG", None)]
    table = runner.invoke(cli, ["--config", str(config_file), "partners", str(ids[JOINT]), "--member",
                                "open@dap.example"])
    assert "shy@lig.example" not in table.stdout and "(not shared)" in table.stdout
    assert "open@dap.example" not in table.stdout and "hidden" not in table.stdout


# --- members CSV ---------------------------------------------------------------------------------------


def test_members_csv_reads_share_profile_in_english_or_italian() -> None:
    good, bad = read_members_csv("email,themes,condividi_profilo\na@x.it,,sì\nb@x.it,,no\nc@x.it,,forse\n")
    assert [(m.email, m.share_profile) for _, m in good] == [("a@x.it", True), ("b@x.it", False)]
    assert [p.message for p in bad] == ['share_profile: expected yes or no, got "forse"']
    assert parse_member_row({"email": "d@x.it"}).share_profile is None
    assert parse_member_row({"email": "d@x.it", "share_profile": "Yes"}).share_profile is True


def test_an_import_without_the_column_keeps_the_members_own_choice(store: Store) -> None:
    m = member(store, "LAC", "a@lac.example", "lombardia", share=True)
    member(store, "LAC", "a@lac.example", "lombardia", share=None, organisation="Renamed")
    assert store.member(m).share_profile and store.member(m).organisation == "Renamed"
    member(store, "LAC", "a@lac.example", "lombardia", share=False)
    assert not store.member(m).share_profile


def test_sharing_is_off_by_default_and_the_address_needs_the_profile(store: Store) -> None:
    m = member(store, "LAC", "a@lac.example", "lombardia")
    assert not store.member(m).share_profile and not store.member(m).share_contact
    assert store.save_sharing(m, 1, NOW, share_profile=False, share_contact=True)
    assert not store.member(m).share_contact
    assert not store.save_sharing(m, 7, NOW, share_profile=True, share_contact=True)  # revoked link


# --- tokens -----------------------------------------------------------------------------------------------


def test_an_interest_token_names_its_call_and_cannot_be_bent() -> None:
    token = make_token(KEY, "interest", 4, 1, NOW, subject=17)
    assert read_token(KEY, "interest", token, NOW).subject == 17
    assert read_token(KEY, "prefs", make_token(KEY, "prefs", 4, 1, NOW), NOW).subject is None
    payload, mac = token.split(".")
    other = make_token(KEY, "interest", 4, 1, NOW, subject=18).split(".")[0]
    for bad in (f"{other}.{mac}", f"{payload}.{mac[:-1]}A", f"{payload}.x"):
        with pytest.raises(TokenError):
            read_token(KEY, "interest", bad, NOW)
    with pytest.raises(TokenError):
        read_token(KEY, "unsubscribe", token, NOW)


# --- digests -----------------------------------------------------------------------------------------------


def _bodies(msg: EmailMessage) -> tuple[str, str]:
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_digests_carry_each_members_own_interest_link_on_joint_bid_calls_only(
        store: Store, tmp_path: Path, sink: SmtpSink) -> None:
    ids = calls(store)
    alice = member(store, "LAC", "alice@lac.example", "lombardia", themes=())
    bob = member(store, "DAP", "bob@dap.example", "piemonte", themes=(), language="en")
    run = store.start_run("eu_ft", NOW - timedelta(days=1))
    store.finish_run(run, outcome="ok", finished_at=NOW - timedelta(days=1))
    app = make_app(store, tmp_path, sink.port)
    report = send_digests(app)
    assert report.sent == 2
    for msg in sink.handler.parsed():
        text, html = _bodies(msg)
        who = alice if msg["To"].addresses[0].addr_spec == "alice@lac.example" else bob
        links = set(re.findall(r"https://bandi\.example\.org/i/([\w.-]+)", text))
        assert links == set(re.findall(r'href="https://bandi\.example\.org/i/([\w.-]+)"', html))
        joint = {ids[k] for k in ids if store.get_call(ids[k]).classification.tri_regional_fit}  # type: ignore[union-attr]
        assert {read_token(KEY, "interest", t, NOW).subject for t in links} == joint
        assert {read_token(KEY, "interest", t, NOW).member_id for t in links} == {who}
        assert ("Mi interessa" in text) == (who == alice) and ("I'm interested" in text) == (who == bob)
        assert "calltracker.invalid" not in text + html
        checked = "Fonti controllate questa settimana" if who == alice else "Sources checked this week"
        assert checked in text and "EU Funding & Tenders" in text


def test_a_card_without_a_link_maker_drops_the_interest_line(store: Store, tmp_path: Path) -> None:
    from calltracker.digest import CardRenderer, Entry, with_interest_links

    ids = calls(store)
    card = CardRenderer(load_templates(), NOW).card(Entry(store.get_call(ids[JOINT]), new=True), "it", "joint")
    assert "calltracker.invalid" in card.text
    bare = with_interest_links(card, None)
    assert "calltracker.invalid" not in bare.text + bare.html and "Mi interessa" not in bare.text + bare.html
    assert bare.text.count("\n") == card.text.count("\n") - 1


def test_alerts_on_joint_bid_calls_carry_the_link_too(store: Store, tmp_path: Path, sink: SmtpSink) -> None:
    ids = calls(store)
    member(store, "LAC", "alice@lac.example", "lombardia", themes=())
    app = make_app(store, tmp_path, sink.port)
    app = App(settings=app.settings, store=store, clock=lambda: datetime(2027, 4, 1, 8, tzinfo=UTC))
    assert send_alerts(app).sent >= 1
    texts = {m["Subject"]: _bodies(m)[0] for m in sink.handler.parsed()}
    joint = [t for t in texts.values() if store.get_call(ids[JOINT]).title[:40] in t]
    assert joint and all("/i/" in t for t in joint)
    assert all("calltracker.invalid" not in t for t in texts.values())


# --- introductions ------------------------------------------------------------------------------------------


def test_introductions_go_out_exactly_once_per_call_and_group(store: Store, tmp_path: Path, sink: SmtpSink) -> None:
    ids = calls(store)
    app = make_app(store, tmp_path, sink.port)
    a = member(store, "LAC", "a@lac.example", "lombardia", share=True, organisation="Aero Lombarda")
    b = member(store, "DAP", "b@dap.example", "piemonte", language="en", organisation="Secret Piemonte")
    interested(store, a, ids[JOINT])
    assert send_introductions(app).sent == 0  # one region only: nobody to introduce
    interested(store, b, ids[JOINT])
    first = send_introductions(app)
    assert (first.prepared, first.sent) == (2, 2)
    assert send_introductions(app).sent == 0 and send_introductions(app).prepared == 0
    got = {m["To"].addresses[0].addr_spec: m for m in sink.handler.parsed()}
    assert set(got) == {"a@lac.example", "b@dap.example"}
    text_b, html_b = _bodies(got["b@dap.example"])
    assert got["b@dap.example"]["Subject"].startswith("Other members want to bid with you")
    assert "Aero Lombarda" in text_b and "Aero Lombarda" in html_b and "a@lac.example" not in text_b
    text_a, _ = _bodies(got["a@lac.example"])
    assert got["a@lac.example"]["Subject"].startswith("Altri membri")
    assert "Secret Piemonte" not in text_a and "Altri interessati in Piemonte" in text_a  # b did not agree
    # A third region makes a new group: everyone is introduced again, once.
    c = member(store, "LIG", "c@lig.example", "liguria", share=True, organisation="Ligure")
    store.update_member(c, NOW, share_contact=True)
    interested(store, c, ids[JOINT])
    assert send_introductions(app).sent == 3
    assert send_introductions(app).sent == 0
    keys = sorted((d.email, d.period_key) for d in store.deliveries(INTRO_KIND))
    group2, group3 = f"{ids[JOINT]}:lombardia+piemonte", f"{ids[JOINT]}:lombardia+piemonte+liguria"
    assert keys == sorted([("a@lac.example", group2), ("b@dap.example", group2), ("a@lac.example", group3),
                           ("b@dap.example", group3), ("c@lig.example", group3)])
    last = {m["To"].addresses[0].addr_spec: m for m in sink.handler.parsed()[2:]}
    assert "c@lig.example" in _bodies(last["a@lac.example"])[0]  # c agreed to show the address
    assert len(sink.handler.messages) == 5


# --- staff --------------------------------------------------------------------------------------------------


class ListTransport:
    """Collects messages (a fake: the report's SMTP path is the one staff notices use)."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


def test_the_weekly_staff_email_lists_calls_with_two_regions_once(store: Store, tmp_path: Path) -> None:
    ids = calls(store)
    app = make_app(store, tmp_path, staff=("Boss@lac.example",))
    store.save_staff_account("staff@dap.example", hash_password("a long enough password"), NOW)
    a = member(store, "LAC", "a@lac.example", "lombardia")
    b = member(store, "DAP", "b@dap.example", "piemonte")
    interested(store, a, ids[JOINT])
    interested(store, a, ids[SINGLE])
    assert build_staff_report(app).message is None  # one region only
    interested(store, b, ids[JOINT])
    tx = ListTransport()
    report = send_staff_report(app, tx)
    assert [r.call_id for r in report.rows] == [ids[JOINT]]
    assert len(tx.sent) == 1 and tx.sent[0]["To"] == "boss@lac.example, staff@dap.example"
    body = tx.sent[0].get_content()
    assert store.get_call(ids[JOINT]).title[:60] in body and "2027-04-14 17:00" in body
    assert store.get_call(ids[SINGLE]).title[:60] not in body
    assert send_staff_report(app, tx).message is None and len(tx.sent) == 1  # once a week


def test_staff_passwords_are_argon2_and_a_new_password_ends_sessions(store: Store) -> None:
    with pytest.raises(InputError):
        hash_password("short")
    assert store.save_staff_account("Staff@LAC.example", hash_password("first long password"), NOW)
    account = store.staff_account("staff@lac.example")
    assert account is not None and account.password_hash.startswith("$argon2id$")
    assert verify_password(account.password_hash, "first long password")
    assert not verify_password(account.password_hash, "first long passwordx")
    store.add_staff_session(account.id, "h" * 64, "csrf", NOW, NOW + timedelta(hours=1))
    assert store.staff_session("h" * 64, NOW) is not None
    assert store.staff_session("h" * 64, NOW + timedelta(hours=2)) is None
    assert not store.save_staff_account("staff@lac.example", hash_password("second long password"), NOW)
    assert store.staff_session("h" * 64, NOW) is None


def test_cli_staff_add_interest_list_and_report(store: Store, config_file: Path) -> None:
    ids = calls(store)
    runner = CliRunner()
    out = runner.invoke(cli, ["--config", str(config_file), "staff", "add", "boss@lac.example", "--password-stdin"],
                        input="a long enough password\n")
    assert out.exit_code == 0 and "created" in out.stdout, out.output
    hashed = store.staff_account("boss@lac.example")
    assert hashed is not None and verify_password(hashed.password_hash, "a long enough password")
    short = runner.invoke(cli, ["--config", str(config_file), "staff", "add", "x@lac.example", "--password-stdin"],
                          input="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.stderr
    a = member(store, "LAC", "a@lac.example", "lombardia")
    b = member(store, "LIG", "b@lig.example", "liguria")
    interested(store, a, ids[JOINT])
    interested(store, b, ids[JOINT])
    listed = runner.invoke(cli, ["--config", str(config_file), "interest", "list", "--json"])
    assert json.loads(listed.stdout)[0]["regions"] == {"lombardia": 1, "piemonte": 0, "liguria": 1}
    one = runner.invoke(cli, ["--config", str(config_file), "interest", "list", "--call", str(ids[JOINT]), "--json"])
    assert sorted(i["cluster"] for i in json.loads(one.stdout)["interests"]) == ["LAC", "LIG"]
    table = runner.invoke(cli, ["--config", str(config_file), "interest", "list"])
    assert table.exit_code == 0 and "LIGURIA" in table.stdout
    report = runner.invoke(cli, ["--config", str(config_file), "interest", "report"])
    assert report.exit_code == 0 and "To: boss@lac.example" in report.stdout


def test_composer_interest_url_is_signed_for_the_member_and_call(store: Store, tmp_path: Path) -> None:
    m = store.member(member(store, "LAC", "a@lac.example", "lombardia"))
    url = Composer(make_app(store, tmp_path), load_templates()).interest_url(m, NOW)(42)
    claims = read_token(KEY, "interest", url.rsplit("/", 1)[1], NOW)
    assert (claims.member_id, claims.subject, url.startswith("https://bandi.example.org/i/")) == (m.id, 42, True)


def test_the_digest_job_sends_due_introductions_and_the_staff_report_once(
        store: Store, tmp_path: Path, sink: SmtpSink) -> None:
    from calltracker.bootstrap import build_runner
    from calltracker.jobs import StopToken

    ids = calls(store)
    app = make_app(store, tmp_path, sink.port, staff=("boss@lac.example",))
    interested(store, member(store, "LAC", "a@lac.example", "lombardia"), ids[JOINT])
    interested(store, member(store, "LIG", "b@lig.example", "liguria"), ids[JOINT])
    # the real wiring (bootstrap) with a stand-in digest job: the consortium follow-up runs after it
    runner = build_runner(app, stop=StopToken(), jobs=lambda a: {"digest": lambda stop: "digest: 0 sent"})
    result = runner.run("digest")
    assert result.ok and "introductions: 2 sent" in result.summary and "staff report" in result.summary
    assert sorted(m["To"].addresses[0].addr_spec for m in sink.handler.parsed()) == [
        "a@lac.example", "b@lig.example", "boss@lac.example"]
    again = runner.run("digest")
    assert again.ok and "introductions: 0 sent" in again.summary and len(sink.handler.messages) == 3


def test_an_introduction_names_a_date_only_deadline_on_its_last_evening(store: Store, tmp_path: Path) -> None:
    from dataclasses import replace
    from zoneinfo import ZoneInfo

    from calltracker.domain import Deadline, Scope, ScrapedCall
    from calltracker.introductions import queue_introductions

    rome = ZoneInfo("Europe/Rome")
    last_evening = datetime(2026, 10, 15, 23, 30, tzinfo=rome)
    saved = store.save_calls("piemonte", [ScrapedCall(
        source="piemonte", external_id="due-15th", title="Bando aerospazio", url="https://example.org/b",
        scope=Scope.REGIONAL, deadlines=(Deadline(datetime(2026, 10, 15, tzinfo=rome), date_only=True),))],
        run_id=None, now=last_evening - timedelta(days=3))
    (call_id,) = saved.new_ids
    app = replace(make_app(store, tmp_path), clock=lambda: last_evening)
    for cluster, address, region in (("LAC", "a@lac.example", "lombardia"), ("DAP", "b@dap.example", "piemonte")):
        m = store.member(member(store, cluster, address, region, share=True))
        assert store.add_interest(m.id, m.token_version, call_id, last_evening)
    assert queue_introductions(app, call_id) == 2
    texts = [store_message(store, d.id) for d in store.deliveries(INTRO_KIND)]
    # it read `at >= now`: a call due "15/10/2026" had no deadline left to name on the evening of the 15th
    assert texts and all("Scadenza: 15 ottobre 2026" in text for text in texts), texts


def store_message(store: Store, delivery_id: int) -> str:
    from email import message_from_bytes, policy

    (due,) = [d for d in store.due_deliveries(INTRO_KIND, NOW + timedelta(days=400), lease=timedelta(minutes=15))
              if d.id == delivery_id]
    assert due.message is not None
    msg = message_from_bytes(due.message, policy=policy.default)
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())
