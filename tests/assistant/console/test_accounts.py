"""Accounts in SQL: passwords, lock-out counted in the database, the authenticator app's codes."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from assistant.console.accounts import (
    Account,
    AccountError,
    AccountStore,
    Outcome,
    UnknownAccount,
    UsernameTaken,
)
from assistant.console.passwords import PasswordRejected
from assistant.console.schema import accounts as accounts_table
from assistant.console.schema import ensure_schema
from tests.assistant.console.helpers import FAST_HASHER, PASSWORD, FakeClock


@contextmanager
def own_store(database_url: str, **options: Any) -> Iterator[AccountStore]:
    """A store with other options than the fixture's, on the same database."""
    store = AccountStore(database_url, **options)
    ensure_schema(store.engine)
    try:
        yield store
    finally:
        store.engine.dispose()


def stored_hash(store: AccountStore, account: Account) -> str:
    with store.engine.connect() as connection:
        return connection.execute(
            select(accounts_table.c.password_hash).where(accounts_table.c.id == account.id)
        ).scalar_one()


def test_the_right_password_logs_in_whatever_the_case_of_the_username(
    accounts: AccountStore, sanne: Account, clock: FakeClock
) -> None:
    result = accounts.authenticate("  Sanne ", PASSWORD)
    assert result.outcome is Outcome.LOGGED_IN
    assert result.account is not None and result.account.display_name == "Sanne"
    assert result.account.last_login_at == clock()


def test_a_wrong_password_and_an_unknown_username_get_the_same_answer(
    accounts: AccountStore, sanne: Account
) -> None:
    assert accounts.authenticate("sanne", "niet het wachtwoord").outcome is Outcome.REJECTED
    assert accounts.authenticate("piet", PASSWORD).outcome is Outcome.REJECTED
    assert accounts.authenticate("x" * 500, PASSWORD).outcome is Outcome.REJECTED


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified += 1
        return super().verify(hash, password)


def test_an_unknown_username_costs_a_password_check_like_a_known_one(database_url: str) -> None:
    hasher = CountingHasher()
    with own_store(database_url, hasher=hasher) as store:
        store.create("sanne", display_name="Sanne", password=PASSWORD)
        store.authenticate("piet", PASSWORD)
    assert hasher.verified == 1, "timing does not tell which usernames exist"


def test_passwords_are_stored_as_argon2id_and_renewed_when_the_parameters_change(
    database_url: str, clock: FakeClock
) -> None:
    with own_store(database_url, clock=clock, hasher=FAST_HASHER) as weak:
        account = weak.create("sanne", display_name="Sanne", password=PASSWORD)
        old = stored_hash(weak, account)
    assert old.startswith("$argon2id$") and PASSWORD not in old

    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    with own_store(database_url, clock=clock, hasher=stronger) as store:
        assert store.authenticate("sanne", PASSWORD).outcome is Outcome.LOGGED_IN
        new = stored_hash(store, account)
        assert new != old and not stronger.check_needs_rehash(new)
        assert store.authenticate("sanne", PASSWORD).outcome is Outcome.LOGGED_IN


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("kort", "minstens 12 tekens"),
        ("elf tekens.", "minstens 12 tekens"),
        ("x" * 257, "hoogstens 256 tekens"),
        (" " * 14, "niet alleen uit spaties"),
        ("Sanne.de.Vries", "niet gelijk zijn aan de gebruikersnaam"),
    ],
)
def test_a_new_password_must_meet_the_policy(
    accounts: AccountStore, password: str, problem: str
) -> None:
    with pytest.raises(PasswordRejected, match=problem):
        accounts.create("sanne.de.vries", display_name="Sanne", password=password)
    assert accounts.by_username("sanne.de.vries") is None


def test_twelve_characters_and_a_long_passphrase_are_accepted(accounts: AccountStore) -> None:
    accounts.create("a1", display_name="A", password="twaalf teken")
    accounts.create("a2", display_name="B", password="é" * 256)
    assert accounts.authenticate("a2", "é" * 256).outcome is Outcome.LOGGED_IN


