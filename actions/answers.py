"""Answers that combine a response text from the domain with the municipality's own facts.

Every topic has an action `action_answer_<topic>` that utters `utter_<topic>`, or the more specific
`utter_<topic>_<value>` when the resident named, say, a document or permit. The texts live in
domain/*.yml, the facts (fees, links, phone numbers) in assistant/municipalities/<id>.yml.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.municipality import municipality_for
from assistant.agencies import detect_agency
from assistant.slot_values import canonical_value

# topic -> the slot whose value selects a more specific response, if any
TOPICS: dict[str, str | None] = {
    "greet": None,
    "permit_needed": "permit",
    "permit_apply": "permit",
    "objection_file": None,
    "move_report": None,
    "waste_collection": None,
    "contact_info": None,
    "inform": "document",
}


def response_for(topic: str, variant: str | None, domain: dict[str, Any]) -> str:
    """The most specific response the domain has for this topic."""
    responses = domain.get("responses", {})
    specific = f"utter_{topic}_{variant}"
    if variant and specific in responses:
        return specific
    return f"utter_{topic}"


class AnswerAction(Action, ABC):
    """Utters the topic's response filled with the conversation's municipality facts.

    Abstract, so the SDK registers only the generated per-topic actions below, not this base as
    an action named "action_answer_".
    """

    variant_slot: str | None = None

    @property
    @abstractmethod
    def topic(self) -> str:
        """The topic answered: a key of TOPICS."""

    def name(self) -> str:
        return f"action_answer_{self.topic}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        variant = (
            canonical_value(self.variant_slot, tracker.get_slot(self.variant_slot))
            if self.variant_slot
            else None
        )
        facts = municipality_for(tracker).template_values()
        dispatcher.utter_message(response=response_for(self.topic, variant, domain), **facts)
        return []


# One action per topic, so stories and rules name exactly what is answered. The SDK registers
# every Action subclass it can find, these generated ones included.
ANSWER_ACTIONS = [
    type(f"ActionAnswer_{topic}", (AnswerAction,), {"topic": topic, "variant_slot": slot})
    for topic, slot in TOPICS.items()
]


DOCUMENT_TOPICS = (
    "document_apply",
    "document_lost",
    "document_costs",
    "document_requirements",
    "document_pickup",
)


def latest_document_topic(tracker: Tracker) -> str:
    """The document question being answered: the resident may have named the document in a later
    message (an `inform`), so look back to the last message that asked something about one."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
            if intent in DOCUMENT_TOPICS:
                return intent
    return "document_apply"


class ActionAnswerDocument(Action):
    """Answers a question about a passport, ID card or driving licence, once that is known."""

    def name(self) -> str:
        return "action_answer_document"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        topic = latest_document_topic(tracker)
        document = canonical_value("document", tracker.get_slot("document"))
        if document is None:  # only a hand-made payload gets here: ask which document
            dispatcher.utter_message(response="utter_ask_document")
            return [SlotSet("document", None)]
        facts = municipality_for(tracker).template_values()
        dispatcher.utter_message(response=f"utter_{topic}_{document}", **facts)
        return []


class ActionAnswerOutOfScope(Action):
    """Says what the assistant can do, or which other agency handles the question."""

    def name(self) -> str:
        return "action_answer_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        facts = municipality_for(tracker).template_values()
        agency = detect_agency(tracker.latest_message.get("text") or "")
        if agency is None:
            dispatcher.utter_message(response="utter_out_of_scope", **facts)
        else:
            dispatcher.utter_message(
                response="utter_out_of_scope_agency",
                agency_name=agency.name,
                agency_topics=agency.topics,
                agency_phone=agency.phone,
                agency_url=agency.url,
                **facts,
            )
        return []
