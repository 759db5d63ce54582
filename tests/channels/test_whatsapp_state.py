"""What the WhatsApp channel keeps about a resident and its messages: the contact book
(in-process and in the real Redis) and the delivery statuses (SQLite and PostgreSQL)
(channels/whatsapp/contacts.py, statuses.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from assistant.sql import engine_for
from channels.whatsapp.contacts import (
    WINDOW,
    ContactBook,
    MemoryContactBook,
    RedisContactBook,
)
from channels.whatsapp.statuses import DeliveryStore

NUMBER = "31612345678"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now


# --- contact book ---------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
async def book(request: pytest.FixtureRequest) -> AsyncIterator[tuple[ContactBook, Clock]]:
    clock = Clock()
    if request.param == "memory":
        yield MemoryContactBook(clock), clock
        return
    made = RedisContactBook(
        request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix"), clock
    )
    yield made, clock
    await made.close()


async def test_a_contact_is_kept_for_the_24_hour_window(book: tuple[ContactBook, Clock]) -> None:
    contacts, clock = book
    await contacts.remember("whatsapp-1", NUMBER, "111", clock.now)
    contact = await contacts.get("whatsapp-1")
    assert contact is not None and (contact.wa_id, contact.phone_number_id) == (NUMBER, "111")
    assert NUMBER not in repr(contact)
    assert await contacts.reply_until("whatsapp-1") == clock.now + WINDOW
    clock.now += WINDOW
    assert await contacts.get("whatsapp-1") is None
    assert await contacts.reply_until("whatsapp-1") is None


async def test_a_late_older_message_does_not_shorten_the_window(
    book: tuple[ContactBook, Clock],
) -> None:
    contacts, clock = book
    await contacts.remember("whatsapp-1", NUMBER, "111", clock.now)
    await contacts.remember("whatsapp-1", NUMBER, "111", clock.now - dt.timedelta(hours=3))
    assert await contacts.reply_until("whatsapp-1") == clock.now + WINDOW
    later = clock.now + dt.timedelta(hours=1)
    await contacts.remember("whatsapp-1", NUMBER, "111", later)
    assert await contacts.reply_until("whatsapp-1") == later + WINDOW
    await contacts.forget("whatsapp-1")
    assert await contacts.get("whatsapp-1") is None


async def test_a_message_older_than_the_window_keeps_no_number(
    book: tuple[ContactBook, Clock],
) -> None:
    contacts, clock = book
    await contacts.remember("whatsapp-1", NUMBER, "111", clock.now - WINDOW)
    assert await contacts.get("whatsapp-1") is None


async def test_redis_forgets_the_number_when_the_window_closes(
    redis_url: str, redis_prefix: str
) -> None:
    contacts = RedisContactBook(redis_url, redis_prefix)
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        received = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=23)
        await contacts.remember("whatsapp-1", NUMBER, "111", received)
        (key,) = [key async for key in client.scan_iter(match=f"{redis_prefix}*")]
        assert "whatsapp-1" not in key
        assert 3590 <= await client.ttl(key) <= 3600  # the hour left of the window
    finally:
        await contacts.close()
        await client.close()


# --- delivery statuses ----------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'handoff.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def deliveries(database_url: str) -> Iterator[DeliveryStore]:
    store = DeliveryStore(engine_for(database_url))
    store.ensure_schema()
    yield store
    store.dispose()


def test_a_sent_message_is_recorded_with_its_conversation(deliveries: DeliveryStore) -> None:
    deliveries.record_sent("wamid.A", "whatsapp-1")
    delivery = deliveries.get("wamid.A")
    assert delivery is not None
    assert (delivery.conversation_id, delivery.status) == ("whatsapp-1", "accepted")


@pytest.mark.parametrize(
    ("callbacks", "final"),
    [
        (["sent", "delivered", "read"], "read"),
        (["read", "delivered", "sent"], "read"),
        (["sent", "read"], "read"),  # "delivered" skipped
        (["delivered", "sent"], "delivered"),
        (["read", "failed", "delivered"], "failed"),
    ],
)
def test_a_status_never_moves_back(
    deliveries: DeliveryStore, callbacks: list[str], final: str
) -> None:
    deliveries.record_sent("wamid.A", "whatsapp-1")
    for callback in callbacks:
        deliveries.record_status("wamid.A", callback, "131047" if callback == "failed" else None)
    delivery = deliveries.get("wamid.A")
    assert delivery is not None and delivery.status == final
    assert delivery.error_code == ("131047" if final == "failed" else None)


def test_failed_keeps_its_error_code(deliveries: DeliveryStore) -> None:
    deliveries.record_status("wamid.A", "failed", "131026")
    deliveries.record_status("wamid.A", "read")
    deliveries.record_status("wamid.A", "failed", "999")
    delivery = deliveries.get("wamid.A")
    assert delivery is not None and (delivery.status, delivery.error_code) == ("failed", "131026")


def test_a_callback_before_the_send_is_recorded_keeps_both(deliveries: DeliveryStore) -> None:
    deliveries.record_status("wamid.A", "delivered")
    deliveries.record_sent("wamid.A", "whatsapp-1")
    delivery = deliveries.get("wamid.A")
    assert delivery is not None
    assert (delivery.conversation_id, delivery.status) == ("whatsapp-1", "delivered")


def test_statuses_are_purged_after_the_retention_period(deliveries: DeliveryStore) -> None:
    deliveries.record_sent("wamid.A", "whatsapp-1")
    assert deliveries.purge_older_than(dt.timedelta(days=1)) == 0
    assert deliveries.purge_older_than(dt.timedelta(seconds=-1)) == 1
    assert deliveries.get("wamid.A") is None


def test_the_table_holds_no_message_id(deliveries: DeliveryStore, database_url: str) -> None:
    deliveries.record_sent("wamid.HBgLMzE2MTIzNDU2Nzg", "whatsapp-1")
    engine = engine_for(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT * FROM whatsapp_delivery").all()
    finally:
        engine.dispose()
    assert len(rows) == 1 and "HBgL" not in str(rows)
