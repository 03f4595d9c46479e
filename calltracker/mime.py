"""Pure: a finished message's bytes, written in one pass instead of through `email.message.EmailMessage`.

The email package parses every header it is handed and serialises each part again when the message is
flattened: about 6 ms for a digest, more than rendering it. Our messages have one fixed shape (headers;
a text and an HTML alternative; optionally one attachment), so this module writes exactly that:

    multipart/mixed                      (only with an attachment)
      multipart/alternative
        text/plain; charset="utf-8"      8bit, or base64 when a line is too long for SMTP
        text/html; charset="utf-8"       likewise
      <attachment>                       likewise; Content-Disposition: attachment

Headers are written as they are when they are printable ASCII, folded at spaces when long; anything else
(a Subject with "novità") goes through the email package's own folding (RFC 2047 encoded words).
`HeaderLines` remembers the lines that repeat across a batch. Parsing the result back with the email
package gives the same message as before; tests do exactly that.
"""

from __future__ import annotations

import base64
import email.policy
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

#: SMTP allows 998 octets per line; keep a margin.
LINE_LIMIT = 990
_FOLD_AT = 78
_POLICY = email.policy.SMTP


def crlf(text: str) -> str:
    """Every line ending as CRLF, as SMTP wants it on the wire (and in what we store to send later)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


def fold_header(name: str, value: str) -> bytes:
    """One header as wire bytes ending in CRLF, folded to 78 characters where there is a space to fold at."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name} contains a line break")
    if not (value.isascii() and value.isprintable()) or max(map(len, value.split(" "))) > LINE_LIMIT - 80:
        folded: str = _POLICY.header_factory(name, value).fold(policy=_POLICY)
        return folded.encode("ascii")
    line = f"{name}: {value}"
    if len(line) <= _FOLD_AT:
        return (line + "\r\n").encode("ascii")
    lines: list[str] = []
    current = f"{name}:"
    for word in value.split(" "):
        if not word:
            continue
        if len(current) + 1 + len(word) > _FOLD_AT and current.strip() and not current.endswith(":"):
            lines.append(current)
            current = ""
        current += " " + word
    lines.append(current)
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


class HeaderLines:
    """Folded header lines, remembered for values that repeat across a batch (From, Date, Subject...)."""

    def __init__(self) -> None:
        self._lines: dict[tuple[str, str], bytes] = {}

    def line(self, name: str, value: str) -> bytes:
        key = (name, value)
        found = self._lines.get(key)
        if found is None:
            found = self._lines[key] = fold_header(name, value)
        return found


@dataclass(frozen=True, slots=True)
class Attachment:
    content: bytes
    content_type: str  # "text/calendar; charset=\"utf-8\""
    filename: str


def _leaf(content_type: str, body: bytes, extra: bytes = b"", longest: int | None = None) -> bytes:
    """A single part: CTE chosen from the body (`body` is UTF-8 text with CRLF line endings) by its longest
    line (`longest`, when the caller knows it)."""
    if longest is None:
        longest = max(map(len, body.split(b"\r\n")))
    if longest <= LINE_LIMIT:
        cte, payload = b"8bit", body if body.endswith(b"\r\n") else body + b"\r\n"
    else:
        cte, payload = b"base64", base64.encodebytes(body).replace(b"\n", b"\r\n")
    return (b"Content-Type: " + content_type.encode("ascii") + b"\r\nContent-Transfer-Encoding: " + cte + b"\r\n"
            + extra + b"\r\n" + payload)


def _boundary(parts: Iterable[bytes]) -> bytes:
    # "=" never appears in base64 lines and the random part makes a clash with 8bit text all but impossible;
    # check anyway, as the email package does.
    while True:
        boundary = b"==_" + secrets.token_hex(12).encode("ascii") + b"_=="
        if not any(boundary in p for p in parts):
            return boundary


def _multipart(subtype: str, parts: Sequence[bytes], extra: bytes = b"", boundary: bytes | None = None) -> bytes:
    boundary = boundary or _boundary(parts)
    out = [b"Content-Type: multipart/", subtype.encode("ascii"), b'; boundary="', boundary, b'"\r\n', extra, b"\r\n"]
    for part in parts:
        out += [b"--", boundary, b"\r\n", part, b"\r\n"]
    out += [b"--", boundary, b"--\r\n"]
    return b"".join(out)


def with_headers(headers: Sequence[bytes], body: bytes) -> bytes:
    """A whole message from folded header lines and a `BodyTemplate.fill` body."""
    return b"".join(headers) + b"MIME-Version: 1.0\r\n" + body


