"""The two-stage fallback: nothing a resident types may leave them without a way forward.

First time in a row the assistant does not understand: it offers the likeliest topics as buttons.
The second time: it offers a person instead of guessing again (actions/handoff.py). On the phone
each step comes one miss later: a caller is first asked to say it differently, then hears the
topics as a short keypad menu, then is put through to a person.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.municipality import municipality_for
from actions.phone import on_the_phone

ACTION_NAME = "action_fallback"
# With the offer of a person, three buttons: the most WhatsApp shows.
MAX_SUGGESTIONS = 2
# Offered when the parser gives no usable ranking (e.g. a dialogue-level fallback).
DEFAULT_SUGGESTIONS = ("document_apply", "appointment_book", "waste_collection")
HANDOFF_TOPIC = "human_handoff"
OFFER_ACTION = "action_handoff_offer"


def earlier_fallbacks_in_a_row(tracker: Tracker) -> int:
    """How many user turns directly before the current one were answered by this fallback."""
    turns: list[bool] = []
    for event in tracker.events:
        if event.get("event") == "user":
            turns.append(False)
        elif event.get("event") == "action" and event.get("name") == ACTION_NAME and turns:
            turns[-1] = True
    count = 0
    for answered_by_fallback in reversed(turns[:-1]):
        if not answered_by_fallback:
            break
        count += 1
    return count


def topic_label(topic: str, domain: dict[str, Any]) -> str | None:
    variants = domain.get("responses", {}).get(f"utter_topic_{topic}")
    return variants[0]["text"] if variants else None


def suggestions(tracker: Tracker, domain: dict[str, Any]) -> list[str]:
    ranked = [
        item["name"]
        for item in tracker.latest_message.get("intent_ranking") or []
        if item.get("name") != HANDOFF_TOPIC and topic_label(item.get("name", ""), domain)
    ]
    for topic in DEFAULT_SUGGESTIONS:
        if len(ranked) >= MAX_SUGGESTIONS:
            break
        if topic not in ranked:
            ranked.append(topic)
    return ranked[:MAX_SUGGESTIONS]


class ActionFallback(Action):
    def name(self) -> str:
        return ACTION_NAME

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        facts = municipality_for(tracker).template_values()
        earlier = earlier_fallbacks_in_a_row(tracker)
        if on_the_phone(tracker):
            # A caller hears a list, so first only "say it differently"; the menu (which the
            # voice channel reads as "toets 1, 2, ...") after the second miss.
            if earlier == 0:
                dispatcher.utter_message(response="utter_fallback_rephrase", **facts)
                return []
            earlier -= 1
        if earlier >= 1:
            dispatcher.utter_message(response="utter_fallback_handoff", **facts)
            return [FollowupAction(OFFER_ACTION)]
        buttons = [
            {"title": topic_label(topic, domain), "payload": f"/{topic}"}
            for topic in [*suggestions(tracker, domain), HANDOFF_TOPIC]
        ]
        dispatcher.utter_message(response="utter_fallback_suggest", buttons=buttons, **facts)
        return []
