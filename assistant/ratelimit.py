"""Rate limits that count per conversation and per client address, shared between processes.

A limit is "at most N hits per key in any window of W seconds" (a sliding log, so a burst
cannot straddle the edge of a fixed window to get twice through). Keys name what is counted
("conv:<hash>", "addr:<ip>"), so a resident who reconnects, or a script that opens new
conversations, keeps counting against the same budget. Refused hits count too: who keeps sending
while refused stays refused until they pause. Production uses Redis, so every Rasa process and
instance shares the counts; `make run` uses an in-process log behind the same interface.

The Redis limiter is the sorted-set sliding log (ZREMRANGEBYSCORE, ZADD, ZCARD, EXPIRE in one
transaction). The `limits` library would do the same, but it cannot be installed beside Rasa 3.6
(it needs packaging>=21, Rasa pins <21, and its redis-py backend needs redis>=5.2 where Rasa pins
4.x).
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    hits: int
    window_seconds: int = 60


class RateLimiter(Protocol):
    async def allow(self, key: str, limit: Limit) -> bool:
        """Count one hit for `key`; False when the key is over its limit in this window."""


class MemoryRateLimiter:
    """Sliding logs in this process only (the single-machine default)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._logs: dict[str, deque[float]] = {}
        self._calls = 0

    async def allow(self, key: str, limit: Limit) -> bool:
        now = self._clock()
        log = self._logs.setdefault(key, deque())
        while log and log[0] <= now - limit.window_seconds:
            log.popleft()
        log.append(now)
        self._calls += 1
        if self._calls % 10_000 == 0:  # forget keys that have gone quiet
            self._logs = {k: v for k, v in self._logs.items() if v and v[-1] > now - 3600}
        return len(log) <= limit.hits


class RedisRateLimiter:
    """Sliding logs in Redis, shared by every process that uses the same `prefix`.

    When Redis is unreachable, hits are allowed (and logged): a broken limiter must not lock every
    resident out of the chat.
    """

    def __init__(self, url: str, prefix: str = "ratelimit:") -> None:
        self._redis = aioredis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._prefix = prefix
        # Members must be unique per hit, also for hits in the same microsecond.
        self._process = uuid.uuid4().hex[:12]
        self._counter = itertools.count()

    async def allow(self, key: str, limit: Limit) -> bool:
        now = time.time()
        name = f"{self._prefix}{key}"
        member = f"{now:.6f}:{self._process}:{next(self._counter)}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(name, 0, now - limit.window_seconds)
                pipe.zadd(name, {member: now})
                pipe.zcard(name)
                pipe.expire(name, limit.window_seconds + 1)
                _, _, hits, _ = await pipe.execute()
        except (RedisError, OSError) as error:
            logger.warning("rate limit not checked, Redis failed: %s", type(error).__name__)
            return True
        return int(hits) <= limit.hits

    async def close(self) -> None:
        await self._redis.close()


def rate_limiter(redis_url: str | None, prefix: str = "ratelimit:") -> RateLimiter:
    """Redis when a URL is configured (production), otherwise in-process."""
    return RedisRateLimiter(redis_url, prefix) if redis_url else MemoryRateLimiter()
