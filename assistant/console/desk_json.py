"""What the console's page reads: the queue, the conversations and the live events as JSON.

One place decides what leaves the server about a conversation, so the page, the API and the
live WebSocket say the same. Conversations are named by their handoff request's id (what the
API's paths take), never by the resident's conversation id: that id is the resident's key to
their chat (the web chat's session id), and an employee's browser has no need for it.

Dutch names for the page are made here: the channel ("webchat" → "Webchat") and the
municipality (its content file's `name`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from assistant.content import ContentError, UnknownMunicipality, load_municipality
from assistant.handoff.bus import LiveEvent
from assistant.handoff.callbacks import Callback
from assistant.handoff.desk import Desk, Employee
from assistant.handoff.hours import StandardAnswer
from assistant.handoff.store import Handoff
from assistant.transcript import message_id

log = logging.getLogger(__name__)

CHANNEL_NAMES = {
    "webchat": "Webchat",
    "whatsapp": "WhatsApp",
    "voice": "Telefoon",
    "audiocodes": "Telefoon",
    "telefoon": "Telefoon",
    "rest": "Testkanaal",
}


def channel_name(channel: str) -> str:
    """How an employee reads a channel; a channel added later shows as its own name."""
    return CHANNEL_NAMES.get(channel, channel[:1].upper() + channel[1:])


@lru_cache(maxsize=64)
def municipality_name(municipality: str) -> str:
    """The municipality's name from its content file ("Utrecht"); its id when there is none."""
    try:
        return load_municipality(municipality).name
    except (UnknownMunicipality, ContentError):
        return municipality[:1].upper() + municipality[1:]


def standard_answers(municipality: str) -> tuple[StandardAnswer, ...]:
    """The standard answers of a municipality's KCC (none without a `kcc:` section)."""
    try:
        kcc = load_municipality(municipality).kcc
    except (UnknownMunicipality, ContentError):
        log.warning("no content file for a conversation's municipality %r", municipality)
        return ()
    return kcc.standard_answers if kcc is not None else ()


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.timezone.utc).isoformat() if moment is not None else None


def waiting_json(handoff: Handoff) -> dict[str, Any]:
    return {
        "id": handoff.id,
        "municipality": handoff.municipality,
        "municipality_name": municipality_name(handoff.municipality),
        "channel": handoff.channel,
        "channel_name": channel_name(handoff.channel),
        "topic": handoff.topic or "",
        "summary": handoff.summary,
        "requested_at": _iso(handoff.requested_at),
    }


def held_json(handoff: Handoff, reply_until: dt.datetime | None = None) -> dict[str, Any]:
    """`reply_until`: until when the employee can write (WhatsApp's 24-hour window)."""
    return {
        **waiting_json(handoff),
        "employee": handoff.employee_name or "",
        "taken_at": _iso(handoff.taken_at),
        "reply_until": _iso(reply_until),
    }


def callback_json(callback: Callback) -> dict[str, Any]:
    return {
        "id": callback.id,
        "municipality": callback.municipality,
        "municipality_name": municipality_name(callback.municipality),
        "channel_name": channel_name(callback.channel),
        "name": callback.name,
        "phone": callback.phone,
        "topic": callback.topic,
        "requested_at": _iso(callback.requested_at),
        "due_at": _iso(callback.due_at),
    }


def answers_json(answers: tuple[StandardAnswer, ...]) -> list[dict[str, str]]:
    return [{"title": answer.title, "text": answer.text} for answer in answers]


@dataclass(frozen=True)
class DeskState:
    """What one employee's console shows, and which conversation id is which request."""

    body: dict[str, Any]
    # conversation id -> handoff id, for the requests in this state (to name live events).
    names: dict[str, str] = field(default_factory=dict)


async def desk_state(desk: Desk, employee: Employee) -> DeskState:
    """The employee's queue (their municipalities'), the conversations colleagues hold, their
    own, and the open callback requests."""
    queue, held, callbacks = await asyncio.gather(
        desk.queue(employee), desk.held(employee), desk.open_callbacks(employee)
    )
    mine = [handoff for handoff in held if handoff.employee_id == employee.id]
    theirs = [handoff for handoff in held if handoff.employee_id != employee.id]
    windows = await asyncio.gather(*(desk.reply_until(h.conversation_id) for h in mine))
    body = {
        "now": _iso(dt.datetime.now(dt.timezone.utc)),
        "queue": [waiting_json(handoff) for handoff in queue],
        "mine": [held_json(handoff, until) for handoff, until in zip(mine, windows, strict=True)],
        "held": [held_json(handoff) for handoff in theirs],
        "callbacks": [callback_json(callback) for callback in callbacks],
    }
    names = {handoff.conversation_id: handoff.id for handoff in [*queue, *held]}
    return DeskState(body, names)


def event_json(event: LiveEvent, handoff_id: str) -> dict[str, Any]:
    """A live event for the page. `message_id` is the transcript's id of the same message
    (`assistant.transcript.message_id`), so a message that arrives live and in a transcript
    fetched meanwhile is shown once."""
    return {
        "type": "event",
        "id": event.id,
        "kind": event.kind,
        "conversation": handoff_id,
        "message_id": message_id(event.at.timestamp(), event.text) if event.text else "",
        "text": event.text,
        "employee": event.employee,
        "at": _iso(event.at),
        "active": event.active,
    }
