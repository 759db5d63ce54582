"""A transaction runs once per confirmation, in one process (memory) and across them (Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis

from assistant.once import (
    PENDING,
    MemoryOnceStore,
    OnceStore,
    RedisOnceStore,
    StillRunning,
    confirmation_key,
    once,
)


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[OnceStore]:
    if request.param == "memory":
        yield MemoryOnceStore()
        return
    redis_url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    shared = RedisOnceStore(redis_url, prefix=prefix)
    try:
        yield shared
    finally:
        await shared.close()


class Backend:
    """Counts what it was asked to do; `fail` makes the next call raise."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    async def book(self) -> str:
        self.calls += 1
        if self.fail:
            self.fail = False
            raise ConnectionError("backend down")
        return f"REF-{self.calls}"


async def test_a_repeated_confirmation_gets_the_first_result(store: OnceStore) -> None:
    backend = Backend()
    assert await once(store, "book:conv:1", backend.book) == ("REF-1", True)
    assert await once(store, "book:conv:1", backend.book) == ("REF-1", False)
    assert backend.calls == 1
    assert await once(store, "book:conv:2", backend.book) == ("REF-2", True), "a new confirmation"


async def test_a_failed_attempt_may_be_retried(store: OnceStore) -> None:
    backend = Backend()
    backend.fail = True
    with pytest.raises(ConnectionError):
        await once(store, "book:conv:1", backend.book)
    assert await once(store, "book:conv:1", backend.book) == ("REF-2", True)


async def test_a_delivery_while_the_first_still_runs_is_refused(store: OnceStore) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> str:
        started.set()
        await release.wait()
        return "REF-1"

    first = asyncio.create_task(once(store, "book:conv:1", slow))
    await started.wait()
    with pytest.raises(StillRunning):
        await once(store, "book:conv:1", slow)
    release.set()
    assert await first == ("REF-1", True)


async def test_an_unreachable_redis_does_not_stop_the_transaction() -> None:
    unreachable = RedisOnceStore("redis://127.0.0.1:1/0")
    try:
        assert await once(unreachable, "book:conv:1", Backend().book) == ("REF-1", True)
    finally:
        await unreachable.close()


def test_the_key_is_the_confirming_message() -> None:
    events = [
        {"event": "user", "timestamp": 1.0},
        {"event": "bot", "timestamp": 2.0},
        {"event": "user", "timestamp": 3.0},
        {"event": "slot", "timestamp": 4.0},
    ]
    assert confirmation_key("action_appointment_book", "conv", events) == (
        "action_appointment_book:conv:3.0"
    )


async def test_a_claim_never_finished_frees_itself_after_the_pending_time(
    redis_url: str, redis_prefix: str
) -> None:
    """A caller whose work has a known upper bound sets how long its claims wait for it."""
    now = [1000.0]
    memory = MemoryOnceStore(clock=lambda: now[0], pending_seconds=25)
    assert await memory.claim("turn:1") is None
    now[0] += 24
    assert await memory.claim("turn:1") == PENDING
    now[0] += 2
    assert await memory.claim("turn:1") is None, "its worker is gone: the key is free again"

    shared = RedisOnceStore(redis_url, prefix=redis_prefix, pending_seconds=25)
    try:
        assert await shared.claim("turn:1") is None
        client = redis.Redis.from_url(redis_url)
        try:
            assert 0 < client.ttl(f"{redis_prefix}turn:1") <= 25
        finally:
            client.close()
    finally:
        await shared.close()
