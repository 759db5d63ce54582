"""The live message bus of a staff handoff: what a resident and a KCC employee say to each other.

While an employee has a conversation, everything live between them (messages, typing, "joined",
"left", "back to the assistant") travels as a `LiveEvent`, to two streams: the conversation's own,
read by the process holding the resident's socket, and one console stream that every staff
console reads to see all taken-over conversations.

Streams rather than pub/sub: an entry stays until trimmed and its id orders it, so a reader that
reconnects passes the last id it saw and gets what it missed, nothing twice. Production uses Redis
streams (`bus_redis.py`), shared by every Rasa process and console; `make run` an in-process copy
with the same ids and semantics (`bus_memory.py`). Callers know only `MessageBus`.

What the bus keeps is bounded: a few thousand entries per stream (the console's more), none older
than the retention period (ASSISTANT_RETENTION_DAYS), and a stream that stays quiet that long goes.
The bus is for live delivery; the conversation's history is in Rasa's tracker.

Message text is a resident's or an employee's own words: it never reaches the logs. A malformed
entry is skipped with a warning naming only its id, its kind of stream and what was wrong.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Protocol, get_args

from channels.text import MAX_TEXT_LENGTH

logger = logging.getLogger(__name__)

EventKind = Literal[
    "waiting", "resident", "employee", "assistant", "typing", "joined", "assistant_back", "closed"
]
KINDS: frozenset[str] = frozenset(get_args(EventKind))

CONSOLE_STREAM = "console"
_CONVERSATION_PREFIX = "conversation:"
# Web chat senders are "webchat-" and 22-64 characters; the bound keeps keys small for any channel.
MAX_CONVERSATION_ID_LENGTH = 255
MAX_EMPLOYEE_LENGTH = 100
# Quick replies of an "assistant" event: as many as WhatsApp shows, payloads as the web chat takes.
MAX_BUTTONS = 3
MAX_BUTTON_TITLE_LENGTH = 100
MAX_BUTTON_PAYLOAD_LENGTH = 500
# One conversation rarely reaches a few hundred events; the console stream carries every
# taken-over conversation (typing indicators included), so it gets more room for a console that
# was away for a while.
DEFAULT_MAX_LEN = 5_000
DEFAULT_CONSOLE_MAX_LEN = 20_000
# ASSISTANT_RETENTION_DAYS' default; callers pass timedelta(days=settings.retention_days).
DEFAULT_TTL = timedelta(days=30)
# The most entries one read returns; a reader behind by more reads again after the last id.
MAX_COUNT = 1_000

_ID = re.compile(r"(\d{1,20})(?:-(\d{1,20}))?")
_MAX_ID_PART = 2**64 - 1  # Redis's limit for each half of an id


class BusUnavailable(Exception):
    """The bus cannot be reached or did not answer in time (Redis down, timeout, refusal)."""


@dataclass(frozen=True)
class LiveEvent:
    """One live event of a conversation handed to (or waiting for) a person.

    Kinds: "waiting" (a resident joined the queue), "resident" and "employee" messages,
    "assistant" (a message of the assistant sent outside a resident's turn, e.g. the callback
    offer after nobody answered), "typing" (`active` on or off; by the employee when `employee`
    is set, else by the resident), "joined" (an employee took the conversation),
    "assistant_back" (handed back) and "closed" (ended by the employee, the resident or the
    queue timeout). `text` is what the resident reads: a message or the notice of a change.
    `employee` is the display name the resident sees ("Sanne"). `id` is the stream entry id,
    filled in by `MessageBus.read` (an event to publish leaves it empty).
    """

    kind: EventKind
    conversation_id: str
    text: str = ""
    employee: str = ""
    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    id: str = ""
    active: bool = False
    # (title, payload) quick replies of an "assistant" message.
    buttons: tuple[tuple[str, str], ...] = ()


class MessageBus(Protocol):
    """Streams of live events; Redis in production, in-process on a single machine."""

    async def publish(self, event: LiveEvent) -> str:
        """Append `event` to its conversation's stream and to the console stream.

        Returns the entry id in the conversation's stream. Raises ValueError for an event that
        is not valid (unknown kind, text over MAX_TEXT_LENGTH, naive `at`, ...) and
        BusUnavailable when the bus cannot take it.
        """

    async def read(
        self, stream: str, after: str = "0", block_ms: int = 0, count: int = 100
    ) -> list[LiveEvent]:
        """At most `count` events of `stream` with ids strictly after `after`, oldest first.

        `after` "0" or "" reads from the beginning; a reader that reconnects passes the last id
        it saw. With nothing new, waits up to `block_ms` for an event (0: returns at once) and
        returns [] when none came. Malformed entries are skipped. Raises ValueError for a
        malformed `after`, BusUnavailable when the bus cannot be read.
        """

    def conversation_stream(self, conversation_id: str) -> str:
        """The name of a conversation's stream, for `read`."""

    async def tail(self, stream: str) -> str:
        """The id of the newest entry of `stream` ("0" when empty): a reader that passes it to
        `read` gets only what is published from now on. Raises BusUnavailable."""

    async def close(self) -> None:
        """Release connections; the bus is not used afterwards."""


