"""A conversation as people read it, from Rasa's tracker events.

The web chat rebuilds a resident's screen from it after a reload, and the staff console shows an
employee the same conversation; both identify a message by `message_id`, which the live path
derives from the same timestamp, so a message that arrives live and in a history is shown once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from rasa.shared.core.events import BotUttered, SessionStarted, UserUttered

# Keys of a BotUttered's metadata: who wrote it when it was not the assistant, and whether it
# is a notice about the conversation (an employee joined, the assistant is back).
EMPLOYEE = "employee"
NOTICE = "notice"

Role = Literal["resident", "assistant", "employee", "notice"]


def message_id(timestamp: float | None, text: str) -> str:
    """A stable id for one message, identical for the live frame and the history.

    Rasa passes the BotUttered event's timestamp along with the message it sends, and stores
    the same timestamp in the tracker, so both paths derive the same id without extra state.
    """
    return hashlib.sha256(f"{timestamp!r}\x00{text}".encode()).hexdigest()[:24]


def current_session(events: Iterable[Any]) -> list[Any]:
    session: list[Any] = []
    for event in events:
        if isinstance(event, SessionStarted):
            session = []
        session.append(event)
    return session


@dataclass(frozen=True)
class Line:
    id: str
    role: Role
    text: str
    at: datetime
    employee: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role,
            "text": self.text,
            "at": self.at.isoformat(),
            "employee": self.employee,
        }


def bot_role(metadata: Mapping[str, Any] | None) -> tuple[Role, str]:
    metadata = metadata or {}
    employee = metadata.get(EMPLOYEE)
    if metadata.get(NOTICE):
        return "notice", employee if isinstance(employee, str) else ""
    if isinstance(employee, str) and employee:
        return "employee", employee
    return "assistant", ""


def lines(events: Iterable[Any]) -> list[Line]:
    """The current session's messages; a chosen button reads as its title."""
    found: list[Line] = []
    titles: dict[str, str] = {}
    for event in current_session(events):
        at = datetime.fromtimestamp(event.timestamp, timezone.utc)
        if isinstance(event, BotUttered) and event.text:
            for button in (event.data or {}).get("buttons") or []:
                if isinstance(button, Mapping) and isinstance(button.get("payload"), str):
                    titles[button["payload"]] = str(button.get("title", ""))
            role, employee = bot_role(event.metadata)
            found.append(
                Line(message_id(event.timestamp, event.text), role, event.text, at, employee)
            )
        elif isinstance(event, UserUttered) and event.text:
            text = titles.get(event.text, event.text)
            if text.startswith("/"):
                continue  # a payload not from a visible button (a test or API call)
            found.append(Line(message_id(event.timestamp, event.text), "resident", text, at))
    return found


# Answers carry information a resident can judge; questions, greetings, notices, "I did not
# understand" and "that is not valid" do not, and get no rating buttons.
_NOT_INFORMATIVE = re.compile(
    r"^utter_(?:ask_|topic_|greet$|goodbye$|thank$|acknowledge$|anything_else$|bot_challenge$"
    r"|fallback_|transaction_|handoff_|callback_)"
    r"|_(?:invalid|choose|intro|what_to_change|what_to_change_moment|short|long|stopped|pending"
    r"|house_number|unknown|no_consent)$"
)


def informative(response: object) -> bool:
    """Whether the response named `response` (a message's `utter_action`) is worth rating."""
    return (
        isinstance(response, str)
        and response.startswith("utter_")
        and _NOT_INFORMATIVE.search(response) is None
    )
