"""Reporting a problem in public space (melding openbare ruimte) to Signalen.

Turn by turn: what is wrong (taken from the first message when it already says so: "de
lantaarnpaal bij ons is kapot"), where (a street and house number, or a postcode and house
number; a street alone gets "welk huisnummer?"), optionally an e-mail address or phone number
for updates, a summary to confirm; then the melding, filed under the Signalen category that
`choose_category` reads from the description, and its number.

Whether Signalen answers is checked when the form starts (reading its categories, which the
filing then needs no more), so nobody describes a problem to a back office that is down; a
municipality without Signalen behind the assistant gets the online route at once. At the
summary "nee" asks what to change, and "nee, het is Kerkstraat 14" changes the place directly.
The answers are cleared when the form ends; logs name error types, never values.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.contacts import register_contact
from actions.forms import (
    REQUESTED,
    STOPPED,
    SummaryQuestion,
    TransactionAction,
    TransactionForm,
    confirmation,
    end_form,
    said,
)
from actions.municipality import municipality_for
from assistant.addresses import Address, SharedLocation, address_in, place_from_slot
from assistant.backends.errors import BackendError, BackendRejected, NotConfigured
from assistant.backends.services import SERVICES
from assistant.backends.signalen.reports import (
    Reporter,
    ReportInvalid,
    ReportLocation,
    choose_category,
)
from assistant.contact_details import contact_in, email_in, phone_in
from assistant.once import StillRunning

logger = logging.getLogger(__name__)

DESCRIPTION = "report_description"
ADDRESS = "report_address"  # an `Address.as_slot()` or `SharedLocation.as_slot()` dict
PARTIAL = "report_address_partial"  # a street or postcode still waiting for its house number
CONTACT = "report_contact"
CONFIRMED = "report_confirmed"
CHANGING = "report_change"  # set while the assistant asks what to change at the summary
FORM_SLOTS = (DESCRIPTION, ADDRESS, PARTIAL, CONTACT, CONFIRMED, CHANGING)

NO_CONTACT = "geen"  # the resident wants no updates: an answer, so the form moves on
DESCRIPTION_MIN_WORDS = 2
# A first message this long that names a known kind of problem is the description already.
FIRST_MESSAGE_MIN_WORDS = 4
MAX_DESCRIPTION = 1000  # a chat message; Signalen takes 3000

_DECLINE = re.compile(
    r"^\s*(?:nee|neen|nope|liever niet|hoeft niet|niet nodig|geen (?:bericht|contact)|geen)\b",
    re.IGNORECASE,
)


def description_problem(text: str) -> str | None:
    """The response that says what is wrong with a description, or None when it will do."""
    if len(text.split()) < DESCRIPTION_MIN_WORDS or sum(ch.isalpha() for ch in text) < 5:
        return "utter_report_public_space_description_short"
    return None


def first_message_description(text: str) -> str | None:
    """The problem as the resident put it when starting ("de lantaarnpaal is kapot"), if the
    message already says what is wrong; None for "ik wil iets melden" or a button."""
    if len(text.split()) < FIRST_MESSAGE_MIN_WORDS or len(text) > MAX_DESCRIPTION:
        return None
    return text if choose_category(text) != "overig" else None


async def _corrected_place(
    dispatcher: CollectingDispatcher, tracker: Tracker, text: str
) -> dict[str, Any]:
    """ "nee, het is Kerkstraat 14": the new place, if the "nee" carries a whole address."""
    address = address_in(re.sub(r"^nee\W*", "", text, flags=re.IGNORECASE))
    return {ADDRESS: address.as_slot(), PARTIAL: None} if address and address.complete else {}


SUMMARY = SummaryQuestion(
    confirmed=CONFIRMED,
    changing=CHANGING,
    changes=(
        (
            re.compile(r"\b(?:omschrijving|beschrijving|tekst|melding|probleem)\b", re.I),
            (DESCRIPTION,),
        ),
        (
            re.compile(r"\b(?:plek|plaats|adres|straat|locatie|huisnummer|postcode|waar)\b", re.I),
            (ADDRESS, PARTIAL),
        ),
        (
            re.compile(r"\b(?:e-?mail\w*|mail|telefoon\w*|nummer|contact\w*|bericht)\b", re.I),
            (CONTACT,),
        ),
    ),
    choose_response="utter_report_public_space_choose",
    corrects=_corrected_place,
)


class ValidateReportForm(TransactionForm):
    # Updates are optional: "nee" (or "nee hoeft niet") to them is an answer, not a stop.
    declinable = frozenset({CONTACT})

    def name(self) -> str:
        return "validate_report_form"

    def stops(self, tracker: Tracker, asked: str) -> bool:
        if asked == CONTACT and _declines(tracker):
            return False
        return super().stops(tracker, asked)

    async def extract_report_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        asked = tracker.get_slot(REQUESTED)
        if asked is None and tracker.get_slot(DESCRIPTION) is None:
            return await _start(dispatcher, tracker)
        if asked != DESCRIPTION:
            return {}
        text = said(tracker)
        if problem := description_problem(text):
            dispatcher.utter_message(response=problem)
            return {DESCRIPTION: None}
        return {DESCRIPTION: text[:MAX_DESCRIPTION]}

    async def extract_report_address(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED) != ADDRESS:
            return {}
        if shared := SharedLocation.from_metadata(tracker.latest_message.get("metadata")):
            return {ADDRESS: shared.as_slot(), PARTIAL: None}
        address = address_in(said(tracker))
        waiting = Address.from_slot(tracker.get_slot(PARTIAL))
        if address and waiting and not (address.street or address.postcode):  # "12"
            address = waiting.completed_by(address)
        if address and address.complete:
            return {ADDRESS: address.as_slot(), PARTIAL: None}
        if address and address.partial:  # the ask action asks for the house number
            return {ADDRESS: None, PARTIAL: address.as_slot()}
        facts = municipality_for(tracker).template_values()
        dispatcher.utter_message(response="utter_report_public_space_address_invalid", **facts)
        return {ADDRESS: None, PARTIAL: waiting.as_slot() if waiting else None}

    async def extract_report_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED) != CONTACT:
            return {}
        if contact := contact_in(said(tracker)):
            return {CONTACT: contact}
        if _declines(tracker):
            return {CONTACT: NO_CONTACT}
        dispatcher.utter_message(response="utter_report_public_space_contact_invalid")
        return {CONTACT: None}

    async def extract_report_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED) != CONFIRMED:
            return {}
        return await SUMMARY.answer(dispatcher, tracker)


def _declines(tracker: Tracker) -> bool:
    """ "nee", "nee hoeft niet", "liever niet" to the optional question, without a contact."""
    text = said(tracker)
    if contact_in(text):
        return False
    return confirmation(tracker) is False or _DECLINE.match(text) is not None


async def _start(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    """The form starts: only when Signalen answers. Clears what an earlier form may have left,
    and keeps a first message that says what is wrong."""
    municipality = municipality_for(tracker)
    facts = municipality.template_values()
    try:
        await SERVICES.reports(municipality).ensure_available()
    except NotConfigured:  # no Signalen here: the online route
        return end_form(dispatcher, "utter_report_public_space", **facts)
    except BackendError as error:
        _log_failure(error, "report form not started")
        return end_form(dispatcher, "utter_report_public_space_unavailable", **facts)
    dispatcher.utter_message(response="utter_report_public_space_intro", **facts)
    return {
        STOPPED: None,
        CHANGING: None,
        PARTIAL: None,
        DESCRIPTION: first_message_description(said(tracker)),
    }


class ActionAskReportAddress(Action):
    """ "Waar is het?", or only the house number when a street or postcode came without one."""

    def name(self) -> str:
        return "action_ask_report_form_report_address"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        waiting = Address.from_slot(tracker.get_slot(PARTIAL))
        if waiting is not None and waiting.partial:
            dispatcher.utter_message(
                response="utter_report_public_space_house_number", address=waiting.in_words()
            )
        else:
            dispatcher.utter_message(response="utter_ask_report_address")
        return []


class ActionAskReportConfirmed(Action):
    """The summary, or "wat wilt u veranderen?" after a "nee" to it."""

    def name(self) -> str:
        return "action_ask_report_form_report_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot(CHANGING):
            dispatcher.utter_message(response="utter_report_public_space_what_to_change")
            return []
        address = place_from_slot(tracker.get_slot(ADDRESS))
        contact = tracker.get_slot(CONTACT)
        dispatcher.utter_message(
            response="utter_ask_report_confirmed",
            description=tracker.get_slot(DESCRIPTION),
            address=address.in_words() if address else "",
            contact=f"naar {contact}" if contact and contact != NO_CONTACT else "niet nodig",
        )
        return []


class ActionReportPublicSpace(TransactionAction):
    form_slots = FORM_SLOTS

    def name(self) -> str:
        return "action_report_public_space"

    async def complete(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        municipality = municipality_for(tracker)
        facts = municipality.template_values()
        description = tracker.get_slot(DESCRIPTION)
        address = place_from_slot(tracker.get_slot(ADDRESS))
        contact = tracker.get_slot(CONTACT)
        if not (
            isinstance(description, str)
            and description.strip()
            and address is not None
            and address.complete
            and isinstance(contact, str)
            and tracker.get_slot(CONFIRMED) is True
        ):
            # Only a hand-made call gets here: the form asks for all of it.
            dispatcher.utter_message(response="utter_report_public_space_unavailable", **facts)
            return
        reporter = None
        if contact != NO_CONTACT:
            reporter = Reporter(email=email_in(contact), phone=phone_in(contact))
        category = choose_category(description)

        async def file() -> str:
            location = (
                ReportLocation(lat=address.latitude, lon=address.longitude)
                if isinstance(address, SharedLocation)
                else ReportLocation(
                    street=address.street,
                    house_number=address.house_number,
                    postcode=address.postcode,
                )
            )
            report = await SERVICES.reports(municipality).file(
                description, location, category, reporter
            )
            return report.number

        try:
            number, fresh = await self.once(tracker, file)
        except StillRunning:
            dispatcher.utter_message(response="utter_report_public_space_pending", **facts)
            return
        except NotConfigured as error:  # Signalen offers no category to file under
            _log_failure(error)
            dispatcher.utter_message(response="utter_report_public_space", **facts)
            return
        except (BackendError, ReportInvalid) as error:
            _log_failure(error)
            dispatcher.utter_message(response="utter_report_public_space_unavailable", **facts)
            return
        dispatcher.utter_message(
            response="utter_report_public_space_filed", report_number=number, **facts
        )
        if reporter is not None:
            dispatcher.utter_message(response="utter_report_public_space_updates")
        if fresh:
            summary = f"Melding gedaan via de assistent, categorie {category}"
            await register_contact(tracker, "Melding openbare ruimte", summary, number)


def _log_failure(error: Exception, what: str = "report not filed") -> None:
    """Type, and the code a refusal carries (a field name, "throttled"); never the values."""
    if isinstance(error, BackendRejected):
        logger.warning("%s: %s %s %s", what, type(error).__name__, error.status, error.code)
    elif isinstance(error, ReportInvalid):
        logger.warning("%s: ReportInvalid %s", what, error.field)
    else:
        logger.warning("%s: %s", what, type(error).__name__)
