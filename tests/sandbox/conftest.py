"""Fixtures of the sandbox tests, which speak plain HTTP (not our clients) to a stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.sandbox.serving import sqlite_url, zgw_root

__all__ = ["http", "zgw_root"]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain client session; each request carries its own credentials."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of this test's own, once an SQLite file and once PostgreSQL: for what the
    database decides (concurrent bookings), which must hold on both."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("postgres_url"))