def conversation_stream(conversation_id: str) -> str:
    """The stream of one conversation (CONSOLE_STREAM is the one of all of them)."""
    if not conversation_id or len(conversation_id) > MAX_CONVERSATION_ID_LENGTH:
        raise ValueError("conversation id must be 1-255 characters")
    return _CONVERSATION_PREFIX + conversation_id


def parse_id(entry_id: str) -> tuple[int, int]:
    """A stream entry id ("<ms>-<seq>", "<ms>", "0" or "") as a sortable pair."""
    if entry_id in ("", "0"):
        return (0, 0)
    match = _ID.fullmatch(entry_id)
    key = (int(match[1]), int(match[2] or 0)) if match else (-1, -1)
    if not (0 <= key[0] <= _MAX_ID_PART and 0 <= key[1] <= _MAX_ID_PART):
        raise ValueError("not a stream entry id")
    return key


def format_id(key: tuple[int, int]) -> str:
    return f"{key[0]}-{key[1]}"


def event_problem(event: LiveEvent) -> str | None:
    """What makes `event` unfit for the bus, or None. Never quotes the event's text."""
    if event.kind not in KINDS:
        return "unknown kind"
    if not isinstance(event.conversation_id, str) or not (
        0 < len(event.conversation_id) <= MAX_CONVERSATION_ID_LENGTH
    ):
        return "conversation id must be 1-255 characters"
    if not isinstance(event.text, str) or len(event.text) > MAX_TEXT_LENGTH:
        return f"text must be a string of at most {MAX_TEXT_LENGTH} characters"
    if not isinstance(event.employee, str) or len(event.employee) > MAX_EMPLOYEE_LENGTH:
        return f"employee must be a string of at most {MAX_EMPLOYEE_LENGTH} characters"
    if not isinstance(event.at, datetime) or event.at.utcoffset() is None:
        return "'at' must be an aware datetime"
    if not isinstance(event.active, bool):
        return "'active' must be true or false"
    return _buttons_problem(event.buttons)


def _buttons_problem(buttons: Any) -> str | None:
    if not isinstance(buttons, tuple) or len(buttons) > MAX_BUTTONS:
        return f"at most {MAX_BUTTONS} buttons"
    for button in buttons:
        if not (
            isinstance(button, tuple)
            and len(button) == 2
            and all(isinstance(part, str) and part for part in button)
            and len(button[0]) <= MAX_BUTTON_TITLE_LENGTH
            and len(button[1]) <= MAX_BUTTON_PAYLOAD_LENGTH
        ):
            return "a button must be a non-empty title and payload within their limits"
    return None


def encode_event(event: LiveEvent) -> str:
    """The JSON an entry carries; the id is not part of it (the stream assigns it)."""
    return json.dumps(
        {
            "kind": event.kind,
            "conversation_id": event.conversation_id,
            "text": event.text,
            "employee": event.employee,
            "at": event.at.astimezone(timezone.utc).isoformat(),
            "active": event.active,
            "buttons": [list(button) for button in event.buttons],
        },
        ensure_ascii=False,
    )


def decode_event(payload: str | bytes | None, entry_id: str, stream: str) -> LiveEvent | None:
    """The event an entry of `stream` carries, or None (with a warning) when it is malformed.

    Entries come from any process sharing the bus, possibly another version of this code, so
    nothing is trusted: an unknown kind or a missing, mistyped or oversized field skips the entry.
    An entry of a conversation's stream must be about that conversation.
    """
    try:
        event = _parse(payload, entry_id)
    except ValueError as error:
        logger.warning("Skipped live event %s in a %s stream: %s", entry_id, _kind(stream), error)
        return None
    if stream.startswith(_CONVERSATION_PREFIX) and (
        stream[len(_CONVERSATION_PREFIX) :] != event.conversation_id
    ):
        logger.warning("Skipped live event %s: it belongs to another conversation", entry_id)
        return None
    return event


