"""What happens to one queued WhatsApp message or status: translation only, no business logic.

A message: the resident may be answered for 24 hours from now on (contact book); it is marked
read; then, by type:

- text: cleaned like every channel's text (channels/text.py) and routed;
- a tapped button or list row: the payload we offered, if this conversation's current session
  offered it (else its title, as if typed); "Niet meer wachten" leaves the handoff queue;
- a shared location: "/inform" with the point in the metadata (`location`), for a report form
  asking where something is;
- media, voice notes, contact cards and other types: answered here, in Dutch, with what the
  assistant can read; reactions and system messages: nothing.

Every routed message goes through the handoff router, like the web chat's: while an employee
has the conversation it is theirs and the assistant does not answer. The municipality is the
one of the receiving WhatsApp number (WHATSAPP_NUMBERS).

A status: recorded (statuses.py); a failure is logged with its error code only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import UserMessage

from assistant.backends.errors import BackendError
from assistant.handoff.runtime import handoff_for
from assistant.settings import TURN_TIMEOUT_SECONDS, Settings
from assistant.transcript import current_session
from channels.limits import MessageLimits
from channels.text import InvalidText, resident_text
from channels.webchat import offered_payloads
from channels.whatsapp import texts
from channels.whatsapp.config import WhatsAppConfig
from channels.whatsapp.contacts import ContactBook
from channels.whatsapp.dedup import SeenStore
from channels.whatsapp.messages import (
    Ignored,
    Inbound,
    Location,
    Reply,
    StatusUpdate,
    Text,
    Unsupported,
)
from channels.whatsapp.outbound import CHANNEL_NAME, GraphClient, Sender, WhatsAppOutput
from channels.whatsapp.render import STOP_WAITING_ID, payload_for_reply
from channels.whatsapp.security import conversation_id, log_id
from channels.whatsapp.statuses import DeliveryStore

logger = logging.getLogger(__name__)

TOO_FAST_NOTICE_SECONDS = 60
# Rate limits count per conversation and per client address (channels/limits.py). Every
# WhatsApp call comes from Meta's servers, so one address "whatsapp" would make all residents
# share one budget and one busy resident (or a busy hour) silence the rest; the resident's own
# conversation stands in for their address instead.
ADDRESS_PREFIX = "whatsapp:"
LOCATION_INTENT = "/inform"


def item_conversation(key: bytes, item: dict[str, Any]) -> str:
    """The conversation a queued item belongs to (its order key in the consumer)."""
    if item.get("kind") == "message":
        message = item["message"]
        return conversation_id(key, message["phone_number_id"], message["wa_id"])
    return "status:" + str(item.get("status", {}).get("message_id"))


@dataclass
class Handler:
    config: WhatsAppConfig
    settings: Settings
    key: bytes
    app: Any
    on_new_message: Callable[[UserMessage], Awaitable[Any]]
    client: GraphClient
    sender: Sender
    contacts: ContactBook
    seen: SeenStore
    deliveries: DeliveryStore
    limits: MessageLimits

    async def __call__(self, item: dict[str, Any]) -> None:
        kind = item.get("kind")
        if kind == "message":
            await self.message(Inbound.from_json(item["message"]))
        elif kind == "status":
            await self.status(StatusUpdate.from_json(item["status"]))
        else:
            logger.warning("whatsapp: skipped a queued item of unknown kind")

    async def status(self, update: StatusUpdate) -> None:
        await asyncio.to_thread(
            self.deliveries.record_status, update.message_id, update.status, update.error_code
        )
        if update.status == "failed":
            logger.warning(
                "whatsapp: a message was not delivered (error code %s)", update.error_code
            )

    async def message(self, inbound: Inbound) -> None:
        conversation = conversation_id(self.key, inbound.phone_number_id, inbound.wa_id)
        await self.contacts.remember(
            conversation, inbound.wa_id, inbound.phone_number_id, _received_at(inbound)
        )
        if isinstance(inbound.content, Ignored):
            return
        reading = asyncio.create_task(self._mark_read(inbound))
        try:
            await self._answer(conversation, inbound)
        finally:
            await reading

    async def _mark_read(self, inbound: Inbound) -> None:
        """Blue ticks for the resident: a nicety, so a failure is only noted."""
        try:
            await self.client.mark_read(inbound.phone_number_id, inbound.message_id)
        except BackendError as error:
            logger.info("whatsapp: marking a message read failed: %s", type(error).__name__)

    async def _answer(self, conversation: str, inbound: Inbound) -> None:
        if not await self.limits.allow_message(conversation, ADDRESS_PREFIX + log_id(conversation)):
            # Told once a minute, not for every message over the limit.
            if await self.seen.first(f"too-fast:{conversation}", TOO_FAST_NOTICE_SECONDS):
                await self.sender.say(conversation, texts.TOO_FAST)
            return
        content = inbound.content
        if isinstance(content, Unsupported):
            await self.sender.say(conversation, texts.UNSUPPORTED)
            return
        agent = getattr(self.app.ctx, "agent", None)
        if agent is None or not agent.is_ready():
            await self.sender.say(conversation, texts.NOT_READY)
            return
        municipality = self.config.municipality_for(inbound.phone_number_id)
        metadata: dict[str, Any] = {"municipality": municipality}
        if isinstance(content, Text):
            try:
                text = resident_text(content.body)
            except InvalidText as problem:
                await self.sender.say(conversation, texts.INVALID_TEXT[problem.reason])
                return
        elif isinstance(content, Reply):
            if content.reply_id == STOP_WAITING_ID:
                await self._stop_waiting(conversation)
                return
            chosen = await self._chosen(agent, conversation, content)
            if chosen is None:
                await self.sender.say(conversation, texts.UNKNOWN_CHOICE)
                return
            text = chosen
        elif isinstance(content, Location):
            text = LOCATION_INTENT
            metadata["location"] = _location(content)
        else:
            return
        await self._route(conversation, text, metadata)

    async def _chosen(self, agent: Any, conversation: str, reply: Reply) -> str | None:
        """The payload of a button this conversation offered, else the title as typed text."""
        tracker = await agent.tracker_store.retrieve(conversation)
        events = current_session(tracker.events) if tracker is not None else []
        payload = payload_for_reply(reply.reply_id, offered_payloads(events))
        if payload is not None:
            return payload
        try:
            return resident_text(reply.title)
        except InvalidText:
            return None

    async def _stop_waiting(self, conversation: str) -> None:
        router = handoff_for(self.app, self.settings).router
        # On success the router pushes its notice ("U wacht niet meer…") through WhatsAppPush.
        if not await router.stop_waiting(conversation):
            await self.sender.say(conversation, texts.NOT_WAITING)

    async def _route(self, conversation: str, text: str, metadata: dict[str, Any]) -> None:
        user_message = UserMessage(
            text=text,
            output_channel=WhatsAppOutput(self.sender, conversation),
            sender_id=conversation,
            input_channel=CHANNEL_NAME,
            metadata=metadata,
        )
        router = handoff_for(self.app, self.settings).router
        routed = await router.route(user_message, lambda m: self._ask_assistant(conversation, m))
        if routed.refused:
            await self.sender.say(conversation, texts.WITH_PERSON)

    async def _ask_assistant(self, conversation: str, user_message: UserMessage) -> None:
        try:
            await asyncio.wait_for(self.on_new_message(user_message), TURN_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            logger.error("whatsapp conversation %s: no answer in time", log_id(conversation))
            await self.sender.say(conversation, texts.UNAVAILABLE)
        except Exception:
            logger.exception("whatsapp conversation %s: Rasa failed", log_id(conversation))
            await self.sender.say(conversation, texts.UNAVAILABLE)


def _received_at(inbound: Inbound) -> dt.datetime:
    """When the window opened: WhatsApp's time of the message, never later than now."""
    now = dt.datetime.now(dt.timezone.utc)
    if inbound.timestamp is None:
        return now
    try:
        return min(now, dt.datetime.fromtimestamp(inbound.timestamp, dt.timezone.utc))
    except (OverflowError, ValueError, OSError):  # a time no clock shows
        return now


def _location(location: Location) -> dict[str, Any]:
    shared: dict[str, Any] = {"latitude": location.latitude, "longitude": location.longitude}
    if location.name:
        shared["name"] = location.name
    if location.address:
        shared["address"] = location.address
    return shared