def test_usernames_are_unique_regardless_of_case(accounts: AccountStore, sanne: Account) -> None:
    with pytest.raises(UsernameTaken):
        accounts.create("SANNE", display_name="Sanne", password=PASSWORD)


@pytest.mark.parametrize("username", ["", "s", "sanne de vries", "sänne", "-sanne", "a" * 65])
def test_a_username_must_be_plain(accounts: AccountStore, username: str) -> None:
    with pytest.raises(AccountError, match="gebruikersnaam"):
        accounts.create(username, display_name="Sanne", password=PASSWORD)


def test_an_account_serves_its_municipalities_or_all(accounts: AccountStore) -> None:
    one = accounts.create(
        "sanne", display_name=" Sanne ", password=PASSWORD, municipalities=["Utrecht"]
    )
    every = accounts.create("piet", display_name="Piet", password=PASSWORD)
    assert one.display_name == "Sanne" and one.municipalities == ("utrecht",)
    assert one.serves("utrecht") and not one.serves("zwolle")
    assert every.municipalities == () and every.serves("zwolle")


def lock(store: AccountStore, times: int = 5) -> list[Outcome]:
    return [store.authenticate("sanne", "fout wachtwoord").outcome for _ in range(times)]


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(
    accounts: AccountStore, sanne: Account, clock: FakeClock
) -> None:
    assert lock(accounts) == [Outcome.REJECTED] * 4 + [Outcome.LOCKED]
    locked = accounts.authenticate("sanne", PASSWORD)
    assert locked.outcome is Outcome.LOCKED, "even the right password waits"
    assert locked.locked_until == clock() + dt.timedelta(minutes=15)

    clock.advance(minutes=14, seconds=59)
    assert accounts.authenticate("sanne", PASSWORD).outcome is Outcome.LOCKED
    clock.advance(seconds=1)
    assert accounts.authenticate("sanne", PASSWORD).outcome is Outcome.LOGGED_IN


def test_after_a_lock_out_an_account_gets_five_fresh_attempts(
    accounts: AccountStore, sanne: Account, clock: FakeClock
) -> None:
    lock(accounts)
    clock.advance(minutes=15)
    assert lock(accounts) == [Outcome.REJECTED] * 4 + [Outcome.LOCKED]


def test_a_login_resets_the_count_of_failures(accounts: AccountStore, sanne: Account) -> None:
    lock(accounts, 4)
    assert accounts.authenticate("sanne", PASSWORD).outcome is Outcome.LOGGED_IN
    assert lock(accounts, 4) == [Outcome.REJECTED] * 4


def test_the_limit_and_period_are_configurable(database_url: str, clock: FakeClock) -> None:
    options = {"max_failed_logins": 2, "lockout": dt.timedelta(minutes=1)}
    with own_store(database_url, clock=clock, hasher=FAST_HASHER, **options) as store:
        store.create("sanne", display_name="Sanne", password=PASSWORD)
        assert lock(store, 2) == [Outcome.REJECTED, Outcome.LOCKED]
        clock.advance(minutes=1)
        assert store.authenticate("sanne", PASSWORD).outcome is Outcome.LOGGED_IN


