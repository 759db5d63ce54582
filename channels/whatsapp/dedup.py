"""Each WhatsApp message is answered once, however often Meta delivers it.

Meta retries a webhook call it did not get a 200 for in time, and sometimes delivers a message
twice anyway, possibly to another Rasa process. The webhook marks every message id as seen
before queueing it; a repeat is acknowledged and dropped. With REDIS_URL the marks are shared
by every process (`SET NX EX`), else they live in this process.

Keys are stored hashed: a message id ("wamid.…") is base64 that spells the sender's phone
number.

The same store also remembers short-lived "already told" marks, e.g. that a resident was told
they send messages too fast, so they are told once and not for every message.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis

# Meta retries for up to a day.
SEEN_SECONDS = 24 * 3600
# Memory store: expired marks are cleared once in this many calls, not on every one.
_SWEEP_EVERY = 256


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


class SeenStore(Protocol):
    async def first(self, key: str, ttl_seconds: int = SEEN_SECONDS) -> bool:
        """True the first time `key` is marked within `ttl_seconds`, False for a repeat."""

    async def forget(self, key: str) -> None:
        """Unmark `key` (its message could not be queued after all)."""

    async def close(self) -> None: ...


class MemorySeenStore:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}
        self._calls = 0

    async def first(self, key: str, ttl_seconds: int = SEEN_SECONDS) -> bool:
        now, key = self._clock(), _hashed(key)
        self._calls += 1
        if self._calls % _SWEEP_EVERY == 0:
            self._until = {k: until for k, until in self._until.items() if until > now}
        if self._until.get(key, float("-inf")) > now:
            return False
        self._until[key] = now + ttl_seconds
        return True

    async def forget(self, key: str) -> None:
        self._until.pop(_hashed(key), None)

    async def close(self) -> None:
        return None


class RedisSeenStore:
    def __init__(self, url: str, prefix: str = "whatsapp:") -> None:
        self._redis = aioredis.from_url(url, decode_responses=True)
        self._prefix = prefix + "seen:"

    async def first(self, key: str, ttl_seconds: int = SEEN_SECONDS) -> bool:
        return bool(
            await self._redis.set(self._prefix + _hashed(key), "1", nx=True, ex=ttl_seconds)
        )

    async def forget(self, key: str) -> None:
        await self._redis.delete(self._prefix + _hashed(key))

    async def close(self) -> None:
        await self._redis.close()


def seen_store(redis_url: str | None, prefix: str = "whatsapp:") -> SeenStore:
    return RedisSeenStore(redis_url, prefix) if redis_url else MemorySeenStore()
