"""An existing appointment: look it up, cancel it or move it.

Each starts with the booking reference and the e-mail address or phone number used when booking
(`AppointmentSystem.verify_owner`). A wrong pair gets the same answer as an unknown reference,
ends the form and reveals nothing. Moving books the new time before the old one is cancelled
(`AppointmentSystem.reschedule`), so a failure never leaves the resident without an appointment.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.appointments.book import CONTACT
from actions.appointments.choices import place
from actions.appointments.moment import (
    CHANGING,
    CONFIRMED,
    DAY,
    DAYPART,
    LOCATION,
    PRODUCT,
    TIME,
    MomentQuestions,
    corrected_moment,
    current_choice,
    now,
    system_for,
    unavailable,
)
from actions.contacts import register_contact
from actions.forms import (
    REQUESTED,
    SummaryQuestion,
    TransactionAction,
    TransactionForm,
    abandon,
    confirmation,
    end_form,
    said,
)
from actions.municipality import municipality_for
from assistant.backends.appointments.base import SLOT_TAKEN, Appointment
from assistant.backends.errors import BackendError, BackendRejected, NotConfigured, NotFound
from assistant.contact_details import email_in, phone_in
from assistant.dutch_time import moment_in_words
from assistant.when import AMSTERDAM

logger = logging.getLogger(__name__)

REFERENCE = "appointment_reference"
FORM_SLOTS = (REFERENCE, CONTACT, PRODUCT, LOCATION, DAY, DAYPART, TIME, CONFIRMED, CHANGING)
# Moving changes only the day and time; "nee" at its summary asks which.
RESCHEDULE_SUMMARY = SummaryQuestion(
    confirmed=CONFIRMED,
    changing=CHANGING,
    changes=(
        (re.compile(r"\b(?:dag|datum)\b", re.I), (DAY, TIME)),
        (re.compile(r"\b(?:tijd|tijdstip|uur)\b", re.I), (TIME,)),
    ),
    choose_response="utter_appointment_choose",
    corrects=corrected_moment,
)
# References as the systems issue them: JCC and Qmatic use long identifiers (uuids, hex), other
# systems short codes; a resident pastes them from the confirmation, maybe with spaces around.
_REFERENCE = re.compile(r"\b([0-9A-Za-z][0-9A-Za-z-]{4,62}[0-9A-Za-z])\b")
# Answered when no appointment system is connected: the online route for each task.
ONLINE_ROUTE = {
    "appointment_check_form": "utter_appointment_check",
    "appointment_cancel_form": "utter_appointment_cancel",
    "appointment_reschedule_form": "utter_appointment_reschedule",
}


def reference_in(text: str) -> str | None:
    """The booking reference in the text: the longest code-like word that contains a digit."""
    codes = [code for code in _REFERENCE.findall(text) if re.search(r"\d", code)]
    return max(codes, key=len) if codes else None


def moment_of(appointment: Appointment) -> str:
    return moment_in_words(appointment.start.astimezone(AMSTERDAM), now().date())


async def verified(tracker: Tracker) -> Appointment:
    """The appointment in the slots, for the resident who booked it (else NotFound)."""
    system = system_for(tracker)
    return await system.verify_owner(
        tracker.get_slot(REFERENCE) or "", tracker.get_slot(CONTACT) or ""
    )


class ManageForm(TransactionForm):
    """Reference and owner check, shared by the check, cancel and reschedule forms."""

    async def extract_appointment_reference(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        asked = tracker.get_slot(REQUESTED)
        if asked is None:  # the form starts: first make sure a system is connected
            try:
                system_for(tracker)
            except NotConfigured:
                facts = municipality_for(tracker).template_values()
                return end_form(dispatcher, ONLINE_ROUTE[self.form_name()], **facts)
        if asked not in (None, REFERENCE):
            return {}
        reference = reference_in(said(tracker))
        if reference is None and asked == REFERENCE:
            dispatcher.utter_message(response="utter_appointment_reference_invalid")
        return {REFERENCE: reference} if reference or asked == REFERENCE else {}

    async def extract_appointment_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED) != CONTACT:
            return {}
        text = said(tracker)
        contact = email_in(text) or phone_in(text)
        if contact is None:
            dispatcher.utter_message(response="utter_appointment_contact_invalid")
            return {CONTACT: None}
        tracker.slots[CONTACT] = contact
        try:
            appointment = await verified(tracker)
        except NotFound:
            facts = municipality_for(tracker).template_values()
            return end_form(dispatcher, "utter_appointment_unknown", **facts)
        except BackendError:
            return unavailable(dispatcher, tracker)
        # Moving keeps the product and place; the day and time are chosen from their agenda.
        return {
            CONTACT: contact,
            PRODUCT: appointment.product.id,
            LOCATION: appointment.location.id,
        }


class ValidateAppointmentCheckForm(ManageForm):
    def name(self) -> str:
        return "validate_appointment_check_form"


class ValidateAppointmentCancelForm(ManageForm):
    def name(self) -> str:
        return "validate_appointment_cancel_form"

    async def extract_appointment_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED) != CONFIRMED:
            return {}
        answer = confirmation(tracker)
        if answer is False:
            return end_form(dispatcher, "utter_appointment_not_cancelled")
        return {CONFIRMED: answer}


class ValidateAppointmentRescheduleForm(MomentQuestions, ManageForm):
    def name(self) -> str:
        return "validate_appointment_reschedule_form"

    async def extract_appointment_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED) != CONFIRMED:
            return {}
        return await RESCHEDULE_SUMMARY.answer(dispatcher, tracker)


class ActionAskAppointmentContact(Action):
    """The contact question: for the confirmation when booking, as the owner check otherwise."""

    def name(self) -> str:
        return "action_ask_appointment_contact"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        booking = tracker.active_loop_name == "appointment_book_form"
        question = (
            "utter_ask_appointment_contact" if booking else "utter_ask_appointment_owner_contact"
        )
        dispatcher.utter_message(response=question)
        return []


class ActionAskAppointmentCancelConfirmed(Action):
    def name(self) -> str:
        return "action_ask_appointment_cancel_form_appointment_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            appointment = await verified(tracker)
        except BackendError:
            return abandon(dispatcher, tracker, "utter_appointment_unavailable")
        dispatcher.utter_message(
            response="utter_ask_appointment_cancel_confirmed",
            product=appointment.product.name,
            moment=moment_of(appointment),
            location=place(appointment.location),
        )
        return []


class ActionAskAppointmentRescheduleConfirmed(Action):
    def name(self) -> str:
        return "action_ask_appointment_reschedule_form_appointment_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            appointment = await verified(tracker)
            choice = await current_choice(tracker)
        except BackendError:
            choice = None
        if choice is None or not tracker.get_slot(TIME):
            return abandon(dispatcher, tracker, "utter_appointment_unavailable")
        if tracker.get_slot(CHANGING):
            dispatcher.utter_message(response="utter_appointment_what_to_change_moment")
            return []
        start = dt.datetime.fromisoformat(tracker.get_slot(TIME))
        dispatcher.utter_message(
            response="utter_ask_appointment_reschedule_confirmed",
            old_moment=moment_of(appointment),
            moment=moment_in_words(start.astimezone(AMSTERDAM), now().date()),
            location=place(choice.location),
        )
        return []


class ManageAction(TransactionAction):
    form_slots = FORM_SLOTS
    stopped_response = "utter_appointment_stopped"


class ActionAppointmentCheck(ManageAction):
    def name(self) -> str:
        return "action_appointment_check"

    async def complete(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        facts = municipality_for(tracker).template_values()
        try:
            appointment = await verified(tracker)
        except NotFound:
            dispatcher.utter_message(response="utter_appointment_unknown", **facts)
            return
        except BackendError as error:
            logger.warning("appointment not read: %s", error)
            dispatcher.utter_message(response="utter_appointment_unavailable", **facts)
            return
        dispatcher.utter_message(
            response="utter_appointment_details",
            product=appointment.product.name,
            moment=moment_of(appointment),
            location=place(appointment.location),
            reference=appointment.reference,
        )


class ActionAppointmentCancel(ManageAction):
    def name(self) -> str:
        return "action_appointment_cancel"

    async def complete(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        facts = municipality_for(tracker).template_values()
        try:
            appointment = await verified(tracker)

            async def cancel() -> str:
                await system_for(tracker).cancel(appointment.reference)
                return appointment.reference

            await self.once(tracker, cancel)
        except NotFound:  # cancelled meanwhile, or never there: nothing left to cancel
            dispatcher.utter_message(response="utter_appointment_unknown", **facts)
            return
        except BackendError as error:
            logger.warning("appointment not cancelled: %s", error)
            dispatcher.utter_message(response="utter_appointment_unavailable", **facts)
            return
        moment = moment_of(appointment)
        dispatcher.utter_message(response="utter_appointment_cancelled", moment=moment)
        await register_contact(
            tracker,
            "Afspraak afgezegd",
            f"{appointment.product.name}, {moment}",
            appointment.reference,
        )


class ActionAppointmentReschedule(ManageAction):
    def name(self) -> str:
        return "action_appointment_reschedule"

    async def complete(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        facts = municipality_for(tracker).template_values()
        try:
            old = await verified(tracker)
            start = dt.datetime.fromisoformat(tracker.get_slot(TIME) or "")
            system = system_for(tracker)

            async def move() -> str:
                return (await system.reschedule(old.reference, start)).reference

            reference, _ = await self.once(tracker, move)
        except BackendRejected as error:
            response = "utter_appointment_slot_taken" if error.code == SLOT_TAKEN else None
            logger.warning("appointment not moved: %s", error)
            dispatcher.utter_message(response=response or "utter_appointment_unavailable", **facts)
            return
        except (NotFound, ValueError):  # unknown, or the form left no new time
            dispatcher.utter_message(response="utter_appointment_unknown", **facts)
            return
        except BackendError as error:
            logger.warning("appointment not moved: %s", error)
            dispatcher.utter_message(response="utter_appointment_unavailable", **facts)
            return
        moment = moment_in_words(start.astimezone(AMSTERDAM), now().date())
        dispatcher.utter_message(
            response="utter_appointment_rescheduled",
            moment=moment,
            location=place(old.location),
            reference=reference,
        )
        await register_contact(
            tracker, "Afspraak verzet", f"{old.product.name}, naar {moment}", reference
        )
