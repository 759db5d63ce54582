"""A callback request: when no employee can chat, one calls the resident back.

Offered outside the KCC's chat hours and when nobody took a waiting conversation in time
(actions/handoff.py). The form asks only what the call needs: a name, a phone number and what
it is about. The request lands in the KCC's queue (assistant/handoff/callbacks.py), due at the
next opening, and the resident hears when to expect the call. The answers are cleared when the
form ends; the stored request is deleted after the retention period.
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms import REQUESTED, TransactionAction, TransactionForm, read_answer, said
from actions.municipality import municipality_for
from assistant.contact_details import name_in, phone_in
from assistant.dutch_time import moment_in_words
from assistant.handoff.callbacks import MAX_TOPIC_LENGTH, CallbackStore
from assistant.settings import load_settings
from assistant.when import now

logger = logging.getLogger(__name__)

NAME = "callback_name"
PHONE = "callback_phone"
TOPIC = "callback_topic"
FORM_SLOTS = (NAME, PHONE, TOPIC)
TOPIC_MIN_LETTERS = 3


@lru_cache(maxsize=1)
def callback_store() -> CallbackStore:
    store = CallbackStore(load_settings().handoff_database_url)
    store.ensure_schema()
    return store


class ValidateCallbackForm(TransactionForm):
    def name(self) -> str:
        return "validate_callback_form"

    async def extract_callback_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED) is None and tracker.get_slot(NAME) is None:
            dispatcher.utter_message(response="utter_callback_intro")
            return {}
        return read_answer(dispatcher, tracker, NAME, name_in, "utter_callback_name_invalid")

    async def extract_callback_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return read_answer(dispatcher, tracker, PHONE, phone_in, "utter_callback_phone_invalid")

    async def extract_callback_topic(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED) != TOPIC:
            return {}
        topic = " ".join(said(tracker).split())
        if sum(ch.isalpha() for ch in topic) < TOPIC_MIN_LETTERS or len(topic) > MAX_TOPIC_LENGTH:
            dispatcher.utter_message(response="utter_callback_topic_invalid")
            return {TOPIC: None}
        return {TOPIC: topic}


class ActionCallbackRequest(TransactionAction):
    form_slots = FORM_SLOTS

    def name(self) -> str:
        return "action_callback_request"

    async def complete(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        municipality = municipality_for(tracker)
        facts = municipality.template_values()
        name, phone, topic = (tracker.get_slot(slot) for slot in FORM_SLOTS)
        moment = now()
        due = municipality.kcc.callback_due(moment) if municipality.kcc else None
        if not (name and phone and topic) or due is None:
            dispatcher.utter_message(response="utter_callback_unavailable", **facts)
            return
        try:
            await asyncio.to_thread(
                callback_store().request,
                tracker.sender_id,
                municipality=municipality.id,
                channel=tracker.get_latest_input_channel() or "onbekend",
                name=name,
                phone=phone,
                topic=topic,
                due_at=due,
            )
        except Exception as error:  # the queue's database is down: the phone still works
            logger.error("callback request not stored: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_callback_unavailable", **facts)
            return
        dispatcher.utter_message(
            response="utter_callback_requested",
            due=moment_in_words(due, moment.date()),
            phone=phone,
            **facts,
        )
