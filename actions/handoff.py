"""Asking for a person: the offer, the queue, and what happens when nobody can answer.

Within the KCC's chat hours the resident is told what an employee will see and asked to agree;
"ja" puts the conversation in the queue (assistant/handoff/store.py) and pauses the assistant,
after which the conversation router (assistant/handoff/router.py) hands every message to the
employee. Outside the hours, or when the router finds nobody took the conversation in time,
the assistant offers a callback instead (actions/callbacks.py). A municipality without chat
hours in its content file keeps the phone number and the contact form.

On the phone there is no chat queue: within the KCC's hours the call is transferred to the
phone queue of the content file, with the topic the caller asked about; outside them, or
without a phone queue, the caller gets the same callback offer.
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.municipality import municipality_for
from actions.phone import TRANSFER_KEY, on_the_phone
from assistant.dutch_time import moment_in_words
from assistant.handoff.router import HANDOFF_KEY
from assistant.handoff.store import HandoffStore
from assistant.privacy import redact
from assistant.settings import load_settings
from assistant.when import now

logger = logging.getLogger(__name__)

OFFER = "handoff_offer"  # what "ja" now means: LIVE (queue for a chat) or CALLBACK
LIVE = "live"
CALLBACK = "callback"
CALLBACK_FORM = "callback_form"
# Turns that say nothing about what the resident needs: not the queue's summary.
_NOT_A_QUESTION = {"human_handoff", "affirm", "deny", "greet", "thank", "goodbye", "bot_challenge"}


@lru_cache(maxsize=1)
def handoff_store() -> HandoffStore:
    store = HandoffStore(load_settings().handoff_database_url)
    store.ensure_schema()
    return store


def asked_about(tracker: Tracker, domain: DomainDict) -> tuple[str, str | None]:
    """What the resident asked before asking for a person (personal data masked), and the
    topic's name, for the employees' queue."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        text = event.get("text") or ""
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if text.startswith("/") or intent in _NOT_A_QUESTION:
            continue
        label = domain.get("responses", {}).get(f"utter_topic_{intent}")
        return redact(text), label[0]["text"] if label else None
    return "", None


class ActionHandoffOffer(Action):
    def name(self) -> str:
        return "action_handoff_offer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        municipality = municipality_for(tracker)
        facts = municipality.template_values()
        kcc = municipality.kcc
        if kcc is None:
            dispatcher.utter_message(response="utter_human_handoff", **facts)
            return [SlotSet(OFFER, None)]
        moment = now()
        if kcc.is_open(moment) and on_the_phone(tracker):
            if kcc.phone_queue is None:  # open, but no queue to transfer a call to
                dispatcher.utter_message(response="utter_handoff_unanswered", **facts)
                return [SlotSet(OFFER, CALLBACK)]
            _, topic = asked_about(tracker, domain)
            dispatcher.utter_message(
                response="utter_handoff_transfer",
                json_message={TRANSFER_KEY: {"number": kcc.phone_queue, "topic": topic}},
                **facts,
            )
            return [SlotSet(OFFER, None)]
        if kcc.is_open(moment):
            dispatcher.utter_message(response="utter_handoff_consent", **facts)
            return [SlotSet(OFFER, LIVE)]
        opening = kcc.next_opening(moment)
        if opening is None:
            dispatcher.utter_message(response="utter_human_handoff", **facts)
            return [SlotSet(OFFER, None)]
        dispatcher.utter_message(
            response="utter_handoff_closed",
            opening=moment_in_words(opening, moment.date()),
            **facts,
        )
        return [SlotSet(OFFER, CALLBACK)]


class ActionHandoffAccept(Action):
    """ "Ja" to the offer: a chat joins the queue and pauses the assistant; a callback starts
    the callback form."""

    def name(self) -> str:
        return "action_handoff_accept"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        offer = tracker.get_slot(OFFER)
        if offer == CALLBACK:
            return [SlotSet(OFFER, None), FollowupAction(CALLBACK_FORM)]
        municipality = municipality_for(tracker)
        facts = municipality.template_values()
        if offer != LIVE:  # no chat here: the phone number and the contact form again
            dispatcher.utter_message(response="utter_human_handoff", **facts)
            return []
        summary, topic = asked_about(tracker, domain)
        store = handoff_store()
        try:
            handoff = await asyncio.to_thread(
                store.request,
                tracker.sender_id,
                municipality=municipality.id,
                channel=tracker.get_latest_input_channel() or "onbekend",
                summary=summary,
                topic=topic,
            )
            position = await asyncio.to_thread(store.position, handoff)
        except Exception as error:  # the queue's database is down: the phone still works
            logger.error("handoff request not queued: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_handoff_unavailable", **facts)
            return [SlotSet(OFFER, None)]
        dispatcher.utter_message(
            response="utter_handoff_waiting",
            json_message={HANDOFF_KEY: {"state": "waiting", "position": position}},
            position=position,
            **facts,
        )
        return [SlotSet(OFFER, None), ConversationPaused()]


class ActionHandoffUnanswered(Action):
    """Run by the router when nobody took the conversation in time: offer a callback."""

    def name(self) -> str:
        return "action_handoff_unanswered"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            response="utter_handoff_unanswered", **municipality_for(tracker).template_values()
        )
        return [SlotSet(OFFER, CALLBACK)]
