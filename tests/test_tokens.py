from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calltracker.tokens import TokenError, make_token, read_token

NOW = datetime(2026, 11, 25, tzinfo=UTC)
KEY = "k" * 32


def test_round_trip_binds_member_and_version() -> None:
    token = make_token(KEY, "unsubscribe", 42, 3, NOW)
    claims = read_token(KEY, "unsubscribe", token, NOW)
    assert (claims.member_id, claims.version) == (42, 3)


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: "x" + t,
    lambda t: t.split(".")[0],
    lambda t: "",
])
def test_tampered_tokens_are_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TokenError):
        read_token(KEY, "unsubscribe", mangle(make_token(KEY, "unsubscribe", 42, 1, NOW)), NOW)


def test_a_token_for_one_purpose_or_key_does_not_open_another() -> None:
    token = make_token(KEY, "unsubscribe", 42, 1, NOW)
    with pytest.raises(TokenError):
        read_token(KEY, "prefs", token, NOW)
    with pytest.raises(TokenError):
        read_token("other" * 8, "unsubscribe", token, NOW)


def test_expiry_is_enforced_when_asked() -> None:
    token = make_token(KEY, "prefs", 1, 1, NOW)
    read_token(KEY, "prefs", token, NOW + timedelta(days=89), max_age_days=90)
    with pytest.raises(TokenError, match="expired"):
        read_token(KEY, "prefs", token, NOW + timedelta(days=91), max_age_days=90)


def test_signing_key_is_generated_once_and_kept(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from calltracker.bootstrap import signing_key
    from calltracker.config import parse_settings

    settings = parse_settings({"data_dir": str(tmp_path)}, environ={})
    first = signing_key(settings)
    assert len(first) >= 40 and signing_key(settings) == first
    assert (tmp_path / "signing.key").stat().st_mode & 0o077 == 0
    configured = parse_settings({"data_dir": str(tmp_path)}, environ={"CALLTRACKER_SIGNING_KEY": "x" * 32})
    assert signing_key(configured) == "x" * 32


@pytest.mark.parametrize("subject", [None, 0, 123456789])
@pytest.mark.parametrize("member_id", [1, 987654321, True])
def test_a_token_is_base64url_of_the_compact_json_fields_then_the_truncated_mac(
        member_id: int, subject: int | None) -> None:
    import base64
    import hashlib
    import hmac
    import json
    from datetime import UTC, datetime

    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    fields = [member_id, 3, int(now.timestamp())] + ([subject] if subject is not None else [])

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    payload = b64(json.dumps(fields, separators=(",", ":")).encode())
    mac = b64(hmac.new(b"k" * 32, f"interest\n{payload}".encode(), hashlib.sha256).digest()[:20])
    assert make_token("k" * 32, "interest", member_id, 3, now, subject=subject) == f"{payload}.{mac}"
