"""Live handoff events reach every reader in order, once, across reconnects and processes.

Every behaviour runs on both buses: in this process (`make run`) and on the real Redis (production),
where a second `RedisMessageBus` on the same prefix stands for another Rasa process or console.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis.asyncio as aioredis

from assistant.handoff.bus import (
    CONSOLE_STREAM,
    BusUnavailable,
    LiveEvent,
    StreamBus,
    conversation_stream,
    decode_event,
    encode_event,
    message_bus,
)
from assistant.handoff.bus_memory import MemoryMessageBus
from assistant.handoff.bus_redis import RedisMessageBus
from channels.text import MAX_TEXT_LENGTH

# Generous bounds for things that happen at once; reached only when the behaviour is broken.
SOON = 5.0
LONG_BLOCK_MS = 30_000


class Buses:
    """Makes buses of one kind for a test, and closes them afterwards."""

    def __init__(self, kind: str, redis_url: str = "", prefix: str = "") -> None:
        self.kind = kind
        self._url = redis_url
        self._prefix = prefix
        self._made: list[StreamBus] = []
        self._names: dict[int, str] = {}
        self._raw = aioredis.Redis.from_url(redis_url, decode_responses=True) if redis_url else None

    def make(self, **caps: Any) -> StreamBus:
        if self.kind == "memory":
            return self._keep(MemoryMessageBus(**caps))
        name = f"test-bus-{uuid.uuid4().hex[:12]}"
        bus = self._keep(RedisMessageBus(self._url, self._prefix, client_name=name, **caps))
        self._names[id(bus)] = name
        return bus

    def another(self, bus: StreamBus) -> StreamBus:
        """A second handle on the same bus, as another process has it (in memory: the same one)."""
        return bus if self.kind == "memory" else self.make()

    async def plant(self, bus: StreamBus, stream: str, payload: str) -> None:
        """An entry written by someone else: another version, a bug, an intruder."""
        if self._raw is None:
            await bus._append([stream], payload)
        else:
            await self._raw.xadd(self._prefix + stream, {"event": payload})

    async def blocked(self, bus: StreamBus) -> None:
        """Returns once a read of `bus` is waiting for new events (Redis: blocked in XREAD)."""
        deadline = asyncio.get_running_loop().time() + SOON
        while not await self._is_blocked(bus):
            assert asyncio.get_running_loop().time() < deadline, "the read never blocked"
            await asyncio.sleep(0.005)

    async def _is_blocked(self, bus: StreamBus) -> bool:
        if isinstance(bus, MemoryMessageBus):
            return bus.readers_waiting > 0
        assert self._raw is not None
        name = self._names[id(bus)]
        clients = await self._raw.client_list()
        return any(c["name"] == name and c["cmd"] == "xread" and "b" in c["flags"] for c in clients)

    async def close(self) -> None:
        for bus in self._made:
            await bus.close()
        if self._raw is not None:
            await self._raw.close()

    def _keep(self, bus: StreamBus) -> StreamBus:
        self._made.append(bus)
        return bus


@pytest.fixture(params=["memory", "redis"])
async def buses(request: pytest.FixtureRequest) -> AsyncIterator[Buses]:
    if request.param == "memory":
        made = Buses("memory")
    else:
        url = request.getfixturevalue("redis_url")
        made = Buses("redis", url, request.getfixturevalue("redis_prefix"))
    try:
        yield made
    finally:
        await made.close()


def resident(conversation: str, text: str) -> LiveEvent:
    return LiveEvent("resident", conversation, text=text)


def texts(events: list[LiveEvent]) -> list[str]:
    return [event.text for event in events]


async def test_events_are_read_in_the_order_they_were_published(buses: Buses) -> None:
    bus = buses.make()
    at = datetime(2024, 5, 6, 10, 30, tzinfo=timezone(timedelta(hours=2)))
    sent = [
        resident("c1", "Ik wil iemand spreken"),
        LiveEvent("joined", "c1", employee="Sanne"),
        LiveEvent("typing", "c1", employee="Sanne"),
        LiveEvent("employee", "c1", text="Goedemorgen, waarmee kan ik helpen?", employee="Sanne"),
        LiveEvent("assistant_back", "c1", at=at),
    ]
    ids = [await bus.publish(event) for event in sent]

    got = await bus.read(bus.conversation_stream("c1"), "0")

    assert [(e.kind, e.text, e.employee) for e in got] == [
        (e.kind, e.text, e.employee) for e in sent
    ]
    assert [e.id for e in got] == ids
    assert [tuple(map(int, i.split("-"))) for i in ids] == sorted(
        tuple(map(int, i.split("-"))) for i in ids
    ), "ids increase"
    assert len(set(ids)) == len(ids)
    assert got[-1].at == at and got[-1].at.tzinfo == timezone.utc
    assert await bus.read(bus.conversation_stream("c1"), "") == got, '"" reads from the start'


async def test_a_reader_that_reconnects_after_its_last_id_misses_nothing_and_gets_nothing_twice(
    buses: Buses,
) -> None:
    bus = buses.make()
    stream = conversation_stream("c1")
    for text in ("een", "twee", "drie"):
        await bus.publish(resident("c1", text))
    first = await bus.read(stream, "0", count=2)
    assert texts(first) == ["een", "twee"]

    # The console drops off; meanwhile the conversation goes on.
    for text in ("vier", "vijf"):
        await bus.publish(resident("c1", text))
    rest = await buses.another(bus).read(stream, first[-1].id)

    assert texts(rest) == ["drie", "vier", "vijf"]
    assert await bus.read(stream, rest[-1].id) == []


async def test_a_blocked_read_wakes_when_its_conversation_gets_an_event(buses: Buses) -> None:
    bus = buses.make()
    reader = asyncio.create_task(bus.read(conversation_stream("c1"), "0", LONG_BLOCK_MS))
    await buses.blocked(bus)

    await bus.publish(resident("c2", "van een ander gesprek"))
    await bus.publish(LiveEvent("employee", "c1", text="Ik ben er", employee="Sanne"))

    got = await asyncio.wait_for(reader, SOON)
    assert [(e.conversation_id, e.text) for e in got] == [("c1", "Ik ben er")]


async def test_a_read_with_nothing_new_returns_empty_after_its_wait(buses: Buses) -> None:
    bus = buses.make()
    last = await bus.publish(resident("c1", "hallo"))

    assert await bus.read(conversation_stream("c1"), last) == []
    assert await bus.read(conversation_stream("c1"), last, block_ms=50) == []
    assert await bus.read(conversation_stream("nobody"), "0", block_ms=50) == []


async def test_the_console_stream_sees_the_events_of_every_conversation(buses: Buses) -> None:
    bus = buses.make()
    await bus.publish(resident("c1", "een"))
    await bus.publish(resident("c2", "twee"))
    await bus.publish(LiveEvent("closed", "c1", employee="Sanne"))

    console = await bus.read(CONSOLE_STREAM, "0")

    assert [(e.conversation_id, e.kind) for e in console] == [
        ("c1", "resident"),
        ("c2", "resident"),
        ("c1", "closed"),
    ]
    assert texts(await bus.read(conversation_stream("c2"), "0")) == ["twee"]


async def test_two_processes_on_one_bus_see_each_others_events(buses: Buses) -> None:
    rasa = buses.make()
    console = buses.another(rasa)
    await rasa.publish(resident("c1", "Is er iemand?"))
    seen = await console.read(CONSOLE_STREAM, "0")
    assert texts(seen) == ["Is er iemand?"]

    # The employee answers from the console; the resident's process is waiting for it.
    waiting = asyncio.create_task(rasa.read(conversation_stream("c1"), seen[-1].id, LONG_BLOCK_MS))
    await buses.blocked(rasa)
    await console.publish(LiveEvent("employee", "c1", text="Ja, ik help u", employee="Sanne"))

    assert texts(await asyncio.wait_for(waiting, SOON)) == ["Ja, ik help u"]


async def test_a_stream_keeps_its_newest_events_up_to_its_cap(buses: Buses) -> None:
    bus = buses.make(max_len=10, console_max_len=20)
    published = [f"bericht {n}" for n in range(250)]
    for text in published:
        await bus.publish(resident("c1", text))

    for stream, cap in ((conversation_stream("c1"), 10), (CONSOLE_STREAM, 20)):
        kept = texts(await bus.read(stream, "0", count=1000))
        # Redis trims approximately (whole internal nodes), so it may keep somewhat more.
        assert cap <= len(kept) < len(published), stream
        assert kept == published[-len(kept) :], "the newest, in order"


async def test_malformed_entries_are_skipped_without_logging_their_text(
    buses: Buses, caplog: pytest.LogCaptureFixture
) -> None:
    bus = buses.make()
    stream = conversation_stream("c1")
    good = json.loads(encode_event(resident("c1", "GEHEIM")))
    bad = [
        "GEHEIM geen json",
        json.dumps(["GEHEIM"]),
        json.dumps({**good, "kind": "GEHEIM"}),
        json.dumps({**good, "text": 42}),
        json.dumps({**good, "text": "GEHEIM" * MAX_TEXT_LENGTH}),
        json.dumps({**good, "at": "gisteren"}),
        json.dumps({**good, "at": "2024-05-06T10:30:00"}),  # no time zone
        json.dumps({**good, "conversation_id": "c2"}),  # in c1's stream
    ]
    for payload in bad:
        await buses.plant(bus, stream, payload)
    await bus.publish(resident("c1", "goed"))

    with caplog.at_level(logging.WARNING, logger="assistant.handoff.bus"):
        # One at a time: a batch of only bad entries is read past, not returned empty.
        got = await bus.read(stream, "0", count=1)

    assert texts(got) == ["goed"]
    assert len(caplog.records) == len(bad)
    assert "GEHEIM" not in caplog.text and "c1" not in caplog.text


async def test_a_stream_of_only_malformed_entries_reads_as_empty(buses: Buses) -> None:
    bus = buses.make()
    await buses.plant(bus, CONSOLE_STREAM, "{}")
    assert await bus.read(CONSOLE_STREAM, "0", block_ms=20) == []


async def test_an_event_the_bus_must_not_carry_is_refused(buses: Buses) -> None:
    bus = buses.make()
    refused = [
        resident("c1", "x" * (MAX_TEXT_LENGTH + 1)),
        LiveEvent("gossip", "c1"),  # type: ignore[arg-type]
        LiveEvent("resident", "c1", at=datetime(2024, 5, 6, 10, 30)),  # naive
        LiveEvent("resident", ""),
        LiveEvent("joined", "c1", employee="S" * 101),
        LiveEvent("assistant", "c1", buttons=(("Ja", "/affirm"),) * 4),  # more than WhatsApp
        LiveEvent("assistant", "c1", buttons=(("", "/affirm"),)),
        LiveEvent("typing", "c1", active="yes"),  # type: ignore[arg-type]
    ]
    for event in refused:
        with pytest.raises(ValueError):
            await bus.publish(event)
    await bus.publish(resident("c1", "x" * MAX_TEXT_LENGTH))

    assert [len(e.text) for e in await bus.read(CONSOLE_STREAM, "0")] == [MAX_TEXT_LENGTH]


async def test_a_reader_starting_at_the_tail_gets_only_what_comes_next(buses: Buses) -> None:
    bus = buses.make()
    assert await bus.tail(CONSOLE_STREAM) == "0"
    await bus.publish(resident("c1", "eerder"))
    start = await buses.another(bus).tail(CONSOLE_STREAM)
    await bus.publish(LiveEvent("typing", "c1", employee="Sanne", active=True))
    await bus.publish(
        LiveEvent("assistant", "c1", text="Terugbellen?", buttons=(("Ja", "/affirm"),))
    )
    typing, offer = await bus.read(CONSOLE_STREAM, start)
    assert (typing.kind, typing.active, typing.employee) == ("typing", True, "Sanne")
    assert offer.buttons == (("Ja", "/affirm"),)


@pytest.mark.parametrize("after", ["$", "abc", "1-2-3", "-1", "18446744073709551616-0"])
async def test_a_malformed_position_is_refused(buses: Buses, after: str) -> None:
    with pytest.raises(ValueError):
        await buses.make().read(CONSOLE_STREAM, after)


async def test_an_unreachable_redis_is_reported_as_unavailable() -> None:
    bus = RedisMessageBus("redis://127.0.0.1:1/0", timeout=1.0)
    try:
        with pytest.raises(BusUnavailable):
            await bus.publish(resident("c1", "hallo"))
        with pytest.raises(BusUnavailable):
            await bus.read(CONSOLE_STREAM, "0", block_ms=100)
    finally:
        await bus.close()


async def test_a_redis_that_never_answers_is_reported_as_unavailable() -> None:
    release = asyncio.Event()

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bus = RedisMessageBus(f"redis://127.0.0.1:{port}/0", timeout=0.2)
    try:
        with pytest.raises(BusUnavailable):
            await bus.publish(resident("c1", "hallo"))
        with pytest.raises(BusUnavailable):
            await bus.read(CONSOLE_STREAM, "0", block_ms=100)
    finally:
        release.set()
        await bus.close()
        server.close()
        await server.wait_closed()


async def test_redis_streams_expire_and_drop_entries_older_than_the_retention(
    redis_url: str, redis_prefix: str
) -> None:
    ttl = timedelta(days=2)
    bus = RedisMessageBus(redis_url, redis_prefix, ttl=ttl)
    raw = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        await raw.xadd(redis_prefix + CONSOLE_STREAM, {"event": "{}"}, id="1-0")  # in 1970
        await bus.publish(resident("c1", "hallo"))

        for stream in (conversation_stream("c1"), CONSOLE_STREAM):
            assert 0 < await raw.pttl(redis_prefix + stream) <= ttl.total_seconds() * 1000
        assert await raw.xlen(redis_prefix + CONSOLE_STREAM) == 1, "the 1970 entry is gone"
    finally:
        await raw.close()
        await bus.close()


async def test_a_redis_entry_without_an_event_field_is_skipped(
    redis_url: str, redis_prefix: str
) -> None:
    bus = RedisMessageBus(redis_url, redis_prefix)
    raw = aioredis.Redis.from_url(redis_url)
    try:
        await raw.xadd(redis_prefix + CONSOLE_STREAM, {"other": "GEHEIM"})
        await raw.xadd(redis_prefix + CONSOLE_STREAM, {"event": b"\xff\xfe not UTF-8"})
        await bus.publish(resident("c1", "goed"))
        assert texts(await bus.read(CONSOLE_STREAM, "0")) == ["goed"]
    finally:
        await raw.close()
        await bus.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_in_memory_entries_and_quiet_streams_go_after_the_retention() -> None:
    clock = Clock()
    bus = MemoryMessageBus(ttl=timedelta(hours=1), clock=clock)
    await bus.publish(resident("c1", "oud"))
    clock.now += 3000
    await bus.publish(resident("c1", "nieuwer"))
    clock.now += 1000  # "oud" is now older than the retention, "nieuwer" is not
    await bus.publish(resident("c1", "nieuwst"))
    assert texts(await bus.read(conversation_stream("c1"), "0")) == ["nieuwer", "nieuwst"]

    clock.now += 3601  # an hour without a word
    assert await bus.read(conversation_stream("c1"), "0") == []
    assert await bus.read(CONSOLE_STREAM, "0") == []


async def test_in_memory_ids_keep_increasing_when_the_clock_goes_back() -> None:
    clock = Clock()
    bus = MemoryMessageBus(clock=clock)
    first = await bus.publish(resident("c1", "een"))
    clock.now -= 10
    second = await bus.publish(resident("c1", "twee"))
    assert [e.text for e in await bus.read(CONSOLE_STREAM, first)] == ["twee"]
    assert second == f"{first.split('-')[0]}-1"


def test_an_event_survives_its_json_and_its_time_becomes_utc() -> None:
    at = datetime(2024, 5, 6, 10, 30, tzinfo=timezone(timedelta(hours=2)))
    event = LiveEvent("employee", "c1", text="Tot ziens \u00e9", employee="Sanne", at=at)
    decoded = decode_event(encode_event(event).encode(), "5-0", conversation_stream("c1"))
    assert decoded == LiveEvent("employee", "c1", "Tot ziens \u00e9", "Sanne", at, id="5-0")
    assert decoded is not None and decoded.at.utcoffset() == timedelta(0)


async def test_the_factory_uses_redis_only_when_a_url_is_configured(redis_url: str) -> None:
    assert isinstance(message_bus(None), MemoryMessageBus)
    assert isinstance(message_bus(""), MemoryMessageBus)
    shared = message_bus(redis_url)
    try:
        assert isinstance(shared, RedisMessageBus)
    finally:
        await shared.close()
