"""Fixtures of the console tests: every store-backed test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from assistant.console.accounts import Account, AccountStore
from assistant.console.config import ConsoleConfig
from assistant.console.schema import ensure_schema
from tests.assistant.console.helpers import FAST_HASHER, PASSWORD, Console, FakeClock, running


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'handoff.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def accounts(database_url: str, clock: FakeClock) -> Iterator[AccountStore]:
    store = AccountStore(database_url, clock=clock, hasher=FAST_HASHER)
    ensure_schema(store.engine)
    try:
        yield store
    finally:
        store.engine.dispose()


@pytest.fixture
def sanne(accounts: AccountStore) -> Account:
    return accounts.create(
        "sanne", display_name="Sanne", password=PASSWORD, municipalities=["utrecht"]
    )


@pytest.fixture
async def console(
    database_url: str, accounts: AccountStore, clock: FakeClock
) -> AsyncIterator[Console]:
    async with running(ConsoleConfig(database_url=database_url), accounts, clock) as running_:
        yield running_
