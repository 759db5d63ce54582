"""KCC employees' accounts in SQL: who they are, how they prove it, and when they are locked out.

Logging in is a two-step affair for accounts with an authenticator app (password, then code)
and one step for the rest. Guessing is bounded per account, across every console process, by
the database (`lockout.py`: every attempt counted before it is checked), and a completed login
resets the count. A correct password of an account with a second factor gives its attempt
back, so the codes tried after it are what counts (a stolen password alone buys five code
guesses per lock-out period, not more).

An unknown username is checked against a dummy hash, so it takes as long as a wrong password;
both get the same answer. The locked answer does differ (the employee must know to wait): it
tells an attacker that a username exists only after they tried it five times.

Passwords, codes, secrets and hashes are never logged and never leave this module: `Account`
carries none of them. Methods block (hashing costs tens of milliseconds and 64 MiB by design);
the web app runs them in a small thread pool.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from argon2 import PasswordHasher
from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import IntegrityError

from assistant.console import totp
from assistant.console.lockout import Lockout
from assistant.console.passwords import Passwords, check_password
from assistant.console.schema import MAX_DISPLAY_NAME_LENGTH, accounts
from assistant.handoff.store import aware
from assistant.handoff.store import now as utc_now
from assistant.sql import engine_for

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# As municipality files are named (assistant/content.py).
_MUNICIPALITY = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_NO_ACCOUNT = "-"  # an id no account has (ids are uuid4 hex)


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message is Dutch."""


class UsernameTaken(AccountError):
    pass


class UnknownAccount(AccountError):
    pass


@dataclass(frozen=True)
class Account:
    """An employee as the console knows them; without password, hash or secret."""

    id: str
    username: str
    display_name: str
    municipalities: tuple[str, ...]  # empty: every municipality
    is_admin: bool
    has_totp: bool
    failed_logins: int
    created_at: dt.datetime
    locked_until: dt.datetime | None = None
    last_login_at: dt.datetime | None = None

    def serves(self, municipality: str) -> bool:
        """Whether this employee takes conversations of `municipality`."""
        return not self.municipalities or municipality in self.municipalities

    def is_locked(self, at: dt.datetime) -> bool:
        return self.locked_until is not None and self.locked_until > at


class Outcome(str, Enum):
    LOGGED_IN = "logged_in"
    NEEDS_CODE = "needs_code"  # the password was right; now the authenticator app's code
    REJECTED = "rejected"  # wrong username, password or code: one answer for all three
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginResult:
    outcome: Outcome
    account: Account | None = None  # LOGGED_IN and NEEDS_CODE
    locked_until: dt.datetime | None = None  # LOCKED


def normalise_username(username: str) -> str:
    """Usernames compare without regard to case or surrounding spaces."""
    return (username or "").strip().lower()


def checked_username(username: str) -> str:
    """The username in its stored form; AccountError (Dutch) when it is not a valid one."""
    name = normalise_username(username)
    if not _USERNAME.match(name):
        raise AccountError(
            "Een gebruikersnaam heeft 2 tot 64 tekens: kleine letters, cijfers, punten, "
            "streepjes of liggende streepjes, en begint met een letter of cijfer."
        )
    return name


def checked_display_name(display_name: str) -> str:
    """The name residents see, spaces tidied; AccountError (Dutch) when unusable."""
    name = " ".join((display_name or "").split())
    if not name or len(name) > MAX_DISPLAY_NAME_LENGTH or not name.isprintable():
        raise AccountError(
            f"De naam die inwoners zien heeft 1 tot {MAX_DISPLAY_NAME_LENGTH} tekens."
        )
    return name


def _valid_municipalities(municipalities: Iterable[str]) -> tuple[str, ...]:
    ids = tuple(sorted({m.strip().lower() for m in municipalities}))
    for municipality in ids:
        if not _MUNICIPALITY.match(municipality):
            raise AccountError(f"{municipality!r} is geen geldige gemeentecode.")
    return ids


def _account(row: Row) -> Account:
    return Account(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        municipalities=tuple(m for m in row.municipalities.split(",") if m),
        is_admin=bool(row.is_admin),
        has_totp=row.totp_secret is not None,
        failed_logins=row.failed_logins,
        created_at=aware(row.created_at),  # type: ignore[arg-type]
        locked_until=aware(row.locked_until),
        last_login_at=aware(row.last_login_at),
    )


