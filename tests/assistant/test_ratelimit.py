"""Rate limits per key, in-process and shared between processes through the real Redis."""

from __future__ import annotations

import pytest

from assistant.ratelimit import Limit, MemoryRateLimiter, RedisRateLimiter, rate_limiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_limiter_counts_per_key_over_a_sliding_window() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    limit = Limit(hits=3, window_seconds=60)
    assert [await limiter.allow("a", limit) for _ in range(3)] == [True, True, True]
    clock.now += 59  # just before the first hits age out: a window edge gives no fresh budget
    assert not await limiter.allow("a", limit)
    assert await limiter.allow("b", limit), "another key has its own budget"
    clock.now += 60  # a quiet minute
    assert await limiter.allow("a", limit)


async def test_two_processes_share_one_budget_through_redis(
    redis_url: str, redis_prefix: str
) -> None:
    # Two limiters with their own connections stand for two Rasa processes.
    first, second = (
        RedisRateLimiter(redis_url, redis_prefix),
        RedisRateLimiter(redis_url, redis_prefix),
    )
    limit = Limit(hits=4, window_seconds=60)
    try:
        results = [await (first if i % 2 else second).allow("addr:1", limit) for i in range(6)]
        assert results == [True, True, True, True, False, False]
        assert await first.allow("addr:2", limit)
    finally:
        await first.close()
        await second.close()


async def test_an_unreachable_redis_does_not_lock_residents_out() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        assert await limiter.allow("addr:1", Limit(hits=1))
        assert await limiter.allow("addr:1", Limit(hits=1))
    finally:
        await limiter.close()


@pytest.mark.parametrize(
    ("url", "kind"), [(None, MemoryRateLimiter), ("redis://x:6379/0", RedisRateLimiter)]
)
def test_redis_is_used_only_when_configured(url: str | None, kind: type) -> None:
    assert isinstance(rate_limiter(url), kind)