def message_bytes(headers: Sequence[bytes], text: str, html: str, attachment: Attachment | None = None) -> bytes:
    """The whole message: `headers` (folded lines from `fold_header`), the two alternatives, the attachment."""
    alternatives = [_leaf('text/plain; charset="utf-8"', crlf(text).encode("utf-8")),
                    _leaf('text/html; charset="utf-8"', crlf(html).encode("utf-8"))]
    head = with_headers(headers, b"")
    if attachment is None:
        return head + _multipart("alternative", alternatives)
    return head + _multipart("mixed", [_multipart("alternative", alternatives), _attachment_part(attachment)])


def _attachment_part(attachment: Attachment) -> bytes:
    disposition = fold_header("Content-Disposition", f'attachment; filename="{attachment.filename}"')
    return _leaf(attachment.content_type, attachment.content.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
                 disposition)


#: A stand-in for what differs between messages sharing a body: `\ue000name\ue000`, as UTF-8 bytes.
_STAND_IN = re.compile(rb"\xee\x80\x80([0-9a-z]+)\xee\x80\x80")


class BodyTemplate:
    """The body of messages that differ only in stand-ins (`\\ue000<slot>\\ue000`, slot: lowercase letters
    and digits): written once, then filled per message by joining bytes, giving what `message_bytes` gives
    for the filled-in text and HTML (the same bytes but for the random boundaries).

    `fill` returns None when the values do not fit the shared shape (a line break, or a value that makes
    a boundary): the caller then builds that message with `message_bytes`. Each part still chooses its own
    transfer encoding from the filled-in lines.
    """

    def __init__(self, text: str, html: str, attachment: Attachment | None = None) -> None:
        self._text = _STAND_IN.split(crlf(text).encode("utf-8"))
        self._html = _STAND_IN.split(crlf(html).encode("utf-8"))
        self._files = _attachment_part(attachment) if attachment is not None else None
        self._text_lines, self._html_lines = self._lines(self._text), self._lines(self._html)
        literals = [*self._text[::2], *self._html[::2], self._files or b""]
        self._alternative = _boundary(literals)
        self._mixed = _boundary([*literals, self._alternative])
        #: The slots the body uses (a caller computes only these values).
        self.slots = frozenset(s.decode("ascii") for s in (*self._text[1::2], *self._html[1::2]))

    @staticmethod
    def _lines(segments: Sequence[bytes]) -> tuple[int, list[tuple[int, list[bytes]]]]:
        """The longest line without a slot, and (length without its slots, slots) of each line with one:
        a filled part's longest line is known without splitting it."""
        lines: list[tuple[int, list[bytes]]] = []
        length, slots = 0, []
        for i, segment in enumerate(segments):
            if i % 2:
                slots.append(segment)
                continue
            pieces = segment.split(b"\r\n")
            length += len(pieces[0])
            for piece in pieces[1:]:
                lines.append((length, slots))
                length, slots = len(piece), []
        lines.append((length, slots))
        return max((n for n, s in lines if not s), default=0), [(n, s) for n, s in lines if s]

    @staticmethod
    def _longest(lines: tuple[int, list[tuple[int, list[bytes]]]], values: Mapping[bytes, bytes]) -> int:
        fixed, slotted = lines
        return max([fixed, *(n + sum(len(values.get(s, s)) + (0 if s in values else 6) for s in slots)
                             for n, slots in slotted)])

    @staticmethod
    def _join(segments: Sequence[bytes], values: Mapping[bytes, bytes]) -> bytes:
        out = list(segments)
        for i in range(1, len(out), 2):
            # A slot without a value (scraped text that happens to look like one) stays as it was.
            out[i] = values.get(out[i], b"\xee\x80\x80" + out[i] + b"\xee\x80\x80")
        return b"".join(out)

    def fill(self, text: Mapping[str, str], html: Mapping[str, str]) -> bytes | None:
        """The body with `text` values in the plain part and `html` values (already escaped) in the HTML."""
        values = [*text.values(), *html.values()]
        if any("\r" in v or "\n" in v for v in values):
            return None
        text_values = {k.encode("ascii"): v.encode("utf-8") for k, v in text.items()}
        html_values = {k.encode("ascii"): v.encode("utf-8") for k, v in html.items()}
        plain, markup = self._join(self._text, text_values), self._join(self._html, html_values)
        if any(b in body for b in (self._alternative, self._mixed) for body in (plain, markup)):
            return None
        alternative = _multipart("alternative", [
            _leaf('text/plain; charset="utf-8"', plain, longest=self._longest(self._text_lines, text_values)),
            _leaf('text/html; charset="utf-8"', markup, longest=self._longest(self._html_lines, html_values))],
            boundary=self._alternative)
        if self._files is None:
            return alternative
        return _multipart("mixed", [alternative, self._files], boundary=self._mixed)
