"""Filing a complaint (klacht) about how the municipality treated a resident.

Turn by turn: what happened, when, the resident's name, an e-mail address or phone number,
consent to use them, a summary to confirm; then a zaak of type "klacht" in Open Zaak with the
resident as initiator and their contact details as `contactpersoonRol`, its number, and the day
by which the municipality must answer (Awb 9:11: six weeks, the zaaktype's `doorlooptijd`).

Whether Open Zaak can take a complaint is checked when the form starts, so nobody writes a
whole complaint for a back office that is down; a municipality without one gets the online
route at once. At the summary "nee" asks what to change (buttons that send plain Dutch, read
like typed text), and "nee, het was gisteren" changes the day directly. The resident's answers
are cleared when the form ends, whatever the outcome; logs name error types, never values.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.contacts import register_contact
from actions.forms import (
    CONTACT_WORDS,
    REQUESTED,
    STOPPED,
    SummaryQuestion,
    TransactionAction,
    TransactionForm,
    confirmation,
    end_form,
    read_answer,
    said,
)
from actions.municipality import municipality_for
from assistant.backends.errors import BackendError, BackendRejected, NotConfigured
from assistant.backends.services import SERVICES
from assistant.backends.zgw.models import ContactPerson, Initiator
from assistant.contact_details import contact_in, email_in, name_in, phone_in, split_name
from assistant.dutch_time import day_in_words
from assistant.once import StillRunning
from assistant.when import UNKNOWN_DAY, happened, names_one_day, now

logger = logging.getLogger(__name__)

DESCRIPTION = "complaint_description"
WHEN = "complaint_when"
NAME = "complaint_name"
CONTACT = "complaint_contact"
CONSENT = "complaint_consent"
CONFIRMED = "complaint_confirmed"
CHANGING = "complaint_change"  # set while the assistant asks what to change at the summary
FORM_SLOTS = (DESCRIPTION, WHEN, NAME, CONTACT, CONSENT, CONFIRMED, CHANGING)

CASE_TYPE = "klacht"
HANDLING_DAYS = 42  # Awb 9:11, when the zaaktype states no `doorlooptijd`
DESCRIPTION_MIN_WORDS = 3
# A zaak's `toelichting` holds 1000 characters: the description, the day and the closing line.
DESCRIPTION_MAX = 800
HEADLINE_MAX = 80  # Zaak.omschrijving
FILED_WITH_CONSENT = (
    "Ingediend via de digitale assistent, met toestemming om naam en contactgegevens te gebruiken."
)


async def heard_when(text: str) -> str | None:
    """`when_it_happened` off the event loop: Duckling blocks."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, happened, text, now())


def description_problem(text: str) -> str | None:
    """The response that says what is wrong with a description, or None when it will do."""
    if len(text.split()) < DESCRIPTION_MIN_WORDS or sum(ch.isalpha() for ch in text) < 10:
        return "utter_complaint_file_description_short"
    if len(text) > DESCRIPTION_MAX:
        return "utter_complaint_file_description_long"
    return None


async def _corrected_day(
    dispatcher: CollectingDispatcher, tracker: Tracker, text: str
) -> dict[str, Any]:
    """ "nee, het was gisteren": the new day, if the "nee" carries one."""
    rest = re.sub(r"^nee\W*(?:het was|dat was|het is|was het)?\s*", "", text, flags=re.I)
    day = await heard_when(rest) if rest else None
    return {WHEN: day} if day and day != UNKNOWN_DAY and names_one_day(rest) else {}


SUMMARY = SummaryQuestion(
    confirmed=CONFIRMED,
    changing=CHANGING,
    changes=(
        (
            re.compile(r"\b(?:omschrijving|beschrijving|verhaal|tekst|gebeurd\w*|klacht)\b", re.I),
            (DESCRIPTION,),
        ),
        (re.compile(r"\b(?:moment|datum|dag|wanneer|tijd\w*)\b", re.I), (WHEN,)),
        (re.compile(r"\bnaam\b", re.I), (NAME,)),
        (CONTACT_WORDS, (CONTACT,)),
        (re.compile(r"\bgegevens\b", re.I), (NAME, CONTACT)),
    ),
    choose_response="utter_complaint_file_choose",
    corrects=_corrected_day,
)


# --- the form --------------------------------------------------------------------------------


class ValidateComplaintForm(TransactionForm):
    # "nee" to consent is an answer: the form then explains why it cannot go on.
    declinable = frozenset({CONSENT})

    def name(self) -> str:
        return "validate_complaint_form"

    async def extract_complaint_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        asked = tracker.get_slot(REQUESTED)
        if asked is None and tracker.get_slot(DESCRIPTION) is None:
            return await _start(dispatcher, tracker)
        if asked != DESCRIPTION:
            return {}
        text = said(tracker)
        if problem := description_problem(text):
            facts = municipality_for(tracker).template_values()
            dispatcher.utter_message(response=problem, **facts)
            return {DESCRIPTION: None}
        return {DESCRIPTION: text}

    async def extract_complaint_when(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED) != WHEN:
            return {}
        when = await heard_when(said(tracker))
        if when is None:
            dispatcher.utter_message(response="utter_complaint_file_when_invalid")
        return {WHEN: when}

    async def extract_complaint_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return read_answer(dispatcher, tracker, NAME, name_in, "utter_complaint_file_name_invalid")

    async def extract_complaint_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return read_answer(
            dispatcher, tracker, CONTACT, contact_in, "utter_complaint_file_contact_invalid"
        )

    async def extract_complaint_consent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED) != CONSENT:
            return {}
        answer = confirmation(tracker)
        if answer is True:
            return {CONSENT: True}
        if answer is False:
            facts = municipality_for(tracker).template_values()
            return end_form(dispatcher, "utter_complaint_file_no_consent", **facts)
        dispatcher.utter_message(response="utter_complaint_file_choose")
        return {CONSENT: None}

    async def extract_complaint_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED) != CONFIRMED:
            return {}
        return await SUMMARY.answer(dispatcher, tracker)


