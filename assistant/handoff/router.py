"""The conversation router: per message, the assistant answers or the person who has it does.

Every channel hands a resident's message to `Router.route` instead of straight to Rasa. While a
conversation waits for or is held by a KCC employee (its handoff request is open in the store),
the message never reaches Rasa's processor: it is recorded in the conversation's tracker and put
on the live bus for the employee. That one check also closes Rasa's two traps: a message after
`session_expiration_time` would start a new session, which clears the pause, and a `/restart`
payload is handled even while paused; neither can reach Rasa here, so neither hands a taken-over
conversation back to the assistant.

A resident asks for a person through the dialogue: `action_handoff_accept` queues the request
and pauses the conversation, and utters a custom payload `{"handoff": {...}}` that the router
notices on its way to the channel, to tell the consoles someone is waiting. Timers are rows in
the store, not sleeping tasks: `expire_unanswered` (run by every Rasa process now and then)
closes what waited too long, each request in exactly one process, and lets the assistant offer
a callback.

A web chat holds a connection that reads the live bus. A channel without one (WhatsApp) gets
what is said outside the resident's turn pushed to it instead: it registers a `PushChannel` for
its conversation ids, and `publish` hands it every event the resident must read. Publishing
happens once, in the process where it was said, so each message is pushed exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationResumed,
    UserUttered,
)

from assistant.content import known_municipalities, load_municipality
from assistant.handoff import notices
from assistant.handoff.bus import MAX_BUTTONS, BusUnavailable, LiveEvent, MessageBus
from assistant.handoff.conversation_log import ACTION_LISTEN, ConversationLog
from assistant.handoff.store import Closed, Handoff, HandoffStore, Status
from assistant.transcript import NOTICE

logger = logging.getLogger(__name__)

# The custom payload key of the assistant's "you are in the queue" message.
HANDOFF_KEY = "handoff"
# Run by the router when nobody took a request in time: offers a callback (actions/handoff.py).
UNANSWERED_ACTION = "action_handoff_unanswered"
# What a resident reads of the live events; the rest (typing, "waiting", their own messages)
# a pushed channel has no use for.
PUSHED_KINDS = frozenset({"employee", "joined", "assistant_back", "closed", "assistant"})


class PushChannel(Protocol):
    """A channel that delivers messages outside a resident's turn itself (WhatsApp)."""

    async def push(self, event: LiveEvent) -> None:
        """Deliver `event` (a kind in PUSHED_KINDS, with text) to the resident."""

    async def reply_until(self, conversation_id: str) -> datetime | None:
        """Until when the channel may still write to the resident (WhatsApp's 24-hour
        customer-service window); None when it can no longer reach them."""


@dataclass(frozen=True)
class Routed:
    """Where a message went. `handoff` is the conversation's open request after it, if any;
    `refused`: a button payload dropped because a person has the conversation."""

    handoff: Handoff | None
    to_person: bool
    refused: bool = False


