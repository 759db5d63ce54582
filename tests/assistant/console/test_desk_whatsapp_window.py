"""An employee and WhatsApp's 24-hour window: the console shows until when they can write to a
WhatsApp resident, their messages reach the resident's phone through the router's push hook,
and after the window the desk refuses to write (Meta would refuse the message anyway).

Real parts: the desk and router of desk_helpers, the WhatsApp channel's contact book and
sender, and the Graph API stand-in over HTTP.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from assistant.backends.whatsapp import WhatsAppClient
from assistant.console.desk_json import desk_state
from assistant.handoff.desk import Employee, WindowClosed
from assistant.sandbox import whatsapp as graph
from assistant.sql import engine_for
from channels.whatsapp.contacts import MemoryContactBook
from channels.whatsapp.outbound import Sender, WhatsAppPush
from channels.whatsapp.statuses import DeliveryStore
from tests.assistant.console.desk_helpers import DeskParts, desk_parts
from tests.sandbox.serving import serving, sqlite_url

TOKEN = secrets.token_urlsafe(16)
PHONE_NUMBER_ID = "100200300400"
SANNE = Employee("sanne", "Sanne", frozenset({"utrecht"}))


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[tuple[DeskParts, MemoryContactBook, str]]:
    """The desk with WhatsApp's push hook; yields it, the contact book and the Graph URL."""
    database = sqlite_url(tmp_path)
    contacts = MemoryContactBook()
    engine = engine_for(database)
    deliveries = DeliveryStore(engine)
    deliveries.ensure_schema()
    async with (
        serving(graph.create_app(database, tokens=[TOKEN])) as graph_url,
        desk_parts(database, None) as parts,
        WhatsAppClient(graph_url + "v19.0/", TOKEN, backoff_seconds=0) as client,
    ):
        sender = Sender(client, contacts, deliveries)
        parts.router.register_push("whatsapp-", WhatsAppPush(sender, contacts))
        yield parts, contacts, graph_url
    engine.dispose()


async def taken(parts: DeskParts) -> tuple[str, str]:
    handoff_id, conversation = await parts.waiting(
        channel="whatsapp", conversation="whatsapp-" + secrets.token_hex(16)
    )
    await parts.desk.take(handoff_id, SANNE)
    return handoff_id, conversation


async def sent_to(graph_url: str, wa_id: str) -> list[str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            graph_url + "_sandbox/messages",
            params={"to": wa_id},
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as response,
    ):
        return [m["payload"]["text"]["body"] for m in (await response.json())["messages"]]


async def test_inside_the_window_the_console_shows_its_end_and_the_message_reaches_whatsapp(
    desk: tuple[DeskParts, MemoryContactBook, str],
) -> None:
    parts, contacts, graph_url = desk
    handoff_id, conversation = await taken(parts)
    wrote = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=23)
    await contacts.remember(conversation, "31612345678", PHONE_NUMBER_ID, wrote)

    (mine,) = (await desk_state(parts.desk, SANNE)).body["mine"]
    assert dt.datetime.fromisoformat(mine["reply_until"]) == wrote + dt.timedelta(hours=24)
    await parts.desk.send(handoff_id, SANNE, "Ik kijk het voor u na.")
    assert await sent_to(graph_url, "31612345678") == ["*Sanne (gemeente):* Ik kijk het voor u na."]


async def test_after_the_window_the_desk_refuses_to_write_and_the_console_says_it_closed(
    desk: tuple[DeskParts, MemoryContactBook, str],
) -> None:
    parts, contacts, graph_url = desk
    handoff_id, conversation = await taken(parts)
    wrote = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=25)
    await contacts.remember(conversation, "31687654321", PHONE_NUMBER_ID, wrote)

    (mine,) = (await desk_state(parts.desk, SANNE)).body["mine"]
    assert dt.datetime.fromisoformat(mine["reply_until"]) < dt.datetime.now(dt.timezone.utc)
    with pytest.raises(WindowClosed):
        await parts.desk.send(handoff_id, SANNE, "Bent u er nog?")
    await parts.desk.hand_back(handoff_id, SANNE)  # handing back still works
    assert await sent_to(graph_url, "31687654321") == []


async def test_a_web_chat_has_no_window(desk: tuple[DeskParts, MemoryContactBook, str]) -> None:
    parts, _, _ = desk
    handoff_id, _ = await parts.waiting()
    await parts.desk.take(handoff_id, SANNE)
    (mine,) = (await desk_state(parts.desk, SANNE)).body["mine"]
    assert mine["reply_until"] is None
