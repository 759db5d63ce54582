"""Which municipality a conversation belongs to, and the session start that records it.

The channel says which municipality a resident is talking to (the web page's embed attribute,
the WhatsApp number, the phone line) in the message metadata. One model serves them all, so the
choice is made per conversation and kept in the `municipality` slot.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant.content import Municipality, known_municipality, load_municipality
from assistant.settings import load_settings

SLOT = "municipality"
# What a resident already told us stays useful after a session times out.
CARRIED_OVER_SLOTS = ("document", "permit")


def _requested(metadata: dict[str, Any] | None) -> str | None:
    return known_municipality((metadata or {}).get(SLOT))


def municipality_for(tracker: Tracker) -> Municipality:
    """The conversation's municipality: slot, else this message's metadata, else the default."""
    chosen = (
        known_municipality(tracker.get_slot(SLOT))
        or _requested(tracker.latest_message.get("metadata"))
        or load_settings().default_municipality
    )
    return load_municipality(chosen)


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        metadata = tracker.get_slot("session_started_metadata")
        chosen = _requested(metadata) or municipality_for(tracker).id
        carried = [
            SlotSet(slot, tracker.get_slot(slot))
            for slot in CARRIED_OVER_SLOTS
            if tracker.get_slot(slot) is not None
        ]
        return [SessionStarted(), SlotSet(SLOT, chosen), *carried, ActionExecuted("action_listen")]
