"""Fixtures of the sandbox tests, which speak plain HTTP (not our clients) to a stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.sandbox.serving import zgw_root

__all__ = ["http", "zgw_root"]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain client session; each request carries its own credentials."""
    async with aiohttp.ClientSession() as session:
        yield session
