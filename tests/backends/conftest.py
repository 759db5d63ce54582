"""Fixtures of the client tests; how stand-ins are served is in `tests/sandbox/serving.py`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.sandbox.serving import serving, zgw_root

__all__ = ["silent_url", "zgw_root"]


@pytest.fixture
async def silent_url() -> AsyncIterator[str]:
    """The URL of a server that accepts connections and never answers, so a client times out.

    Every handler waits for an event that is set at teardown, so the server closes at once.
    """
    release = asyncio.Event()

    async def hang(_: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hang)
    async with serving(app) as url:
        try:
            yield url
        finally:
            release.set()
