"""The buttons of one of the assistant's messages, read the same way by every channel.

Rasa passes them as `buttons` (or `quick_replies`) of `{"title", "payload"}`; the web chat shows
them, WhatsApp sends them as reply buttons or a list, the phone reads them as a keypad menu.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Button = tuple[str, str]  # (title, payload)


def buttons_of(message: Mapping[str, Any]) -> list[Button]:
    """The (title, payload) buttons of a Rasa message, in order, without empty ones or a
    payload twice; titles on one line."""
    seen: set[str] = set()
    buttons: list[Button] = []
    for key in ("buttons", "quick_replies"):
        offered = message.get(key)
        if not isinstance(offered, list):
            continue
        for button in offered:
            if not isinstance(button, Mapping):
                continue
            title, payload = button.get("title"), button.get("payload")
            if not (isinstance(title, str) and isinstance(payload, str)):
                continue
            title, payload = " ".join(title.split()), payload.strip()
            if title and payload and payload not in seen:
                seen.add(payload)
                buttons.append((title, payload))
    return buttons
