"""Sending to a resident (channels/whatsapp/outbound.py) through the real Graph API client and
the sandbox's Graph API stand-in: only inside the 24-hour window, each sent message recorded for
its status callbacks, and the router's push hook."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assistant.backends.whatsapp import WhatsAppClient
from assistant.handoff.bus import LiveEvent
from assistant.sandbox import whatsapp as graph
from assistant.sql import engine_for
from channels.whatsapp.contacts import WINDOW, MemoryContactBook
from channels.whatsapp.outbound import Sender, WhatsAppPush
from channels.whatsapp.render import render
from channels.whatsapp.statuses import DeliveryStore
from tests.sandbox.serving import serving, sqlite_url

TOKEN = "graph-token-for-this-test"
NUMBER = "31612345678"
PHONE_NUMBER_ID = "100200300400"
CONVERSATION = "whatsapp-0123456789abcdef0123456789abcdef"


@dataclass
class Outbox:
    sender: Sender
    push: WhatsAppPush
    contacts: MemoryContactBook
    deliveries: DeliveryStore
    http: aiohttp.ClientSession
    url: str

    async def sent(self) -> list[dict[str, Any]]:
        async with self.http.get(
            f"{self.url}_sandbox/messages", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as response:
            return (await response.json())["messages"]

    async def fail_next(self, status: int) -> None:
        async with self.http.post(
            f"{self.url}_sandbox/failures",
            json={"status": status, "times": 1},
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as response:
            assert response.status == 200


@pytest.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[Outbox]:
    app = graph.create_app(sqlite_url(tmp_path), tokens=[TOKEN])
    deliveries = DeliveryStore(engine_for(f"sqlite:///{tmp_path / 'handoff.sqlite'}"))
    deliveries.ensure_schema()
    async with serving(app, "/whatsapp") as url, aiohttp.ClientSession() as http:
        client = WhatsAppClient(url + "v19.0/", TOKEN, session=http, backoff_seconds=0)
        contacts = MemoryContactBook()
        sender = Sender(client, contacts, deliveries)
        yield Outbox(sender, WhatsAppPush(sender, contacts), contacts, deliveries, http, url)
    deliveries.dispose()


async def write(outbox: Outbox) -> None:
    """The resident wrote just now: the window is open."""
    now = dt.datetime.now(dt.timezone.utc)
    await outbox.contacts.remember(CONVERSATION, NUMBER, PHONE_NUMBER_ID, now)


async def test_inside_the_window_messages_are_sent_and_recorded(outbox: Outbox) -> None:
    await write(outbox)
    parts = render({"text": "Klopt dit?", "buttons": [{"title": "Ja", "payload": "/affirm"}]})
    assert await outbox.sender.send(CONVERSATION, parts) == 1
    (sent,) = await outbox.sent()
    assert (sent["to"], sent["phone_number_id"]) == (NUMBER, PHONE_NUMBER_ID)
    assert sent["payload"]["interactive"]["type"] == "button"
    delivery = outbox.deliveries.get(sent["id"])
    assert delivery is not None and delivery.conversation_id == CONVERSATION


async def test_outside_the_window_nothing_is_sent_and_the_number_is_not_logged(
    outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    long_ago = dt.datetime.now(dt.timezone.utc) - WINDOW - dt.timedelta(minutes=1)
    await outbox.contacts.remember(CONVERSATION, NUMBER, PHONE_NUMBER_ID, long_ago)
    assert await outbox.sender.say(CONVERSATION, "Hallo") == 0
    assert await outbox.sent() == []
    assert "outside the 24-hour window" in caplog.text
    assert NUMBER not in caplog.text and CONVERSATION not in caplog.text


async def test_when_meta_says_the_window_closed_the_contact_is_forgotten(
    outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    await write(outbox)
    await outbox.fail_next(400)  # code 131047
    assert await outbox.sender.send(CONVERSATION, render({"text": "Een.\n\nTwee."})) == 0
    assert await outbox.contacts.get(CONVERSATION) is None
    assert "outside the 24-hour window (Graph)" in caplog.text
    assert NUMBER not in caplog.text


async def test_a_busy_graph_api_is_tried_again(outbox: Outbox) -> None:
    await write(outbox)
    await outbox.fail_next(429)
    assert await outbox.sender.say(CONVERSATION, "Hallo") == 1
    assert len(await outbox.sent()) == 1


async def test_the_push_hook_sends_an_employees_words_and_knows_the_window(
    outbox: Outbox,
) -> None:
    assert await outbox.push.reply_until(CONVERSATION) is None
    await write(outbox)
    until = await outbox.push.reply_until(CONVERSATION)
    assert until is not None and until > dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=23)
    await outbox.push.push(
        LiveEvent("employee", CONVERSATION, text="Ik kijk het voor u na.", employee="Sanne")
    )
    (sent,) = await outbox.sent()
    assert sent["payload"]["text"]["body"] == "*Sanne (gemeente):* Ik kijk het voor u na."
