"""Limits at Rasa's doors, the same for every channel: request size and message rates.

Rate limits count per conversation and per client address (assistant.ratelimit), so reconnecting
or opening new conversations does not reset them. Behind a reverse proxy the client address comes
from the proxy's header, as Sanic is told by its own settings (SANIC_PROXIES_COUNT,
SANIC_REAL_IP_HEADER or SANIC_FORWARDED_SECRET); without them, from the connection.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from sanic import Blueprint
from sanic.request import Request

from assistant.ratelimit import Limit, RateLimiter, rate_limiter
from assistant.settings import Settings


@functools.lru_cache(maxsize=4)
def _shared_limiter(redis_url: str | None) -> RateLimiter:
    # One limiter per process for all channels, so an address counts once across doors.
    return rate_limiter(redis_url, prefix="assistant:ratelimit:")


class MessageLimits:
    """How many messages a conversation and a client address may send per minute."""

    def __init__(self, settings: Settings, limiter: RateLimiter | None = None) -> None:
        self._limiter = limiter or _shared_limiter(settings.redis_url)
        self._per_conversation = Limit(settings.messages_per_minute_per_conversation)
        self._per_address = Limit(settings.messages_per_minute_per_address)

    async def allow_message(self, conversation_id: str, address: str) -> bool:
        """Count one message; False when the conversation or the address is over its limit."""
        # Conversation ids unlock a conversation's history: keep only a hash in the counter's key.
        digest = hashlib.sha256(conversation_id.encode()).hexdigest()[:32]
        by_conversation = await self._limiter.allow(f"conv:{digest}", self._per_conversation)
        return await self.allow_address(address) and by_conversation

    async def allow_address(self, address: str) -> bool:
        """Count one request from `address` (a message, or opening a conversation)."""
        return await self._limiter.allow(f"addr:{address}", self._per_address)


def client_address(request: Request) -> str:
    """The resident's address: from a trusted proxy header when Sanic is configured for one."""
    return request.remote_addr or request.ip or "unknown"


def limit_request_size(blueprint: Blueprint, max_bytes: int) -> None:
    """Make Rasa refuse (413) request bodies over `max_bytes` before reading them whole.

    Sanic reads the limit for every new connection, so setting it when the server starts covers
    every request. With several channels the smallest limit wins.
    """

    @blueprint.listener("before_server_start")
    async def set_limit(app: Any, _loop: Any) -> None:
        app.config.REQUEST_MAX_SIZE = min(int(app.config.REQUEST_MAX_SIZE), max_bytes)
