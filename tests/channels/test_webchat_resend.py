"""Copies of one web chat message (channels/webchat.py, "Answered once"), one connection at a time.

The channel runs in this process with its claims in the real Redis; Rasa's agent is a stand-in
whose tracker store holds the conversation as a test left it, and the connection is a list of
the frames sent. So a test can leave a claim as a killed process leaves it (PENDING) and show
what a copy of the message gets then, without killing anything.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.once import PENDING
from assistant.settings import TURN_TIMEOUT_SECONDS, load_settings
from channels.webchat import (
    MESSAGE_ID_KEY,
    SENDER_PREFIX,
    Message,
    WebChatInput,
    _Conversation,
    history_messages,
)
from tests.conftest import delete_redis_keys

LOCK_LIFETIME = 30
QUESTION = "wat kost een paspoort"
ANSWER = "Een paspoort kost € 84,70."


class TrackerStore:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def retrieve(self, sender_id: str) -> DialogueStateTracker:
        return DialogueStateTracker.from_events(sender_id, self.events)


class Socket:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def send(self, text: str) -> None:
        self.frames.append(json.loads(text))


class Router:
    """No person has the conversation: every message goes to the assistant."""

    async def route(
        self, message: UserMessage, to_rasa: Callable[[UserMessage], Awaitable[Any]]
    ) -> Any:
        await to_rasa(message)
        return SimpleNamespace(to_person=False, refused=False)


class Conversation:
    """One connection of the resident whose conversation the test controls."""

    def __init__(self, channel: WebChatInput, store: TrackerStore, sender_id: str) -> None:
        self.asked: list[UserMessage] = []  # what reached "Rasa"
        self.socket = Socket()
        agent = SimpleNamespace(is_ready=lambda: True, tracker_store=store)
        handoff = SimpleNamespace(router=Router())
        app = SimpleNamespace(ctx=SimpleNamespace(agent=agent, handoff=handoff))
        request = SimpleNamespace(app=app, remote_addr="10.1.2.3", ip="10.1.2.3")
        self.connection = _Conversation(channel, request, self.socket, self._ask)
        self.connection.sender_id = sender_id

    async def _ask(self, message: UserMessage) -> None:
        self.asked.append(message)

    async def send(self, text: str, message_id: str) -> list[dict[str, Any]]:
        await self.connection.message(Message(text=text, id=message_id))
        frames, self.socket.frames = self.socket.frames, []
        return frames


@pytest.fixture
def sender_id(redis_url: str) -> Iterator[str]:
    sender = SENDER_PREFIX + secrets.token_urlsafe(16)
    yield sender
    delete_redis_keys(redis_url, f"webchat:answered:{sender}:")


@pytest.fixture
def channel(redis_url: str, tmp_path: Path) -> WebChatInput:
    settings = load_settings(
        {
            "REDIS_URL": redis_url,
            "FEEDBACK_DATABASE_URL": f"sqlite:///{tmp_path / 'feedback.sqlite'}",
            "TICKET_LOCK_LIFETIME": str(LOCK_LIFETIME),
        }
    )
    return WebChatInput(settings)


def answered_turn(message_id: str) -> list[Event]:
    """A turn as Rasa stores it: the resident's message (with the widget's id) and the answer."""
    return [
        UserUttered(QUESTION, metadata={MESSAGE_ID_KEY: message_id}, timestamp=100.0),
        BotUttered(ANSWER, metadata={"utter_action": "utter_document_fee"}, timestamp=101.0),
    ]


def claim_ttl(redis_url: str, sender_id: str, message_id: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.ttl(f"webchat:answered:{sender_id}:{message_id}"))
    finally:
        client.close()


async def test_a_claim_left_pending_by_a_killed_process_whose_turn_was_stored_is_done(
    channel: WebChatInput, sender_id: str
) -> None:
    """The process stored the turn and died before recording the answer: the copy gets the
    stored answer and `done`, and Rasa is not asked again."""
    store = TrackerStore()
    store.events = answered_turn("bericht-0001")
    assert await channel.answered.claim(f"{sender_id}:bericht-0001") is None  # the dead one's
    resident = Conversation(channel, store, sender_id)

    frames = await resident.send(QUESTION, "bericht-0001")

    assert [f["type"] for f in frames] == ["bot", "ack"]
    assert frames[0]["text"] == ANSWER
    assert frames[-1] == {"type": "ack", "id": "bericht-0001", "state": "done"}
    assert resident.asked == []
    # Recorded now, so the claim cannot expire into a second answer.
    assert await channel.answered.claim(f"{sender_id}:bericht-0001") == "done"
    assert await resident.send(QUESTION, "bericht-0001") == [
        {"type": "ack", "id": "bericht-0001", "state": "done"}
    ], "this connection has shown the answer: only the ack"


async def test_a_claim_left_pending_without_a_stored_turn_stays_pending_until_it_expires(
    channel: WebChatInput, sender_id: str, redis_url: str
) -> None:
    """The process died before Rasa stored the turn (or is still working on it): the copy must
    wait; the claim expires after Rasa's lock lifetime, which outlives any turn."""
    store = TrackerStore()
    store.events = answered_turn("bericht-0001")  # an earlier message, answered
    assert await channel.answered.claim(f"{sender_id}:bericht-0002") is None
    resident = Conversation(channel, store, sender_id)

    frames = await resident.send("en een identiteitskaart", "bericht-0002")

    assert frames == [{"type": "ack", "id": "bericht-0002", "state": "pending"}]
    assert resident.asked == []
    assert await channel.answered.claim(f"{sender_id}:bericht-0002") == PENDING
    assert TURN_TIMEOUT_SECONDS < claim_ttl(redis_url, sender_id, "bericht-0002") <= LOCK_LIFETIME


async def test_a_new_message_reaches_rasa_with_its_id_and_is_acknowledged_after_it(
    channel: WebChatInput, sender_id: str
) -> None:
    resident = Conversation(channel, TrackerStore(), sender_id)
    frames = await resident.send(QUESTION, "bericht-0003")
    (asked,) = resident.asked
    assert asked.metadata == {"municipality": "utrecht", MESSAGE_ID_KEY: "bericht-0003"}
    assert frames[0] == {"type": "typing", "active": True}
    assert frames[-1] == {"type": "ack", "id": "bericht-0003", "state": "done"}


def test_history_items_carry_the_ids_the_messages_were_sent_with() -> None:
    events = [
        *answered_turn("bericht-0001"),
        UserUttered("hallo", timestamp=102.0),  # sent without an id (an older widget)
        UserUttered(QUESTION, metadata={MESSAGE_ID_KEY: "<script>"}, timestamp=103.0),
    ]
    users = [item for item in history_messages(events) if item["role"] == "user"]
    assert users == [
        {"role": "user", "text": QUESTION, "id": "bericht-0001"},
        {"role": "user", "text": "hallo"},
        {"role": "user", "text": QUESTION},  # not an id the protocol allows: left out
    ]
