"""The voice core's way to the assistant: one message through the conversation router, like
every channel, and the dialogue's messages of that turn back.

The output channel is named "voice" for both connectors, so Rasa picks the responses'
``channel: voice`` variants (spoken wording, a transfer instead of a chat queue); the input
channel keeps the connector's own name ("voice", "audiocodes") for the tracker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from rasa.core.channels.channel import OutputChannel, UserMessage

from assistant.handoff.router import UNANSWERED_ACTION
from assistant.handoff.runtime import handoff_for
from assistant.settings import Settings

logger = logging.getLogger(__name__)

OUTPUT_CHANNEL = "voice"
# Twilio gives up on a webhook after 15 seconds and plays its own error to the caller; ours
# is kinder, so it must come first.
RESPONSE_TIMEOUT_SECONDS = 12.0


class DialogueUnavailable(Exception):
    """The assistant is not loaded yet or failed on the message."""


@dataclass(frozen=True)
class Reply:
    """The dialogue's messages of one turn (Rasa's dicts: text, buttons, custom).

    `to_person`: the message went to the KCC employee who has the conversation; `refused`: a
    button payload was dropped for the same reason."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    to_person: bool = False
    refused: bool = False


class Dialogue(Protocol):
    async def ask(self, conversation_id: str, text: str, municipality: str) -> Reply:
        """Send `text` (a transcript, digits or a payload) and return the dialogue's answer.

        Raises DialogueUnavailable when the assistant cannot answer."""

    async def unanswered(self, conversation_id: str) -> Reply:
        """What the dialogue says when nobody of the KCC took a transferred call (a callback
        offer); raises DialogueUnavailable when the assistant cannot answer."""


class VoiceOutput(OutputChannel):
    """Collects Rasa's messages whole (text, buttons and custom payload together)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    @classmethod
    def name(cls) -> str:
        return OUTPUT_CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.messages.append(dict(message))


class RasaDialogue:
    """`Dialogue` through the process's conversation router and Rasa's `on_new_message`."""

    def __init__(
        self,
        app: Any,
        settings: Settings,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        input_channel: str,
    ) -> None:
        self._app = app
        self._settings = settings
        self._on_new_message = on_new_message
        self._input_channel = input_channel

    async def ask(self, conversation_id: str, text: str, municipality: str) -> Reply:
        agent = getattr(self._app.ctx, "agent", None)
        if agent is None or not agent.is_ready():
            raise DialogueUnavailable("the assistant is not ready")
        output = VoiceOutput()
        message = UserMessage(
            text=text,
            output_channel=output,
            sender_id=conversation_id,
            input_channel=self._input_channel,
            metadata={"municipality": municipality},
        )
        try:
            router = handoff_for(self._app, self._settings).router
            routed = await asyncio.wait_for(
                router.route(message, self._on_new_message), RESPONSE_TIMEOUT_SECONDS
            )
        except Exception as error:
            logger.exception("voice: the assistant failed on a turn")
            raise DialogueUnavailable("the assistant failed") from error
        return Reply(output.messages, to_person=routed.to_person, refused=routed.refused)

    async def unanswered(self, conversation_id: str) -> Reply:
        output = VoiceOutput()
        try:
            log = handoff_for(self._app, self._settings).router.log
            await asyncio.wait_for(
                log.run_action(conversation_id, UNANSWERED_ACTION, output),
                RESPONSE_TIMEOUT_SECONDS,
            )
        except Exception as error:
            logger.exception("voice: the assistant failed after an unanswered transfer")
            raise DialogueUnavailable("the assistant failed") from error
        return Reply(output.messages)
