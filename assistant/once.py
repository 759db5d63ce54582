"""Carry out a transaction at most once per confirmation, however often the step arrives.

A booking, complaint or report is sent to the back office when the resident confirms. The same
confirmation can reach the action server twice (Rasa or a proxy retrying a slow call, two
action-server instances behind a balancer), and the back-office APIs have no idempotency keys of
their own. So the action claims a key made from the conversation and the confirming message
before it writes, and stores the back office's reference under that key afterwards: a second
delivery gets the stored reference back instead of a second booking.

Production keeps the keys in Redis (`REDIS_URL`), shared by every action-server instance;
`make run` keeps them in the process. If Redis cannot be reached the transaction still runs:
refusing residents because a safeguard is down would be worse than the rare duplicate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

PENDING = "\x00pending"
# Long enough to outlive any retry; short enough that keys do not pile up.
RESULT_SECONDS = 24 * 3600
# A claim whose work died with its process frees itself after this (by default; a caller
# whose work has a known upper bound passes its own).
PENDING_SECONDS = 60


class StillRunning(Exception):
    """The same confirmation is being carried out right now by another delivery."""


class OnceStore(Protocol):
    async def claim(self, key: str) -> str | None:
        """None when `key` is now ours to work on; else the stored result (PENDING while the
        first delivery is still working)."""

    async def finish(self, key: str, result: str) -> None: ...

    async def release(self, key: str) -> None: ...


class MemoryOnceStore:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        pending_seconds: int = PENDING_SECONDS,
    ) -> None:
        self._clock = clock
        self._pending_seconds = pending_seconds
        self._entries: dict[str, tuple[float, str]] = {}

    async def claim(self, key: str) -> str | None:
        now = self._clock()
        self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
        if key in self._entries:
            return self._entries[key][1]
        self._entries[key] = (now + self._pending_seconds, PENDING)
        return None

    async def finish(self, key: str, result: str) -> None:
        self._entries[key] = (self._clock() + RESULT_SECONDS, result)

    async def release(self, key: str) -> None:
        self._entries.pop(key, None)


class RedisOnceStore:
    def __init__(
        self, url: str, prefix: str = "once:", pending_seconds: int = PENDING_SECONDS
    ) -> None:
        self._redis = aioredis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._pending_seconds = pending_seconds

    async def claim(self, key: str) -> str | None:
        name = self._prefix + key
        if await self._redis.set(name, PENDING, nx=True, ex=self._pending_seconds):
            return None
        return await self._redis.get(name) or PENDING

    async def finish(self, key: str, result: str) -> None:
        await self._redis.set(self._prefix + key, result, ex=RESULT_SECONDS)

    async def release(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def close(self) -> None:
        await self._redis.close()


async def once(store: OnceStore, key: str, work: Callable[[], Awaitable[str]]) -> tuple[str, bool]:
    """The result of `work` for `key`, and whether it was produced now (False: a repeat).

    Raises StillRunning when another delivery of the same confirmation is still working, and
    whatever `work` raises (then the key is released, so a retry may try again).
    """
    try:
        stored = await store.claim(key)
    except RedisError as error:
        logger.warning("once-store unavailable, carrying on without it: %s", error)
        return await work(), True
    if stored == PENDING:
        raise StillRunning(key)
    if stored is not None:
        return stored, False
    try:
        result = await work()
    except BaseException:
        await _quietly(store.release(key))
        raise
    await _quietly(store.finish(key, result))
    return result, True


async def _quietly(step: Awaitable[None]) -> None:
    try:
        await step
    except RedisError as error:
        logger.warning("once-store unavailable: %s", error)


def confirmation_key(action: str, sender_id: str, events: list[dict]) -> str:
    """The key of the resident's latest message in a conversation, for `action`."""
    latest = next((e for e in reversed(events) if e.get("event") == "user"), {})
    return f"{action}:{sender_id}:{latest.get('timestamp', '')}"


def once_store(
    redis_url: str | None, prefix: str = "once:", pending_seconds: int = PENDING_SECONDS
) -> OnceStore:
    """Redis when `redis_url` is set, else this process's memory; a claim whose work never
    finished frees itself after `pending_seconds`."""
    if redis_url:
        return RedisOnceStore(redis_url, prefix, pending_seconds)
    return MemoryOnceStore(pending_seconds=pending_seconds)
