"""The WhatsApp channel's work queue, its consumer and the de-duplication marks, in-process and
in the real Redis (channels/whatsapp/queue.py, consumer.py, dedup.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from channels.whatsapp.consumer import Consumer
from channels.whatsapp.dedup import MemorySeenStore, RedisSeenStore, SeenStore
from channels.whatsapp.queue import MemoryWorkQueue, RedisWorkQueue, WorkQueue

NUMBER = "31612345678"


# --- work queue -----------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
async def queue(request: pytest.FixtureRequest) -> AsyncIterator[WorkQueue]:
    if request.param == "memory":
        yield MemoryWorkQueue()
        return
    prefix = request.getfixturevalue("redis_prefix")
    made = RedisWorkQueue(request.getfixturevalue("redis_url"), prefix=prefix)
    yield made
    await made.close()


async def test_the_queue_hands_out_items_in_order_and_waits_when_empty(queue: WorkQueue) -> None:
    for n in range(3):
        await queue.put({"kind": "message", "n": n})
    jobs = await queue.take(10, 1.0)
    assert [job.item["n"] for job in jobs] == [0, 1, 2]
    for job in jobs:
        await queue.done(job)
    assert await queue.take(10, 0.05) == []


async def test_a_handled_entry_leaves_no_phone_number_in_redis(
    redis_url: str, redis_prefix: str
) -> None:
    queue = RedisWorkQueue(redis_url, prefix=redis_prefix)
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        await queue.put({"wa_id": NUMBER})
        (job,) = await queue.take(1, 1.0)
        await queue.done(job)
        stream = redis_prefix + "inbound"
        assert await client.xlen(stream) == 0
        assert (await client.xpending(stream, "consumers"))["pending"] == 0
    finally:
        await queue.close()
        await client.close()


async def test_an_entry_a_dead_consumer_left_is_taken_over_by_another(
    redis_url: str, redis_prefix: str
) -> None:
    dead = RedisWorkQueue(redis_url, prefix=redis_prefix, consumer="dead")
    # Idle time 0: the test need not wait the minute production waits.
    alive = RedisWorkQueue(redis_url, prefix=redis_prefix, consumer="alive", reclaim_idle_ms=0)
    try:
        await dead.put({"n": 1})
        (taken,) = await dead.take(1, 1.0)  # ... and the process dies before `done`
        (reclaimed,) = await alive.take(1, 1.0)
        assert reclaimed == taken
        await alive.done(reclaimed)
        assert await alive.take(1, 0.05) == []
    finally:
        await dead.close()
        await alive.close()


async def age(redis_url: str, stream: str, entry_id: str, owner: str, idle_ms: int) -> None:
    """Make a pending entry look idle for `idle_ms` (XCLAIM's IDLE option), instead of waiting."""
    client = aioredis.from_url(redis_url)
    try:
        await client.xclaim(stream, "consumers", owner, 0, [entry_id], idle=idle_ms, justid=True)
    finally:
        await client.close()


async def test_an_entry_idle_for_over_a_minute_is_taken_over_and_a_touched_one_is_not(
    redis_url: str, redis_prefix: str
) -> None:
    dead = RedisWorkQueue(redis_url, prefix=redis_prefix, consumer="dead")
    busy = RedisWorkQueue(redis_url, prefix=redis_prefix, consumer="busy")
    other = RedisWorkQueue(redis_url, prefix=redis_prefix, consumer="other")
    stream = redis_prefix + "inbound"
    try:
        await dead.put({"n": "left"})
        (left,) = await dead.take(1, 1.0)
        await busy.put({"n": "slow"})
        (slow,) = await busy.take(1, 1.0)
        await age(redis_url, stream, left.id, "dead", 61_000)
        await age(redis_url, stream, slow.id, "busy", 61_000)
        await busy.touch(slow)  # the busy consumer's heartbeat
        assert await other.take(10, 0.05) == [left]
    finally:
        for queue in (dead, busy, other):
            await queue.close()


async def test_an_entry_still_being_handled_is_not_taken_over(
    redis_url: str, redis_prefix: str
) -> None:
    first = RedisWorkQueue(redis_url, prefix=redis_prefix, consumer="first")
    second = RedisWorkQueue(redis_url, prefix=redis_prefix, consumer="second")
    try:
        await first.put({"n": 1})
        assert len(await first.take(1, 1.0)) == 1
        assert await second.take(1, 0.05) == []  # idle for less than a minute
    finally:
        await first.close()
        await second.close()


async def test_an_entry_that_keeps_killing_consumers_is_dropped(
    redis_url: str, redis_prefix: str
) -> None:
    queue = RedisWorkQueue(redis_url, prefix=redis_prefix, consumer="a", reclaim_idle_ms=0)
    try:
        await queue.put({"n": 1})
        for _ in range(5):  # taken, then reclaimed four times, never done
            assert len(await queue.take(1, 1.0)) == 1
        assert await queue.take(1, 0.05) == []
    finally:
        await queue.close()


# --- consumer -------------------------------------------------------------------------------


async def test_the_consumer_keeps_a_conversations_order_and_serves_others_meanwhile() -> None:
    queue = MemoryWorkQueue()
    handled: list[tuple[str, int]] = []
    release_a = asyncio.Event()

    async def handle(item: dict[str, Any]) -> None:
        if item == {"c": "a", "n": 0}:
            await release_a.wait()  # a slow turn for conversation a
        handled.append((item["c"], item["n"]))
        if item["c"] == "b":
            release_a.set()

    consumer = Consumer(queue, handle, lambda item: item["c"])
    for item in ({"c": "a", "n": 0}, {"c": "a", "n": 1}, {"c": "b", "n": 0}):
        await queue.put(item)
    consumer.start()
    try:
        while len(handled) < 3:
            await asyncio.sleep(0)  # lets the consumer run; no timing involved
            await consumer.idle()
    finally:
        await consumer.stop()
    assert handled == [("b", 0), ("a", 0), ("a", 1)]


async def test_a_failing_message_is_logged_and_the_next_one_handled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = MemoryWorkQueue()
    handled: list[int] = []

    async def handle(item: dict[str, Any]) -> None:
        if item["n"] == 0:
            raise RuntimeError("boom")
        handled.append(item["n"])

    consumer = Consumer(queue, handle, lambda item: "same")
    await queue.put({"n": 0})
    await queue.put({"n": 1})
    consumer.start()
    try:
        while not handled:
            await asyncio.sleep(0)
            await consumer.idle()
    finally:
        await consumer.stop()
    assert handled == [1]
    assert "handling a queued message failed" in caplog.text


# --- de-duplication -------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
async def seen(request: pytest.FixtureRequest) -> AsyncIterator[SeenStore]:
    if request.param == "memory":
        yield MemorySeenStore()
        return
    made = RedisSeenStore(
        request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    )
    yield made
    await made.close()


async def test_a_message_id_is_new_once(seen: SeenStore) -> None:
    assert await seen.first("message:wamid.A")
    assert not await seen.first("message:wamid.A")
    assert await seen.first("message:wamid.B")
    await seen.forget("message:wamid.A")
    assert await seen.first("message:wamid.A")


async def test_two_processes_share_the_marks(redis_url: str, redis_prefix: str) -> None:
    one, other = RedisSeenStore(redis_url, redis_prefix), RedisSeenStore(redis_url, redis_prefix)
    try:
        results = await asyncio.gather(one.first("message:x"), other.first("message:x"))
        assert sorted(results) == [False, True]
    finally:
        await one.close()
        await other.close()


async def test_the_marks_do_not_spell_the_message_id(redis_url: str, redis_prefix: str) -> None:
    store = RedisSeenStore(redis_url, redis_prefix)
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        await store.first("message:wamid.HBgLMzE2MTIzNDU2Nzg")
        keys = [key async for key in client.scan_iter(match=f"{redis_prefix}*")]
        assert len(keys) == 1 and "HBgL" not in keys[0]
        assert 0 < await client.ttl(keys[0]) <= 24 * 3600
    finally:
        await store.close()
        await client.close()


async def test_memory_marks_expire() -> None:
    moment = [0.0]
    store = MemorySeenStore(clock=lambda: moment[0])
    assert await store.first("k", 60)
    moment[0] = 59.0
    assert not await store.first("k", 60)
    moment[0] = 61.0
    assert await store.first("k", 60)
