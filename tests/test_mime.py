"""Messages written in one pass read back with the email package as the parts and headers we meant."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage

import pytest

from calltracker.mime import (
    LINE_LIMIT,
    Attachment,
    BodyTemplate,
    HeaderLines,
    fold_header,
    message_bytes,
    with_headers,
)

ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nSUMMARY:Scadenza: Droni \xc3\xa0 Genova\r\nEND:VCALENDAR\r\n"


def parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def unix(text: str) -> str:
    return text.replace("\r\n", "\n")


def headers(*pairs: tuple[str, str]) -> list[bytes]:
    return [fold_header(name, value) for name, value in pairs]


def test_parts_headers_and_attachment_read_back_unchanged() -> None:
    text = "Buongiorno Giulia,\nci sono 2 novità.\n"
    html = "<p>Buongiorno <b>Giulia</b>,</p>\n<p>ci sono 2 novità.</p>\n"
    data = message_bytes(headers(("Subject", "Bandi aerospazio: 2 novità per te"),
                                 ("To", "=?utf-8?b?TmljY29sw7I=?= <n@example.it>"), ("Message-ID", "<d.1@x.it>")),
                         text, html, Attachment(ICS, 'text/calendar; charset="utf-8"', "scadenze.ics"))
    msg = parse(data)
    assert msg["Subject"] == "Bandi aerospazio: 2 novità per te"
    assert msg["To"].addresses[0].display_name == "Niccolò"
    assert msg["Message-ID"] == "<d.1@x.it>"
    assert msg.get_content_type() == "multipart/mixed"
    plain, rich = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None and rich is not None
    assert unix(plain.get_content()) == text and unix(rich.get_content()) == html
    assert plain["Content-Transfer-Encoding"] == "8bit"
    (ics,) = list(msg.iter_attachments())
    assert ics.get_filename() == "scadenze.ics" and ics.get_content_type() == "text/calendar"
    assert "Droni à Genova" in ics.get_content()
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF only, as SMTP wants


def test_without_attachment_the_message_is_just_the_alternatives() -> None:
    msg = parse(message_bytes(headers(("Subject", "x")), "a\n", "<p>a</p>\n"))
    assert msg.get_content_type() == "multipart/alternative"
    assert list(msg.iter_attachments()) == []


def test_a_line_too_long_for_smtp_goes_base64_and_survives() -> None:
    html = "<p>" + "x" * (LINE_LIMIT + 10) + "</p>\n"
    data = message_bytes(headers(("Subject", "x")), "short\n", html)
    assert max(len(line) for line in data.split(b"\r\n")) <= 78
    rich = parse(data).get_body(("html",))
    assert rich is not None and rich["Content-Transfer-Encoding"] == "base64" and unix(rich.get_content()) == html


def test_long_ascii_headers_fold_at_spaces_and_stay_readable() -> None:
    url = "https://bandi.example.org/u/" + "A" * 60
    line = fold_header("List-Unsubscribe", f"<{url}>, <mailto:bandi@example.it?subject=unsubscribe>")
    assert line == (f"List-Unsubscribe: <{url}>,\r\n <mailto:bandi@example.it?subject=unsubscribe>\r\n").encode()
    assert parse(line + b"\r\n")["List-Unsubscribe"] == f"<{url}>, <mailto:bandi@example.it?subject=unsubscribe>"


def test_a_word_too_long_for_one_line_is_left_to_the_email_package() -> None:
    line = fold_header("X-Token", "t" * 2000)
    assert max(len(x) for x in line.split(b"\r\n")) <= 998
    assert str(parse(line + b"\r\n")["X-Token"]).replace(" ", "") == "t" * 2000


def test_a_header_value_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        fold_header("Subject", "hi\r\nBcc: everyone@example.com")


def test_header_lines_are_folded_once_per_value() -> None:
    lines = HeaderLines()
    first = lines.line("Subject", "Bandi: 3 novità")
    assert lines.line("Subject", "Bandi: 3 novità") is first
    assert first.startswith(b"Subject: ") and first.isascii()


def same_boundaries(data: bytes) -> bytes:
    """The message with its random boundaries numbered in order of appearance."""
    found: dict[bytes, bytes] = {}
    return re.sub(rb"==_[0-9a-f]{24}_==", lambda m: found.setdefault(m.group(0), b"B%d" % len(found)), data)


TEXT = "Buongiorno \ue000name\ue000,\nnovità per \ue000email\ue000: \ue000interest7\ue000\n"
HTML = "<p>Buongiorno \ue000name\ue000,</p>\n<a href=\"\ue000interest7\ue000\">\ue000other\ue000</a>\n"


@pytest.mark.parametrize("attachment", [Attachment(ICS, 'text/calendar; charset="utf-8"', "scadenze.ics"), None])
@pytest.mark.parametrize(("name", "link"), [
    ("Niccolò", "https://bandi.example.org/i/abc"),
    ("", "https://bandi.example.org/i/abc"),
    ("Anna", "https://bandi.example.org/i/" + "x" * LINE_LIMIT),  # the filled line is too long: base64
])
def test_a_filled_body_template_is_the_message_written_in_one_pass(
        attachment: Attachment | None, name: str, link: str) -> None:
    head = headers(("Subject", "x"), ("Message-ID", "<d.1@x.it>"))
    text = {"name": name, "email": "n@example.it", "interest7": link}
    markup = {"name": name, "email": "n@example.it", "interest7": link.replace("/", "&#x2F;")}
    body = BodyTemplate(TEXT, HTML, attachment).fill(text, markup)
    assert body is not None

    def filled(template: str, values: dict[str, str]) -> str:
        for k, v in values.items():
            template = template.replace(f"\ue000{k}\ue000", v)
        return template

    expected = message_bytes(head, filled(TEXT, text), filled(HTML, markup), attachment)
    assert same_boundaries(with_headers(head, body)) == same_boundaries(expected)
    assert "\ue000other\ue000" in parse(expected).get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_a_value_that_does_not_fit_the_shared_body_is_left_to_the_caller() -> None:
    template = BodyTemplate(TEXT, HTML)
    assert template.slots == {"name", "email", "interest7", "other"}
    assert template.fill({"name": "A\nBcc: x@example.it"}, {}) is None
    boundary = re.search(rb"==_[0-9a-f]{24}_==", template.fill({"name": "A"}, {}) or b"")
    assert boundary is not None
    assert template.fill({"name": boundary.group(0).decode()}, {}) is None


@pytest.mark.parametrize("template", [
    "\ue000a\ue000", "x\ue000a\ue000y\ue000b\ue000\r\n\r\nzz\ue000a\ue000\r\n", "long line " * 20 + "\r\n\ue000b\ue000",
    "\ue000a\ue000\r\n\ue000missing\ue000 and \ue000b\ue000\r\n",
])
@pytest.mark.parametrize("a", ["", "Niccolò", "y" * (LINE_LIMIT - 1)])
def test_the_longest_filled_line_is_known_without_splitting_the_part(template: str, a: str) -> None:
    values = {b"a": a.encode(), b"b": b"https://bandi.example.org/u/abc"}
    segments = re.split(rb"\xee\x80\x80([0-9a-z]+)\xee\x80\x80", template.encode())
    filled = BodyTemplate._join(segments, values)
    assert BodyTemplate._longest(BodyTemplate._lines(segments), values) == max(map(len, filled.split(b"\r\n")))
