"""Case status: by case number and the initiator's postcode, in the citizen's words.

The answer for an unknown number and for a postcode that does not match is the same, so nobody
can probe which case numbers exist. The case number and postcode are cleared when the answer is
given: they are personal data the conversation no longer needs.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.contacts import register_contact
from actions.municipality import municipality_for
from assistant.backends.errors import BackendError, NotConfigured, NotFound
from assistant.backends.services import SERVICES
from assistant.dutch_time import day_in_words

logger = logging.getLogger(__name__)

# "ZAAK-2026-0000123" as residents type it: any case, spaces or no dash.
ZAAK_NUMBER = re.compile(r"\bzaak[\s-]*(20\d{2})[\s-]*(\d{3,10})\b", re.IGNORECASE)
# Other identifications (up to the 40 characters ZGW allows) are looked up as they are.
OTHER_NUMBER = re.compile(r"\b([A-Z]{1,10}-[A-Z0-9-]{2,29})\b", re.IGNORECASE)
POSTCODE = re.compile(r"\b([1-9]\d{3})\s?([a-zA-Z]{2})\b")
PERSONAL_SLOTS = ("case_number", "postcode")


def case_number_in(text: str) -> str | None:
    """The case number in what the resident typed, in the form the back office uses."""
    if match := ZAAK_NUMBER.search(text):
        return f"ZAAK-{match.group(1)}-{match.group(2)}"
    if match := OTHER_NUMBER.search(text):
        return match.group(1).upper()
    return None


def postcode_in(text: str) -> str | None:
    match = POSTCODE.search(text)
    return f"{match.group(1)}{match.group(2).upper()}" if match else None


class ValidateCaseStatusForm(FormValidationAction):
    def name(self) -> str:
        return "validate_case_status_form"

    async def validate_case_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        number = case_number_in(value) if isinstance(value, str) else None
        if number is None:
            dispatcher.utter_message(response="utter_case_number_invalid")
        return {"case_number": number}

    async def validate_postcode(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        postcode = postcode_in(value) if isinstance(value, str) else None
        if postcode is None:
            dispatcher.utter_message(response="utter_postcode_invalid")
        return {"postcode": postcode}


class ActionCaseStatus(Action):
    def name(self) -> str:
        return "action_case_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        municipality = municipality_for(tracker)
        facts = municipality.template_values()
        number, postcode = tracker.get_slot("case_number"), tracker.get_slot("postcode")
        clear = [SlotSet(slot, None) for slot in PERSONAL_SLOTS]
        if not number or not postcode:
            dispatcher.utter_message(response="utter_case_status_unknown", **facts)
            return clear
        try:
            cases = SERVICES.cases(municipality)
            case = await cases.find_case(number)
            if await cases.initiator_postcode(case) != postcode:
                raise NotFound("zgw", "postcode does not match")  # answered like an unknown case
        except NotFound:
            dispatcher.utter_message(response="utter_case_status_unknown", **facts)
            return clear
        except NotConfigured:  # this municipality has no zaken system behind the assistant
            dispatcher.utter_message(response="utter_case_status", **facts)
            return clear
        except BackendError as error:
            logger.warning("case status unavailable: %s", error)
            dispatcher.utter_message(response="utter_case_status_unavailable", **facts)
            return clear
        today = date.today()
        status = case.status
        dispatcher.utter_message(
            response="utter_case_status_found",
            case_number=case.identification,
            case_type=case.case_type.description or case.description,
            status_text=status.citizen_text if status else "De zaak is ontvangen.",
            status_date=day_in_words(status.set_on.date(), today) if status else "onbekend",
            **facts,
        )
        if case.end_date is None and case.planned_end_date is not None:
            dispatcher.utter_message(
                response="utter_case_status_expected",
                expected_date=day_in_words(case.planned_end_date, today),
                **facts,
            )
        await register_contact(
            tracker, "Status van een zaak opgevraagd", "Status opgevraagd via de assistent", number
        )
        return clear
