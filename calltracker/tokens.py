"""Signed, unguessable tokens for member links (unsubscribe, preferences, feeds). Pure: stdlib only.

A token names its purpose and member and carries the member's `token_version`, so bumping the version
revokes every link issued before. It is `base64url(payload).base64url(hmac-sha256)`; the MAC covers the
purpose, so an unsubscribe token cannot be replayed as a preferences token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime


class TokenError(ValueError):
    """The token is malformed, forged, for another purpose, or expired."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    purpose: str
    member_id: int
    version: int
    issued_at: int
    #: What the link is about beyond the member (the call of an interest link), when it names one.
    subject: int | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, purpose: str, payload: str) -> str:
    digest = hmac.digest(key.encode(), f"{purpose}\n{payload}".encode(), hashlib.sha256)
    return _b64(digest[:20])


def make_token(key: str, purpose: str, member_id: int, version: int, now: datetime,
               subject: int | None = None) -> str:
    """A token for `purpose` ("unsubscribe", "prefs", "feed"...) bound to one member and version; `subject`
    also binds it to one thing, such as the call of an "interest" link."""
    if not key:
        raise ValueError("no signing key")
    fields = [member_id, version, int(now.timestamp())] + ([subject] if subject is not None else [])
    # The compact JSON array of the fields; for plain ints (a digest signs ten links per member) without json.
    text = ("[" + ",".join(map(str, fields)) + "]" if all(type(f) is int for f in fields)
            else json.dumps(fields, separators=(",", ":")))
    payload = _b64(text.encode())
    return f"{payload}.{_mac(key, purpose, payload)}"


def read_token(key: str, purpose: str, token: str, now: datetime, max_age_days: int | None = None) -> TokenClaims:
    """Verify a token and return its claims; raises TokenError for anything but a valid, current token."""
    payload, sep, mac = token.partition(".")
    if not sep or not payload or not mac or not token.isascii():  # compare_digest refuses non-ASCII text
        raise TokenError("malformed token")
    if not hmac.compare_digest(mac, _mac(key, purpose, payload)):
        raise TokenError("bad signature")
    try:
        member_id, version, issued_at, *rest = json.loads(_unb64(payload))
        subject = int(rest[0]) if len(rest) == 1 else None
        if len(rest) > 1:
            raise ValueError("too many fields")
        claims = TokenClaims(purpose, int(member_id), int(version), int(issued_at), subject)
    except (ValueError, TypeError) as exc:
        raise TokenError("malformed token") from exc
    if max_age_days is not None and now.timestamp() - claims.issued_at > max_age_days * 86400:
        raise TokenError("expired token")
    return claims
