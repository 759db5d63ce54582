"""The production lock store (assistant/lock_store.py) on the real Redis.

Two store instances stand for two Rasa processes. Nothing here sleeps to wait: the tests wait
for events, with a timeout only as a guard.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from rasa.core.lock_store import LockError, LockStore
from rasa.core.utils import number_of_sanic_workers
from rasa.utils.endpoints import EndpointConfig

from assistant.lock_store import RedisTicketLockStore
from tests.conftest import delete_redis_keys

GUARD = 30  # seconds: only for a test that would otherwise hang


def endpoint(redis_url: str, prefix: str) -> EndpointConfig:
    """The lock_store section of an endpoints file, as Rasa hands it to a custom store."""
    where = urlsplit(redis_url)
    return EndpointConfig(
        url=where.hostname,
        type="assistant.lock_store.RedisTicketLockStore",
        port=where.port or 6379,
        db=where.path.lstrip("/") or "0",
        password=where.password or None,
        key_prefix=prefix,
    )


@pytest.fixture
async def stores(redis_url: str) -> AsyncIterator[tuple[RedisTicketLockStore, ...]]:
    prefix = f"test{uuid.uuid4().hex[:16]}"  # alphanumeric, as Rasa's setting must be
    config = endpoint(redis_url, prefix)
    made = tuple(LockStore.create(config) for _ in range(2))
    assert all(isinstance(store, RedisTicketLockStore) for store in made)
    yield made  # type: ignore[misc]
    for store in made:
        await store.close()  # type: ignore[union-attr]
    delete_redis_keys(redis_url, f"{prefix}:")


async def hold(
    store: RedisTicketLockStore,
    conversation: str,
    log: list[str],
    name: str,
    entered: asyncio.Event,
    leave: asyncio.Event,
) -> None:
    async with store.lock(conversation, lock_lifetime=GUARD):
        log.append(f"{name} in")
        entered.set()
        await leave.wait()
        log.append(f"{name} out")


async def test_a_conversation_is_held_by_one_process_at_a_time(stores) -> None:
    first, second = stores
    conversation = uuid.uuid4().hex
    log: list[str] = []
    a_in, b_in, a_leave, b_leave = (asyncio.Event() for _ in range(4))

    a = asyncio.create_task(hold(first, conversation, log, "a", a_in, a_leave))
    await asyncio.wait_for(a_in.wait(), GUARD)
    b = asyncio.create_task(hold(second, conversation, log, "b", b_in, b_leave))
    # b has its ticket and waits: let a finish only after b had every chance to get in.
    other = uuid.uuid4().hex  # meanwhile another conversation is not held up
    async with first.lock(other, lock_lifetime=GUARD):
        assert not b_in.is_set()
    a_leave.set()
    await asyncio.wait_for(b_in.wait(), GUARD)
    b_leave.set()
    await asyncio.wait_for(asyncio.gather(a, b), GUARD)

    assert log == ["a in", "a out", "b in", "b out"]


async def test_waiting_turns_are_served_in_the_order_they_arrived(stores) -> None:
    first, _ = stores
    conversation = uuid.uuid4().hex
    order: list[int] = []
    leave = asyncio.Event()
    holding = asyncio.Event()
    holder = asyncio.create_task(hold(first, conversation, [], "holder", holding, leave))
    await asyncio.wait_for(holding.wait(), GUARD)

    async def turn(number: int, store: RedisTicketLockStore) -> None:
        async with store.lock(conversation, lock_lifetime=GUARD):
            order.append(number)

    waiting = []
    for number in range(6):  # each takes its ticket before the next is started
        waiting.append(asyncio.create_task(turn(number, stores[number % 2])))
        while not await _tickets_taken(first, conversation, number + 2):
            await asyncio.sleep(0)
    leave.set()
    await asyncio.wait_for(asyncio.gather(holder, *waiting), GUARD)

    assert order == list(range(6))


async def _tickets_taken(store: RedisTicketLockStore, conversation: str, count: int) -> bool:
    _, queue, _ = store.keys(conversation)
    return await store._redis.zcard(queue) >= count


async def test_a_turn_that_fails_frees_the_conversation(stores) -> None:
    first, second = stores
    conversation = uuid.uuid4().hex
    with pytest.raises(RuntimeError):
        async with first.lock(conversation, lock_lifetime=GUARD):
            raise RuntimeError("the turn failed")

    async def next_turn() -> None:
        async with second.lock(conversation, lock_lifetime=GUARD):
            pass

    await asyncio.wait_for(next_turn(), GUARD)


async def test_a_killed_process_frees_its_conversations_after_the_lock_lifetime(stores) -> None:
    first, second = stores
    conversation = uuid.uuid4().hex
    # A process that took the lock and died: its ticket is never removed.
    await first._take(keys=list(first.keys(conversation)), args=[1000])

    async def answered() -> None:
        async with second.lock(conversation, lock_lifetime=GUARD):
            pass

    await asyncio.wait_for(answered(), GUARD)


async def test_a_ticket_that_expires_while_waiting_is_refused(stores) -> None:
    first, second = stores
    conversation = uuid.uuid4().hex
    leave, holding = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(hold(first, conversation, [], "holder", holding, leave))
    await asyncio.wait_for(holding.wait(), GUARD)

    with pytest.raises(LockError):
        async with second.lock(conversation, lock_lifetime=0.2):
            pass
    leave.set()
    await asyncio.wait_for(holder, GUARD)


def test_rasa_runs_several_workers_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANIC_WORKERS", "3")
    config = EndpointConfig(url="localhost", type="assistant.lock_store.RedisTicketLockStore")
    assert number_of_sanic_workers(config) == 3
