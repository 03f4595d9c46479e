"""One bad member never breaks everyone's mail: addresses validated at import, names cleaned, and each
member's delivery its own error boundary; header text in the config cannot carry line breaks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calltracker.bootstrap import App
from calltracker.config import parse_settings
from calltracker.delivery import preview_digest, send_digests
from calltracker.errors import ConfigError, InputError
from calltracker.members_csv import parse_member_row
from calltracker.storage import MemberInput, Store
from tests.digest_support import store_fixture_calls
from tests.smtp_sink import SmtpSink
from tests.test_mime import same_boundaries

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as s:
        yield s


def make_app(store: Store, tmp_path: Path, port: int) -> App:
    settings = parse_settings({
        "data_dir": str(tmp_path / "data"), "database": {"url": "sqlite:///unused"},
        "mail": {"transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_timeout": 5.0,
                 "from_address": "bandi@lac.example.it", "from_name": "Bandi LAC"},
        "web": {"base_url": "https://bandi.example.org", "signing_key": "k" * 40},
    }, environ={})
    return App(settings=settings, store=store, clock=lambda: NOW)


def test_a_member_whose_message_cannot_be_built_fails_alone_and_a_control_character_name_is_cleaned(
        store: Store, tmp_path: Path, sink: SmtpSink) -> None:
    """Members stored before addresses were validated: a non-ASCII local part cannot be sent without
    SMTPUTF8, a CR/LF in a name would forge headers. The others still get their digest."""
    store_fixture_calls(store, NOW - timedelta(days=2))
    rows = [("uno@example.it", "Uno"), ("josé@example.it", "José"), ("due@example.it", "Evil\r\nBcc: spy@evil.it"),
            ("tre@example.it", "Tre")]
    store.import_members("LAC", [MemberInput(email=e, name=n, organisation="", region=None, language="it",
                                             themes=()) for e, n in rows], NOW)
    report = send_digests(make_app(store, tmp_path, sink.port), period="2026-W48")

    got = {m["To"].addresses[0].addr_spec: m for m in sink.handler.parsed()}
    assert sorted(got) == ["due@example.it", "tre@example.it", "uno@example.it"]
    assert got["due@example.it"]["To"].addresses[0].display_name == "Evil Bcc: spy@evil.it"
    assert got["due@example.it"]["Bcc"] is None
    assert (report.sent, report.failed) == (3, 1)
    assert any("josé@example.it" in e for e in report.errors)
    failed = store.deliveries("digest", status="failed")
    assert [d.email for d in failed] == ["josé@example.it"]
    assert failed[0].last_error is not None and "josé@example.it" in failed[0].last_error
    # A rerun does not try the failed member again for this period, nor resend the others.
    again = send_digests(make_app(store, tmp_path, sink.port), period="2026-W48")
    assert (again.sent, again.failed, again.skipped) == (0, 0, 4)


@pytest.mark.parametrize(("address", "reason"), [
    ("josé@example.it", "Internationalized characters before the @"),
    ("a..b@example.it", "two periods"),
    ("someone@localhost", "after the @-sign"),
    ("rossi@example.it\r\nBcc: x@y.it", "invalid characters"),
])
def test_an_address_the_mail_server_would_refuse_is_rejected_at_import_naming_it(address: str, reason: str) -> None:
    with pytest.raises(InputError) as err:
        parse_member_row({"email": address})
    assert reason in str(err.value)
    assert address.split("\r")[0] in str(err.value)


def test_an_international_domain_is_accepted_in_its_ascii_form_and_names_lose_control_characters() -> None:
    member = parse_member_row({"email": "Mario@Bücher.example", "name": "Mario\r\nRossi\x1b[31m",
                               "organisation": "ACME\x00 Srl"})
    assert member.email == "mario@xn--bcher-kva.example"
    assert member.name == "Mario Rossi [31m"
    assert member.organisation == "ACME Srl"


@pytest.mark.parametrize(("section", "key"), [("mail", "from_name"), ("digest", "list_id")])
def test_a_line_break_in_header_text_is_a_config_error(section: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        parse_settings({section: {key: "Bandi\r\nBcc: spy@evil.it"}}, environ={})


@pytest.mark.parametrize(("raw", "message"), [
    ({"http": {"timeout": float("inf")}}, "http.timeout"),
    ({"http": {"timeout": float("nan")}}, "http.timeout"),
    ({"http": {"timeout": 1e9}}, "http.timeout"),
    ({"mail": {"smtp_timeout": float("inf")}}, "mail.smtp_timeout"),
    ({"http": {"min_delay": 1e6}}, "http.min_delay"),
    ({"digest": {"closing_soon_days": 10**9}}, "digest.closing_soon_days"),
])
def test_absurd_numbers_are_config_errors_naming_the_key(raw: dict[str, dict[str, float]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings(raw, environ={})


def test_a_short_configured_signing_key_is_refused_without_printing_it() -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings({"web": {"signing_key": "s3cret-but-short"}}, environ={})
    assert "web.signing_key" in str(err.value) and "32" in str(err.value)
    assert "s3cret" not in str(err.value)


def test_an_empty_or_short_key_file_is_refused_in_one_line_never_replaced(tmp_path: Path) -> None:
    from calltracker.bootstrap import signing_key

    settings = parse_settings({"data_dir": str(tmp_path)}, environ={})
    for content in ("", "short\n"):
        (tmp_path / "signing.key").write_text(content, encoding="utf-8")
        with pytest.raises(ConfigError, match="at least 32 are needed") as err:
            signing_key(settings)
        assert "\n" not in str(err.value)
        assert (tmp_path / "signing.key").read_text(encoding="utf-8") == content


def test_a_new_key_file_is_written_whole_and_private_with_no_temporary_left(tmp_path: Path) -> None:
    from calltracker.bootstrap import signing_key

    settings = parse_settings({"data_dir": str(tmp_path / "data")}, environ={})
    key = signing_key(settings)
    path = tmp_path / "data" / "signing.key"
    assert path.read_text(encoding="utf-8") == key + "\n" and len(key) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["signing.key"]
    assert signing_key(settings) == key


def test_members_sharing_a_digest_body_each_get_their_own_name_address_and_links(
        store: Store, tmp_path: Path, sink: SmtpSink) -> None:
    """Bodies are rendered once per distinct content and filled in per member: nothing leaks across."""
    from calltracker.tokens import read_token

    store_fixture_calls(store, NOW - timedelta(days=2))
    rows = [("anna@example.it", "Anna <b>&</b> Co"), ("bruno@example.it", ""), ("carla@example.it", "Carla")]
    store.import_members("LAC", [MemberInput(email=e, name=n, organisation="", region=None, language="it",
                                             themes=()) for e, n in rows], NOW)
    app = make_app(store, tmp_path, sink.port)
    assert send_digests(app, period="2026-W48").sent == 3
    for msg in sink.handler.parsed():
        addr = msg["To"].addresses[0].addr_spec
        member = store.member(addr)
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "\ue000" not in text + html + str(msg["Subject"])
        assert addr in html
        links = [u for u in text.split() if u.startswith("https://bandi.example.org/u/")]
        assert len(links) == 1
        assert read_token("k" * 40, "unsubscribe", links[0].rsplit("/", 1)[1], NOW).member_id == member.id
        if member.name == "Anna <b>&</b> Co":
            assert "Buongiorno Anna & Co," in text and "Buongiorno Anna &amp; Co," in html
        elif not member.name:
            assert "Buongiorno," in text
        else:
            assert "Buongiorno Carla," in text and "Buongiorno Carla," in html


def test_a_digest_sent_in_a_batch_is_byte_for_byte_the_one_previewed(
        store: Store, tmp_path: Path, sink: SmtpSink) -> None:
    """The batch fills a body shared by alike members; a preview builds each message whole: same bytes."""
    store_fixture_calls(store, NOW - timedelta(days=2))
    rows = [("anna@example.it", "Anna <b>&</b> Co", "it"), ("bruno@example.it", "", "it"),
            ("carla@example.it", "Carla", "it"), ("nicco@example.it", "Niccolò Rossi-Bianchi", "it"),
            ("dana@example.it", "Dana", "en"), ("emil@example.it", "Émile", "en")]
    store.import_members("LAC", [MemberInput(email=e, name=n, organisation="", region=None, language=lang,
                                             themes=()) for e, n, lang in rows], NOW)
    app = make_app(store, tmp_path, sink.port)
    previews = {e: preview_digest(app, e, period="2026-W48").composed.data for e, _, _ in rows}
    assert send_digests(app, period="2026-W48").sent == len(rows)
    sent = {msg["To"].addresses[0].addr_spec: raw for msg, raw in zip(sink.handler.parsed(), sink.handler.messages,
                                                                      strict=True)}
    assert set(sent) == set(previews)
    for addr, data in previews.items():
        assert same_boundaries(sent[addr].replace(b"\r\n", b"\n")) == same_boundaries(data.replace(b"\r\n", b"\n"))
