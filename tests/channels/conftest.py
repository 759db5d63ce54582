"""Fixtures of the channel tests: a web chat connection to the running assistant."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.channels.chat import FRAME_TIMEOUT, Chat
from tests.residents import resident_headers


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=FRAME_TIMEOUT)) as s:
        yield s


@pytest.fixture
def ws_url(assistant_stack) -> str:
    return assistant_stack.rasa_url.replace("http://", "ws://") + "/webhooks/webchat/ws"


@pytest.fixture
def origin(assistant_stack) -> str:
    return assistant_stack.demo_url.rstrip("/")


@pytest.fixture
def connect(http: aiohttp.ClientSession, ws_url: str, origin: str):
    opened: list[aiohttp.ClientWebSocketResponse] = []

    async def _connect() -> Chat:
        ws = await http.ws_connect(ws_url, headers={"Origin": origin, **resident_headers()})
        opened.append(ws)
        return Chat(ws)

    yield _connect
    # The session fixture closes the sockets with it.
