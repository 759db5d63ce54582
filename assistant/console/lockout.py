"""Counting login attempts per account in the database, so every console process shares the count.

Each attempt is counted *before* the password or code is checked, in one UPDATE that succeeds
only while the account is not locked; the attempt that reaches the maximum locks the account.
Parallel guesses therefore cannot slip past the limit (the database serialises the UPDATEs),
and no process holds state of its own. After a lock-out the first attempt starts a fresh count;
a completed login resets it (`AccountStore`). Timestamps are compared in UTC in both databases.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import DateTime, case, literal, null, or_, update
from sqlalchemy.engine import Engine

from assistant.console.schema import accounts


class Lockout:
    def __init__(
        self,
        engine: Engine,
        *,
        now: Callable[[], dt.datetime],
        max_failed_logins: int,
        period: dt.timedelta,
    ) -> None:
        if max_failed_logins < 1 or period <= dt.timedelta(0):
            raise ValueError("max_failed_logins and the lock-out period must be positive")
        self._engine = engine
        self._now = now
        self._max = max_failed_logins
        self._period = period

    def count_attempt(self, account_id: str) -> bool:
        """Count an attempt; False, and nothing counted, while the account is locked."""
        now = self._now()
        locked_until = accounts.c.locked_until
        # Only rows without a lock or with an expired one pass the WHERE below.
        attempts = case((locked_until.is_not(None), 1), else_=accounts.c.failed_logins + 1)
        until = literal(now + self._period, DateTime(timezone=True))
        with self._engine.begin() as connection:
            counted = connection.execute(
                update(accounts)
                .where(
                    accounts.c.id == account_id, or_(locked_until.is_(None), locked_until <= now)
                )
                .values(
                    failed_logins=attempts,
                    locked_until=case((attempts >= self._max, until), else_=null()),
                )
            ).rowcount
        return counted == 1

    def give_back(self, account_id: str) -> None:
        """Undo one counted attempt that turned out right (a password before the code), and
        the lock it set."""
        with self._engine.begin() as connection:
            connection.execute(
                update(accounts)
                .where(accounts.c.id == account_id, accounts.c.failed_logins > 0)
                .values(
                    failed_logins=accounts.c.failed_logins - 1,
                    locked_until=case(
                        (accounts.c.failed_logins >= self._max, null()),
                        else_=accounts.c.locked_until,
                    ),
                )
            )
