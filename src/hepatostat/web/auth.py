"""Accounts, login sessions, CSRF tokens and roles of the workbench.

- Passwords are hashed with Argon2id (memory-hard; RFC 9106) through
  ``argon2-cffi``; only the hash is stored (table ``web_users``).
- A login creates a session: a random 256-bit token in an ``HttpOnly``,
  ``SameSite=Strict`` cookie; the database keeps only its SHA-256, so a copy
  of the project file does not let anyone log in. Sessions end after 12 hours
  idle or 7 days.
- Every session has its own CSRF token: forms carry it in a hidden field
  ``csrf_token``, JSON requests in the header ``X-CSRF-Token``; unsafe
  requests are also refused unless their ``Origin`` (or ``Referer``) is the
  workbench itself.
- Roles, each including the ones before it: ``reviewer`` (screens),
  ``adjudicator`` (also settles conflicts), ``owner`` (also manages accounts,
  imports records, sees every decision's history).

References
----------
.. [1] Biryukov A, Dinu D, Khovratovich D, Josefsson S (2021). Argon2
   Memory-Hard Function for Password Hashing and Proof-of-Work Applications.
   RFC 9106. doi:10.17487/RFC9106
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from ..errors import InputError

__all__ = ["ROLES", "User", "Accounts", "role_at_least", "make_hasher"]

ROLES = ("reviewer", "adjudicator", "owner")
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
MIN_PASSWORD = 8
SESSION_IDLE_S = 12 * 3600
SESSION_MAX_S = 7 * 24 * 3600


def role_at_least(role: str, needed: str) -> bool:
    """``True`` if ``role`` includes ``needed`` (owner ⊇ adjudicator ⊇ reviewer)."""
    return ROLES.index(role) >= ROLES.index(needed)


def make_hasher(fast: bool = False):
    """The Argon2id hasher: argon2-cffi's defaults (RFC 9106's second
    recommended option: t = 3, m = 64 MiB, p = 4), or with ``fast=True`` a
    cheap one for tests only."""
    from argon2 import PasswordHasher

    if fast:
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


@dataclass(frozen=True)
class User:
    username: str
    role: str
    csrf: str = ""

    def can(self, needed: str) -> bool:
        return role_at_least(self.role, needed)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Accounts and sessions in the project database (through a :class:`~.db.Store`)."""

    def __init__(self, store, hasher=None):
        self.store = store
        self.hasher = hasher or make_hasher()
        self._failures: dict[str, tuple[int, float]] = {}

    # ------------------------------------------------------------------ accounts
    def count(self) -> int:
        return int(self.store.query("SELECT count(*) FROM web_users WHERE active")[0][0])

    def list(self) -> list[dict]:
        rows = self.store.query("SELECT username, role, created_at, active FROM web_users ORDER BY username")
        return [{"username": u, "role": r, "created_at": c, "active": bool(a)} for u, r, c, a in rows]

    def get(self, username: str) -> User | None:
        rows = self.store.query("SELECT username, role FROM web_users WHERE username = ? AND active", [username])
        return User(rows[0][0], rows[0][1]) if rows else None

    def add(self, username: str, password: str, role: str) -> User:
        """Create an account; raises :class:`InputError` for a bad name, a
        short password, an unknown role or a name already taken."""
        username = str(username or "").strip()
        if not _USERNAME.match(username):
            raise InputError("a user name is 1-40 letters, digits, '.', '_' or '-', starting with a letter or digit",
                             column="username", value=username)
        if role not in ROLES:
            raise InputError(f"unknown role; allowed: {', '.join(ROLES)}", column="role", value=role)
        self.check_password(password)
        h = self.hasher.hash(password)
        from ..review.screening import _now

        with self.store.transaction() as con:
            if con.execute("SELECT 1 FROM web_users WHERE lower(username) = lower(?)", [username]).fetchall():
                raise InputError("this user name is taken", column="username", value=username)
            con.execute("INSERT INTO web_users VALUES (?, ?, ?, ?, TRUE)", [username, h, role, _now()])
        self.store.audit(username, "account_created", f"role={role}")
        return User(username, role)

    @staticmethod
    def check_password(password: str) -> None:
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise InputError(f"a password needs at least {MIN_PASSWORD} characters", column="password")
        if len(password) > 1024:
            raise InputError("a password has at most 1024 characters", column="password")

    def set_role(self, username: str, role: str) -> None:
        if role not in ROLES:
            raise InputError(f"unknown role; allowed: {', '.join(ROLES)}", column="role", value=role)
        with self.store.transaction() as con:
            con.execute("UPDATE web_users SET role = ? WHERE username = ?", [role, username])
        self.store.audit(username, "role_changed", f"role={role}")

    def set_password(self, username: str, password: str) -> None:
        self.check_password(password)
        h = self.hasher.hash(password)
        with self.store.transaction() as con:
            con.execute("UPDATE web_users SET password_hash = ? WHERE username = ?", [h, username])
            con.execute("DELETE FROM web_sessions WHERE username = ?", [username])
        self.store.audit(username, "password_changed")

    def deactivate(self, username: str) -> None:
        with self.store.transaction() as con:
            con.execute("UPDATE web_users SET active = FALSE WHERE username = ?", [username])
            con.execute("DELETE FROM web_sessions WHERE username = ?", [username])
        self.store.audit(username, "account_deactivated")

    def verify(self, username: str, password: str) -> User | None:
        """The user if the password is right (Argon2 verification), else
        ``None``. After 5 failures in a row a name is locked for a growing
        time (2, 4, 8 … up to 300 s)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        key = str(username).lower()
        n, until = self._failures.get(key, (0, 0.0))
        if time.monotonic() < until:
            return None
        rows = self.store.query("SELECT username, password_hash, role FROM web_users WHERE lower(username) = ? "
                                "AND active", [key])
        ok = False
        if rows:
            try:
                ok = self.hasher.verify(rows[0][1], password)
            except (VerificationError, InvalidHashError):
                ok = False
        else:  # same work for unknown names, so timing does not reveal which names exist
            try:
                self.hasher.verify(self._dummy_hash(), password)
            except (VerificationError, InvalidHashError):
                pass
        if not ok:
            n += 1
            self._failures[key] = (n, time.monotonic() + (min(300, 2 ** (n - 4)) if n >= 5 else 0))
            return None
        self._failures.pop(key, None)
        return User(rows[0][0], rows[0][2])

    def _dummy_hash(self) -> str:
        if not hasattr(self, "_dummy"):
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    # ------------------------------------------------------------------ sessions
    def open_session(self, user: User) -> str:
        """A new session for ``user``; returns the cookie token."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self.store.transaction() as con:
            con.execute("DELETE FROM web_sessions WHERE last_seen < ? OR created_at < ?",
                        [now - SESSION_IDLE_S, now - SESSION_MAX_S])
            con.execute("INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?)",
                        [_digest(token), user.username, secrets.token_urlsafe(32), now, now])
        self.store.audit(user.username, "login")
        return token

    def session_user(self, token: str | None) -> User | None:
        """The logged-in user of a session cookie, or ``None``."""
        if not token or len(token) > 200:
            return None
        now = time.time()
        rows = self.store.query(
            "SELECT s.username, u.role, s.csrf, s.created_at, s.last_seen FROM web_sessions s "
            "JOIN web_users u ON u.username = s.username WHERE s.token_hash = ? AND u.active", [_digest(token)])
        if not rows:
            return None
        username, role, csrf, created, seen = rows[0]
        if now - seen > SESSION_IDLE_S or now - created > SESSION_MAX_S:
            self.close_session(token)
            return None
        if now - seen > 300:  # at most one write per session every 5 minutes
            self.store.execute("UPDATE web_sessions SET last_seen = ? WHERE token_hash = ?", [now, _digest(token)])
        return User(username, role, csrf)

    def close_session(self, token: str | None) -> None:
        if token:
            self.store.execute("DELETE FROM web_sessions WHERE token_hash = ?", [_digest(token)])