async def _start(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    """The form starts: only when Open Zaak can take a klacht now. Clears what an earlier form
    may have left (a stop mark, the "what to change" question)."""
    municipality = municipality_for(tracker)
    facts = municipality.template_values()
    try:
        await SERVICES.cases(municipality).ensure_case_type(CASE_TYPE)
    except NotConfigured:  # no zaken system behind the assistant here: the online route
        return end_form(dispatcher, "utter_complaint_file", **facts)
    except BackendError as error:
        _log_failure("complaint form not started", error)
        return end_form(dispatcher, "utter_complaint_file_unavailable", **facts)
    dispatcher.utter_message(response="utter_complaint_file_intro")
    return {STOPPED: None, CHANGING: None}


class ActionAskComplaintConfirmed(Action):
    """The summary, or "wat wilt u veranderen?" after a "nee" to it."""

    def name(self) -> str:
        return "action_ask_complaint_form_complaint_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot(CHANGING):
            dispatcher.utter_message(response="utter_complaint_file_what_to_change")
            return []
        dispatcher.utter_message(
            response="utter_ask_complaint_confirmed",
            description=tracker.get_slot(DESCRIPTION),
            when=tracker.get_slot(WHEN),
            name=tracker.get_slot(NAME),
            contact=tracker.get_slot(CONTACT),
        )
        return []


class ActionComplaintFile(TransactionAction):
    form_slots = FORM_SLOTS

    def name(self) -> str:
        return "action_complaint_file"

    async def complete(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        municipality = municipality_for(tracker)
        facts = municipality.template_values()
        description, when, name, contact = (
            tracker.get_slot(slot) for slot in (DESCRIPTION, WHEN, NAME, CONTACT)
        )
        answered = all(isinstance(value, str) and value for value in (description, when, name))
        agreed = tracker.get_slot(CONSENT) is True and tracker.get_slot(CONFIRMED) is True
        if not (answered and agreed and isinstance(contact, str) and contact_in(contact)):
            # Only a hand-made call gets here: the form asks for all of it.
            dispatcher.utter_message(response="utter_complaint_file_unavailable", **facts)
            return
        given, prefix, family = split_name(name)
        initiator = Initiator(family_name=family, given_names=given, family_name_prefix=prefix)
        person = ContactPerson(name, email=email_in(contact) or "", phone=phone_in(contact) or "")
        explanation = f"{description}\n\nWanneer: {when}\n{FILED_WITH_CONSENT}"

        async def file() -> str:
            cases = SERVICES.cases(municipality)
            case = await cases.create_case(
                CASE_TYPE, headline(description), explanation, initiator, person
            )
            answer_by = case.planned_end_date or case.start_date + dt.timedelta(HANDLING_DAYS)
            return json.dumps({"number": case.identification, "by": answer_by.isoformat()})

        try:
            stored, fresh = await self.once(tracker, file)
        except StillRunning:
            dispatcher.utter_message(response="utter_complaint_file_pending", **facts)
            return
        except NotConfigured as error:  # the catalogue lost the klacht type: the online route
            _log_failure("complaint not filed", error)
            dispatcher.utter_message(response="utter_complaint_file", **facts)
            return
        except BackendError as error:
            _log_failure("complaint not filed", error)
            dispatcher.utter_message(response="utter_complaint_file_unavailable", **facts)
            return
        filed = json.loads(stored)
        dispatcher.utter_message(
            response="utter_complaint_file_filed",
            case_number=filed["number"],
            answer_date=day_in_words(dt.date.fromisoformat(filed["by"]), now().date()),
            **facts,
        )
        if fresh:
            await register_contact(
                tracker, "Klacht ingediend", "Klacht ingediend via de assistent", filed["number"]
            )


def headline(description: str) -> str:
    """The zaak's short description: the first words of the complaint, cut at a word."""
    text = " ".join(description.split())
    if len(text) <= HEADLINE_MAX:
        return text
    return text[: HEADLINE_MAX - 1].rsplit(" ", 1)[0] + "…"


def _log_failure(what: str, error: BackendError) -> None:
    """Type, system and the vendor's code; never the message, which may quote what was sent."""
    if isinstance(error, BackendRejected):
        logger.warning("%s: %s %s %s", what, type(error).__name__, error.status, error.code)
    else:
        logger.warning("%s: %s from %s", what, type(error).__name__, error.system)