def _parse(payload: str | bytes | None, entry_id: str) -> LiveEvent:
    """Raises ValueError with a reason that never contains the entry's content."""
    if payload is None:
        raise ValueError("no event field")
    try:
        data: Any = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("not JSON") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    at = data.get("at")
    try:
        moment = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise ValueError("'at' is not an aware ISO 8601 time")
    event = LiveEvent(
        kind=data.get("kind"),  # type: ignore[arg-type]  # checked by event_problem
        conversation_id=data.get("conversation_id"),  # type: ignore[arg-type]
        text=data.get("text", ""),
        employee=data.get("employee", ""),
        at=moment.astimezone(timezone.utc),
        id=entry_id,
        active=data.get("active", False),
        buttons=_decoded_buttons(data.get("buttons", [])),
    )
    problem = event_problem(event)
    if problem:
        raise ValueError(problem)
    return event


def _decoded_buttons(raw: Any) -> Any:
    """JSON lists back to tuples; anything else is left for event_problem to refuse."""
    if not isinstance(raw, list):
        return raw
    return tuple(tuple(button) if isinstance(button, list) else button for button in raw)


def _kind(stream: str) -> str:
    # Conversation ids are unguessable tokens that give access to a conversation: not for logs.
    return "conversation" if stream.startswith(_CONVERSATION_PREFIX) else stream


# (entry id, payload): the payload as stored, None when the entry has no event field.
RawEntry = tuple[str, str | bytes | None]


class StreamBus(ABC):
    """What both buses share: validation, encoding, both streams per event, skipping bad entries.

    An implementation provides only the stream operations, so the Redis and the in-process bus
    run the same code paths around them.
    """

    def __init__(
        self,
        *,
        max_len: int = DEFAULT_MAX_LEN,
        console_max_len: int = DEFAULT_CONSOLE_MAX_LEN,
        ttl: timedelta = DEFAULT_TTL,
    ) -> None:
        if max_len < 1 or console_max_len < 1 or ttl <= timedelta(0):
            raise ValueError("stream caps and the retention period must be positive")
        self._max_len = max_len
        self._console_max_len = console_max_len
        self._ttl = ttl

    async def publish(self, event: LiveEvent) -> str:
        problem = event_problem(event)
        if problem:
            raise ValueError(f"live event refused: {problem}")
        streams = (conversation_stream(event.conversation_id), CONSOLE_STREAM)
        ids = await self._append(streams, encode_event(replace(event, id="")))
        return ids[0]

    async def read(
        self, stream: str, after: str = "0", block_ms: int = 0, count: int = 100
    ) -> list[LiveEvent]:
        if block_ms < 0 or not 1 <= count <= MAX_COUNT:
            raise ValueError(f"block_ms must be >= 0 and count 1-{MAX_COUNT}")
        after = format_id(parse_id(after))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + block_ms / 1000
        while True:
            raw = await self._read_raw(stream, after, block_ms, count)
            if not raw:
                return []
            events = [e for e in (decode_event(p, i, stream) for i, p in raw) if e is not None]
            if events:
                return events
            # Only malformed entries: read on past them, so a caller never sees an empty batch
            # while good entries wait, and never loops over the same bad ones.
            after = raw[-1][0]
            block_ms = max(0, round((deadline - loop.time()) * 1000))

    def conversation_stream(self, conversation_id: str) -> str:
        return conversation_stream(conversation_id)

    async def tail(self, stream: str) -> str:
        return await self._last_id(stream) or "0"

    def _cap(self, stream: str) -> int:
        return self._console_max_len if stream == CONSOLE_STREAM else self._max_len

    @abstractmethod
    async def _append(self, streams: Sequence[str], payload: str) -> list[str]:
        """Append `payload` to every stream at once (trimmed, expiry renewed); their entry ids."""

    @abstractmethod
    async def _read_raw(self, stream: str, after: str, block_ms: int, count: int) -> list[RawEntry]:
        """Up to `count` (id, payload) entries after the full id `after`, waiting per read()."""

    @abstractmethod
    async def _last_id(self, stream: str) -> str | None:
        """The id of the newest entry of `stream`, None when it has none."""

    @abstractmethod
    async def close(self) -> None: ...


def message_bus(
    redis_url: str | None,
    *,
    prefix: str = "handoff:",
    ttl: timedelta = DEFAULT_TTL,
    max_len: int = DEFAULT_MAX_LEN,
    console_max_len: int = DEFAULT_CONSOLE_MAX_LEN,
) -> MessageBus:
    """Redis streams when a URL is configured (production), else in this process (`make run`)."""
    # Imported here: both implementations import this module.
    from assistant.handoff.bus_memory import MemoryMessageBus
    from assistant.handoff.bus_redis import RedisMessageBus

    if redis_url:
        return RedisMessageBus(
            redis_url, prefix=prefix, max_len=max_len, console_max_len=console_max_len, ttl=ttl
        )
    return MemoryMessageBus(max_len=max_len, console_max_len=console_max_len, ttl=ttl)
