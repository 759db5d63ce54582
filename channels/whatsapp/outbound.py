"""Sending to a resident: the contact book says where to, the Graph API client sends.

Everything the channel says goes through `Sender.send`: the assistant's answers in a resident's
turn (`WhatsAppOutput`) and what the router pushes outside it (`WhatsAppPush`: an employee's
messages, the notices of a handoff, the callback offer). Only inside WhatsApp's 24-hour window:
without a contact in the book the messages are dropped with a warning, as Meta would refuse
them. Each accepted message is recorded for its status callbacks. Logs name the conversation
by a short hash, never the number or the text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from rasa.core.channels.channel import OutputChannel

from assistant.backends.errors import BackendError, BackendRejected
from assistant.handoff.bus import LiveEvent
from channels.whatsapp.contacts import ContactBook
from channels.whatsapp.render import Part, render, render_event, text_part
from channels.whatsapp.security import log_id
from channels.whatsapp.statuses import DeliveryStore

logger = logging.getLogger(__name__)

CHANNEL_NAME = "whatsapp"
# Graph error code: more than 24 hours since the resident's last message.
OUTSIDE_WINDOW = "131047"


class GraphClient(Protocol):
    """What the channel needs of `assistant.backends.whatsapp.WhatsAppClient`."""

    async def send(self, phone_number_id: str, to: str, message: Mapping[str, Any]) -> str: ...

    async def mark_read(self, phone_number_id: str, message_id: str) -> None: ...


class Sender:
    def __init__(
        self, client: GraphClient, contacts: ContactBook, deliveries: DeliveryStore
    ) -> None:
        self._client = client
        self._contacts = contacts
        self._deliveries = deliveries

    async def send(self, conversation_id: str, parts: Sequence[Part]) -> int:
        """Send `parts` in order; returns how many the Graph API accepted."""
        if not parts:
            return 0
        contact = await self._contacts.get(conversation_id)
        if contact is None:
            logger.warning(
                "whatsapp: conversation %s is outside the 24-hour window; %d message(s) dropped",
                log_id(conversation_id),
                len(parts),
            )
            return 0
        sent = 0
        for part in parts:
            try:
                wamid = await self._client.send(contact.phone_number_id, contact.wa_id, part)
            except BackendRejected as error:
                if error.code == OUTSIDE_WINDOW:
                    # Meta's clock decides; our book was wrong (e.g. a clock skew): stop trying.
                    await self._contacts.forget(conversation_id)
                    logger.warning(
                        "whatsapp: conversation %s is outside the 24-hour window (Graph); "
                        "%d message(s) dropped",
                        log_id(conversation_id),
                        len(parts) - sent,
                    )
                    return sent
                logger.error(
                    "whatsapp: a message of conversation %s was refused (status %s, code %s)",
                    log_id(conversation_id),
                    error.status,
                    error.code,
                )
                continue
            except BackendError as error:
                logger.error(
                    "whatsapp: conversation %s not answered, Graph API unavailable: %s",
                    log_id(conversation_id),
                    type(error).__name__,
                )
                return sent
            sent += 1
            try:
                await asyncio.to_thread(self._deliveries.record_sent, wamid, conversation_id)
            except Exception:  # the message went out; only its status tracking is lost
                logger.exception("whatsapp: recording a sent message failed")
        return sent

    async def say(self, conversation_id: str, text: str) -> int:
        """One plain text of the channel's own (texts.py)."""
        return await self.send(conversation_id, [text_part(text)])


class WhatsAppOutput(OutputChannel):
    """The assistant's messages in a resident's turn, each sent the moment Rasa produces it."""

    def __init__(self, sender: Sender, conversation_id: str) -> None:
        self._sender = sender
        self._conversation_id = conversation_id

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        # Overridden whole: the base class would split the message into separate calls and
        # lose the buttons' connection to their text.
        await self._sender.send(self._conversation_id, render(message))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text, **kwargs})


class WhatsAppPush:
    """The router's push hook (assistant.handoff.router.PushChannel) for "whatsapp-" ids."""

    def __init__(self, sender: Sender, contacts: ContactBook) -> None:
        self._sender = sender
        self._contacts = contacts

    async def push(self, event: LiveEvent) -> None:
        await self._sender.send(event.conversation_id, render_event(event))

    async def reply_until(self, conversation_id: str) -> dt.datetime | None:
        return await self._contacts.reply_until(conversation_id)