class AccountStore:
    def __init__(
        self,
        url_or_engine: str | Engine,
        *,
        clock: Clock = utc_now,
        max_failed_logins: int = 5,
        lockout: dt.timedelta = dt.timedelta(minutes=15),
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._engine = (
            engine_for(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        )
        self._clock = clock
        self._lockout = Lockout(
            self._engine, now=self.now, max_failed_logins=max_failed_logins, period=lockout
        )
        self._passwords = Passwords(hasher)

    @property
    def engine(self) -> Engine:
        return self._engine

    def now(self) -> dt.datetime:
        """The store's clock, in UTC (timestamps are compared in UTC in both databases)."""
        return self._clock().astimezone(dt.timezone.utc)

    # --- accounts ----------------------------------------------------------------------------

    def create(
        self,
        username: str,
        *,
        display_name: str,
        password: str,
        municipalities: Iterable[str] = (),
        is_admin: bool = False,
        totp_secret: str | None = None,
    ) -> Account:
        """A new account. AccountError (Dutch) for an invalid or taken username or name,
        PasswordRejected when the password does not meet the policy."""
        name = checked_username(username)
        row = {
            "id": uuid.uuid4().hex,
            "username": name,
            "display_name": checked_display_name(display_name),
            "municipalities": ",".join(_valid_municipalities(municipalities)),
            "is_admin": is_admin,
            "totp_secret": totp_secret,
            "failed_logins": 0,
            "created_at": self.now(),
        }
        check_password(password, name)
        if self.by_username(name) is not None:
            raise UsernameTaken(f"De gebruikersnaam {name!r} bestaat al.")
        row["password_hash"] = self._passwords.hash(password)
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(accounts).values(**row))
        except IntegrityError:  # created by someone else a moment ago
            raise UsernameTaken(f"De gebruikersnaam {name!r} bestaat al.") from None
        return self.get(row["id"])  # type: ignore[return-value]

    def get(self, account_id: str) -> Account | None:
        row = self._row(accounts.c.id == account_id)
        return _account(row) if row else None

    def by_username(self, username: str) -> Account | None:
        row = self._row(accounts.c.username == normalise_username(username))
        return _account(row) if row else None

    def all(self) -> list[Account]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(accounts).order_by(accounts.c.username)).all()
        return [_account(row) for row in rows]

    def set_password(self, username: str, password: str) -> Account:
        """Give the account a new password; it is unlocked too. UnknownAccount, or
        PasswordRejected when the password does not meet the policy."""
        account = self._existing(username)
        check_password(password, account.username)
        self._set(account.id, password_hash=self._passwords.hash(password))
        return self.unlock(account.username)

    def unlock(self, username: str) -> Account:
        """End a lock-out now and forget the failed attempts. UnknownAccount."""
        account = self._existing(username)
        self._set(account.id, failed_logins=0, locked_until=None)
        return self.get(account.id)  # type: ignore[return-value]

    # --- logging in --------------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> LoginResult:
        """The first step: username and password."""
        name = normalise_username(username)
        row = self._row(accounts.c.username == name) if _USERNAME.match(name) else None
        if row is None:
            # The statements of a wrong password, on no row: neither the hashing nor the
            # database's round trips tell which usernames exist.
            self._lockout.count_attempt(_NO_ACCOUNT)
            self._passwords.waste_time(password)
            log.info("console login refused: unknown username")
            return self._refused(_NO_ACCOUNT)
        if not self._lockout.count_attempt(row.id):
            self._passwords.waste_time(password)
            log.info("console login refused: account %s is locked", row.id)
            return self._locked(row.id)
        if not self._passwords.matches(row.password_hash, password):
            log.info("console login refused: wrong password for account %s", row.id)
            return self._refused(row.id)
        if self._passwords.needs_rehash(row.password_hash):
            self._set(row.id, password_hash=self._passwords.hash(password))
        if row.totp_secret is not None:
            self._lockout.give_back(row.id)
            return LoginResult(Outcome.NEEDS_CODE, self.get(row.id))
        return self._logged_in(row.id)

    def verify_code(self, account_id: str, code: str) -> LoginResult:
        """The second step: the authenticator app's code for the account whose password was
        right. A code is accepted once."""
        row = self._row(accounts.c.id == account_id)
        if row is None or row.totp_secret is None:
            return LoginResult(Outcome.REJECTED)
        if not self._lockout.count_attempt(row.id):
            log.info("console code refused: account %s is locked", row.id)
            return self._locked(row.id)
        step = totp.matching_step(row.totp_secret, code, self.now())
        if step is None or not self._use_step(row.id, step):
            log.info("console code refused for account %s", row.id)
            return self._refused(row.id)
        return self._logged_in(row.id)

    def _use_step(self, account_id: str, step: int) -> bool:
        """Record `step` as used; False when it, or a later one, was used already."""
        last = accounts.c.totp_last_step
        with self._engine.begin() as connection:
            return (
                connection.execute(
                    update(accounts)
                    .where(accounts.c.id == account_id, or_(last.is_(None), last < step))
                    .values(totp_last_step=step)
                ).rowcount
                == 1
            )

    def _logged_in(self, account_id: str) -> LoginResult:
        self._set(account_id, failed_logins=0, locked_until=None, last_login_at=self.now())
        log.info("console login of account %s", account_id)
        return LoginResult(Outcome.LOGGED_IN, self.get(account_id))

    def _refused(self, account_id: str) -> LoginResult:
        """A wrong password or code; LOCKED when it was the attempt that locked the account."""
        account = self.get(account_id)
        if account is not None and account.is_locked(self.now()):
            log.warning("console account %s locked after failed attempts", account_id)
            return LoginResult(Outcome.LOCKED, locked_until=account.locked_until)
        return LoginResult(Outcome.REJECTED)

    def _locked(self, account_id: str) -> LoginResult:
        account = self.get(account_id)
        return LoginResult(Outcome.LOCKED, locked_until=account.locked_until if account else None)

    # --- rows --------------------------------------------------------------------------------

    def _row(self, condition: object) -> Row | None:
        with self._engine.connect() as connection:
            return connection.execute(select(accounts).where(condition)).first()  # type: ignore[arg-type]

    def _existing(self, username: str) -> Account:
        account = self.by_username(username)
        if account is None:
            raise UnknownAccount(f"Er is geen account met gebruikersnaam {username!r}.")
        return account

    def _set(self, account_id: str, **values: object) -> None:
        with self._engine.begin() as connection:
            connection.execute(update(accounts).where(accounts.c.id == account_id).values(**values))
