"""Employees' passwords: the policy a new password must meet, and how it is hashed.

Argon2id through argon2-cffi's `PasswordHasher`, whose defaults follow RFC 9106's
recommendation; when those defaults change in a later release, a stored hash is renewed at the
next successful login (`needs_rehash`). The policy is length, not composition rules (NIST SP
800-63B): long passphrases are strong and easy to type, an upper bound keeps hashing cheap.
"""

from __future__ import annotations

import secrets
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


class PasswordRejected(ValueError):
    """A new password does not meet the policy; the message is Dutch, for the employee."""


def password_problem(password: str, username: str) -> str | None:
    """Why `password` cannot be used by `username` (Dutch), or None when it can."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Het wachtwoord moet minstens {MIN_PASSWORD_LENGTH} tekens lang zijn."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Het wachtwoord mag hoogstens {MAX_PASSWORD_LENGTH} tekens lang zijn."
    if not password.strip():
        return "Het wachtwoord mag niet alleen uit spaties bestaan."
    if _folded(password) == _folded(username):
        return "Het wachtwoord mag niet gelijk zijn aan de gebruikersnaam."
    return None


def check_password(password: str, username: str) -> None:
    """Raise PasswordRejected when `password` does not meet the policy."""
    problem = password_problem(password, username)
    if problem is not None:
        raise PasswordRejected(problem)


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


class Passwords:
    """Hashing and checking with one `PasswordHasher` (tests pass a cheap one)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def matches(self, stored_hash: str, password: str) -> bool:
        """Whether `password` is the one `stored_hash` was made from (False for a damaged
        hash too: such an account cannot log in until it gets a new password)."""
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return False

    def waste_time(self, password: str) -> None:
        """Check `password` against a hash no password matches, so that an unknown username
        or a locked account costs as much time as a wrong password: the answer's timing does
        not tell which usernames exist."""
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_urlsafe(24))
        self.matches(self._dummy, password)