class _NoticingOutput(OutputChannel):
    """Passes Rasa's messages to the channel and notices a request for a person among them."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.requested = False

    def name(self) -> str:  # type: ignore[override]  # the channel's name, for its responses
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        custom = message.get("custom")
        if isinstance(custom, dict) and HANDOFF_KEY in custom:
            self.requested = True
        await self.inner.send_response(recipient_id, message)


class _BusOutput(OutputChannel):
    """The assistant's words outside a resident's turn, to whichever process holds their
    connection (recorded in the tracker by Rasa as usual)."""

    def __init__(self, router: Router, conversation_id: str, channel: str) -> None:
        self._router = router
        self._conversation_id = conversation_id
        self._channel = channel

    def name(self) -> str:  # type: ignore[override]
        return self._channel

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        text = message.get("text") if isinstance(message.get("text"), str) else ""
        buttons = tuple(
            (str(button["title"]), str(button["payload"]))
            for button in message.get("buttons") or []
            if isinstance(button, dict) and button.get("title") and button.get("payload")
        )[:MAX_BUTTONS]
        timestamp = message.get("timestamp")
        at = (
            datetime.fromtimestamp(timestamp, timezone.utc)
            if isinstance(timestamp, float | int)
            else datetime.now(timezone.utc)
        )
        await self._router.publish(
            LiveEvent("assistant", self._conversation_id, text=text, at=at, buttons=buttons)
        )


class Router:
    def __init__(
        self,
        store: HandoffStore,
        bus: MessageBus,
        log: ConversationLog,
        municipalities: Callable[[], Iterable[str]] = known_municipalities,
    ) -> None:
        self.store = store
        self.bus = bus
        self.log = log
        self._municipalities = municipalities
        self._pushed: dict[str, PushChannel] = {}

    def register_push(self, prefix: str, channel: PushChannel) -> None:
        """Push the live events of conversations whose id starts with `prefix` to `channel`."""
        self._pushed[prefix] = channel

    def push_channel(self, conversation_id: str) -> PushChannel | None:
        return next(
            (
                channel
                for prefix, channel in self._pushed.items()
                if conversation_id.startswith(prefix)
            ),
            None,
        )

    async def route(
        self, message: UserMessage, to_rasa: Callable[[UserMessage], Awaitable[Any]]
    ) -> Routed:
        """Hand `message` to Rasa, or record it for the person who has the conversation.

        A button payload ("/restart", an old quick reply) is not a message for a person: it is
        dropped while the handoff is open (`refused`), so the channel can say so.
        """
        sender = message.sender_id
        handoff = await asyncio.to_thread(self.store.open_for, sender)
        if handoff is None:
            noticing = _NoticingOutput(message.output_channel)
            message.output_channel = noticing
            await to_rasa(message)
            if not noticing.requested:
                return Routed(None, to_person=False)
            handoff = await asyncio.to_thread(self.store.open_for, sender)
            if handoff is not None:
                await self.publish(LiveEvent("waiting", sender))
            return Routed(handoff, to_person=False)
        text = message.text or ""
        if text.startswith("/"):
            return Routed(handoff, to_person=False, refused=True)
        at = datetime.now(timezone.utc)
        await self.log.append(
            sender,
            [
                UserUttered(
                    text,
                    metadata=message.metadata,
                    input_channel=message.input_channel,
                    timestamp=at.timestamp(),
                )
            ],
        )
        await self.publish(LiveEvent("resident", sender, text=text, at=at))
        return Routed(handoff, to_person=True)

    async def typing(self, conversation_id: str, active: bool) -> None:
        """The resident types to the employee who has the conversation."""
        await self.publish(LiveEvent("typing", conversation_id, active=active))

    async def stop_waiting(self, conversation_id: str) -> bool:
        """The resident no longer waits for a person; False when nobody waits (any more) or
        an employee already took the conversation."""
        handoff = await asyncio.to_thread(self.store.open_for, conversation_id)
        if handoff is None or handoff.status is not Status.WAITING:
            return False
        if not await asyncio.to_thread(
            self.store.close, handoff.id, Closed.LEFT, only_waiting=True
        ):
            return False
        await self.resume(conversation_id, notices.STOPPED_WAITING)
        await self.publish(LiveEvent("closed", conversation_id, text=notices.STOPPED_WAITING))
        return True

    async def resume(self, conversation_id: str, notice: str, employee: str = "") -> float:
        """Give the conversation back to the assistant with a notice the resident reads;
        returns the notice's timestamp (its message id's)."""
        at = datetime.now(timezone.utc).timestamp()
        metadata = {NOTICE: True, "employee": employee} if employee else {NOTICE: True}
        await self.log.append(
            conversation_id,
            [
                BotUttered(notice, metadata=metadata, timestamp=at),
                ConversationResumed(),
                ActionExecuted(ACTION_LISTEN),
            ],
        )
        return at

    async def expire_unanswered(self) -> int:
        """Close the requests that waited longer than their KCC's queue timeout and offer each
        resident a callback. Returns how many expired here."""
        expired = 0
        for municipality in sorted(self._municipalities()):
            kcc = load_municipality(municipality).kcc
            if kcc is None:
                continue
            for handoff in await asyncio.to_thread(
                self.store.expire_waiting, kcc.queue_timeout, municipality
            ):
                expired += 1
                await self._unanswered(handoff)
        return expired

    async def _unanswered(self, handoff: Handoff) -> None:
        conversation = handoff.conversation_id
        await self.log.append(conversation, [ConversationResumed()])
        await self.publish(LiveEvent("closed", conversation))
        await self.log.run_action(
            conversation, UNANSWERED_ACTION, _BusOutput(self, conversation, handoff.channel)
        )

    async def publish(self, event: LiveEvent) -> None:
        """Live delivery is best effort: what was said is in the tracker already, and a console
        or chat that missed it shows it from there after a reload."""
        try:
            await self.bus.publish(event)
        except BusUnavailable as error:
            logger.error("handoff: live event %s not delivered: %s", event.kind, error)
        channel = self.push_channel(event.conversation_id)
        if channel is None or event.kind not in PUSHED_KINDS or not event.text:
            return
        try:
            await channel.push(event)
        except Exception:  # the tracker has it; the channel logs its own reason
            logger.exception("handoff: live event %s not pushed to its channel", event.kind)
