"""Staff accounts, their sessions and the failed logins the rate limit counts.

Passwords arrive here already hashed (argon2, see calltracker.staff_auth); a session is stored as the
SHA-256 of its cookie's secret, so a copy of the database does not sign anyone in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update

from calltracker.errors import InputError
from calltracker.storage.base import Repo
from calltracker.storage.schema import LoginAttemptRow, StaffAccountRow, StaffSessionRow


@dataclass(frozen=True, slots=True)
class StaffAccount:
    id: int
    email: str
    password_hash: str
    active: bool


@dataclass(frozen=True, slots=True)
class StaffSession:
    staff_id: int
    email: str
    csrf: str
    expires_at: datetime


class StaffRepo(Repo):
    def save_staff_account(self, email: str, password_hash: str, now: datetime) -> bool:
        """Create a staff account, or set a new password on an existing one. True when created.

        A new password also signs the account out everywhere.
        """
        email = email.strip().lower()
        if not email or "@" not in email:
            raise InputError(f'not an email address: "{email}"')
        with self._tx() as conn:
            found = conn.scalar(select(StaffAccountRow.id).where(StaffAccountRow.email == email))
            if found is None:
                conn.execute(insert(StaffAccountRow).values(email=email, password_hash=password_hash, active=True,
                                                            created_at=now, updated_at=now))
                return True
            conn.execute(update(StaffAccountRow).where(StaffAccountRow.id == found)
                         .values(password_hash=password_hash, active=True, updated_at=now))
            conn.execute(delete(StaffSessionRow).where(StaffSessionRow.staff_id == found))
            return False

    def staff_account(self, email: str) -> StaffAccount | None:
        stmt = (select(StaffAccountRow.id, StaffAccountRow.email, StaffAccountRow.password_hash,
                       StaffAccountRow.active).where(StaffAccountRow.email == email.strip().lower()))
        with self._tx() as conn:
            r = conn.execute(stmt).first()
        return None if r is None else StaffAccount(r.id, r.email, r.password_hash, r.active)

    def staff_emails(self) -> list[str]:
        with self._tx() as conn:
            return list(conn.scalars(select(StaffAccountRow.email).where(StaffAccountRow.active.is_(True))
                                     .order_by(StaffAccountRow.email)))

    def set_staff_password_hash(self, staff_id: int, password_hash: str, now: datetime) -> None:
        """Store a re-hashed password (argon2 parameters changed); sessions stay."""
        with self._tx() as conn:
            conn.execute(update(StaffAccountRow).where(StaffAccountRow.id == staff_id)
                         .values(password_hash=password_hash, updated_at=now))

    def add_staff_session(self, staff_id: int, secret_hash: str, csrf: str, now: datetime,
                          expires_at: datetime) -> None:
        with self._tx() as conn:
            conn.execute(delete(StaffSessionRow).where(StaffSessionRow.expires_at < now))
            conn.execute(insert(StaffSessionRow).values(secret_hash=secret_hash, staff_id=staff_id, csrf=csrf,
                                                        created_at=now, expires_at=expires_at))

    def staff_session(self, secret_hash: str, now: datetime) -> StaffSession | None:
        """The live session of an active account with this secret, else None."""
        stmt = (select(StaffSessionRow.staff_id, StaffSessionRow.csrf, StaffSessionRow.expires_at,
                       StaffAccountRow.email)
                .join(StaffAccountRow, StaffAccountRow.id == StaffSessionRow.staff_id)
                .where(StaffSessionRow.secret_hash == secret_hash, StaffSessionRow.expires_at > now,
                       StaffAccountRow.active.is_(True)))
        with self._tx() as conn:
            r = conn.execute(stmt).first()
        return None if r is None else StaffSession(r.staff_id, r.email, r.csrf, r.expires_at)

    def drop_staff_session(self, secret_hash: str) -> None:
        with self._tx() as conn:
            conn.execute(delete(StaffSessionRow).where(StaffSessionRow.secret_hash == secret_hash))

    def add_login_failure(self, keys: list[str], now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(insert(LoginAttemptRow), [{"key": k[:330], "at": now} for k in keys])

    def login_failures(self, key: str, since: datetime) -> int:
        with self._tx() as conn:
            return int(conn.scalar(select(func.count()).select_from(LoginAttemptRow).where(
                LoginAttemptRow.key == key[:330], LoginAttemptRow.at >= since)) or 0)

    def clear_login_failures(self, key: str, before: datetime | None = None) -> None:
        """Forget an account's failures after a good login; with `before`, forget old ones of every key."""
        with self._tx() as conn:
            stmt = delete(LoginAttemptRow).where(LoginAttemptRow.key == key[:330])
            conn.execute(stmt)
            if before is not None:
                conn.execute(delete(LoginAttemptRow).where(LoginAttemptRow.at < before))
