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
import secrets
from collections.abc import Iterable, Sequence
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


def _leaf(content_type: str, body: bytes, extra: bytes = b"") -> bytes:
    """A single part: CTE chosen from the body (`body` is UTF-8 text with CRLF line endings)."""
    if max(map(len, body.split(b"\r\n"))) <= LINE_LIMIT:
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


def _multipart(subtype: str, parts: Sequence[bytes], extra: bytes = b"") -> bytes:
    boundary = _boundary(parts)
    out = [b"Content-Type: multipart/", subtype.encode("ascii"), b'; boundary="', boundary, b'"\r\n', extra, b"\r\n"]
    for part in parts:
        out += [b"--", boundary, b"\r\n", part, b"\r\n"]
    out += [b"--", boundary, b"--\r\n"]
    return b"".join(out)


def message_bytes(headers: Sequence[bytes], text: str, html: str, attachment: Attachment | None = None) -> bytes:
    """The whole message: `headers` (folded lines from `fold_header`), the two alternatives, the attachment."""
    alternatives = [_leaf('text/plain; charset="utf-8"', crlf(text).encode("utf-8")),
                    _leaf('text/html; charset="utf-8"', crlf(html).encode("utf-8"))]
    head = b"".join(headers) + b"MIME-Version: 1.0\r\n"
    if attachment is None:
        return head + _multipart("alternative", alternatives)
    disposition = fold_header("Content-Disposition", f'attachment; filename="{attachment.filename}"')
    files = _leaf(attachment.content_type, attachment.content.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
                  disposition)
    return head + _multipart("mixed", [_multipart("alternative", alternatives), files])