def test_parallel_guesses_cannot_pass_the_limit(accounts: AccountStore, sanne: Account) -> None:
    """Ten processes guessing at once: the database lets five attempts through, not ten."""
    start, outcomes = threading.Barrier(10), []

    def guess() -> None:
        start.wait()
        outcomes.append(accounts.authenticate("sanne", "fout wachtwoord").outcome)

    threads = [threading.Thread(target=guess) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(Outcome.REJECTED) <= 4
    assert accounts.authenticate("sanne", PASSWORD).outcome is Outcome.LOCKED


def test_an_administrator_can_unlock_an_account(accounts: AccountStore, sanne: Account) -> None:
    lock(accounts)
    assert accounts.unlock("Sanne").failed_logins == 0
    assert accounts.authenticate("sanne", PASSWORD).outcome is Outcome.LOGGED_IN
    with pytest.raises(UnknownAccount):
        accounts.unlock("piet")


def test_a_new_password_replaces_the_old_one_and_unlocks(
    accounts: AccountStore, sanne: Account
) -> None:
    lock(accounts)
    accounts.set_password("sanne", "een heel nieuw wachtwoord")
    assert accounts.authenticate("sanne", PASSWORD).outcome is Outcome.REJECTED
    assert accounts.authenticate("sanne", "een heel nieuw wachtwoord").outcome is Outcome.LOGGED_IN
    with pytest.raises(PasswordRejected):
        accounts.set_password("sanne", "sanne")


# --- the authenticator app -------------------------------------------------------------------


@pytest.fixture
def secret(accounts: AccountStore) -> str:
    code_secret = pyotp.random_base32()
    accounts.create("kees", display_name="Kees", password=PASSWORD, totp_secret=code_secret)
    return code_secret


def test_an_account_with_an_app_needs_its_code_after_the_password(
    accounts: AccountStore, secret: str, clock: FakeClock
) -> None:
    first = accounts.authenticate("kees", PASSWORD)
    assert first.outcome is Outcome.NEEDS_CODE and first.account is not None
    assert first.account.has_totp and first.account.last_login_at is None
    code = pyotp.TOTP(secret).at(clock())
    assert accounts.verify_code(first.account.id, code).outcome is Outcome.LOGGED_IN


def test_codes_of_the_neighbouring_steps_are_accepted_but_not_older_ones(
    accounts: AccountStore, secret: str, clock: FakeClock
) -> None:
    account_id = accounts.by_username("kees").id  # type: ignore[union-attr]
    totp = pyotp.TOTP(secret)
    assert (
        accounts.verify_code(account_id, totp.at(clock(), counter_offset=-2)).outcome
        is Outcome.REJECTED
    )
    assert (
        accounts.verify_code(account_id, totp.at(clock(), counter_offset=-1)).outcome
        is Outcome.LOGGED_IN
    )
    assert (
        accounts.verify_code(account_id, totp.at(clock(), counter_offset=1)).outcome
        is Outcome.LOGGED_IN
    )


def test_a_code_is_accepted_only_once(
    accounts: AccountStore, secret: str, clock: FakeClock
) -> None:
    account_id = accounts.by_username("kees").id  # type: ignore[union-attr]
    code = pyotp.TOTP(secret).at(clock())
    assert accounts.verify_code(account_id, code).outcome is Outcome.LOGGED_IN
    assert accounts.verify_code(account_id, code).outcome is Outcome.REJECTED
    clock.advance(seconds=30)
    next_code = pyotp.TOTP(secret).at(clock())
    assert accounts.verify_code(account_id, next_code).outcome is Outcome.LOGGED_IN


def test_wrong_codes_count_towards_the_lock_out_even_after_the_right_password(
    accounts: AccountStore, secret: str, clock: FakeClock
) -> None:
    """A stolen password buys five code guesses per lock-out, however often it is typed."""
    outcomes = []
    for _ in range(5):
        assert accounts.authenticate("kees", PASSWORD).outcome is Outcome.NEEDS_CODE
        account_id = accounts.by_username("kees").id  # type: ignore[union-attr]
        outcomes.append(accounts.verify_code(account_id, "000000").outcome)
    assert outcomes == [Outcome.REJECTED] * 4 + [Outcome.LOCKED]
    assert accounts.authenticate("kees", PASSWORD).outcome is Outcome.LOCKED
    right = pyotp.TOTP(secret).at(clock())
    assert accounts.verify_code(account_id, right).outcome is Outcome.LOCKED


def test_a_code_means_nothing_for_an_account_without_an_app(
    accounts: AccountStore, sanne: Account
) -> None:
    assert accounts.verify_code(sanne.id, "123456").outcome is Outcome.REJECTED
