"""Staff passwords (argon2id through argon2-cffi, a maintained library) and session secrets."""

from __future__ import annotations

import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from calltracker.errors import InputError

_HASHER = PasswordHasher()
MIN_PASSWORD = 12


@functools.cache
def _dummy_hash() -> str:
    """Verified against when an unknown account tries to sign in, so both cases take as long."""
    return _HASHER.hash("calltracker-no-such-account")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password must have at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; an unknown account (None) costs the same time and is False."""
    try:
        return _HASHER.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """What the database keeps of a session cookie's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()
