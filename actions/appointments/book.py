"""Booking an appointment: product, location, day and time from real availability, name and
a contact for the confirmation, a summary to confirm, then the booking reference.

The product comes from the conversation when a document was named ("Afspraak maken" under the
passport answer), a location is not asked when there is only one, and day and time can be said
together. The name and contact are cleared once the booking is done or stopped.
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

from actions.appointments import choices
from actions.appointments.moment import (
    CHANGING,
    CONFIRMED,
    DAY,
    DAYPART,
    LOCATION,
    PRODUCT,
    TIME,
    WISH,
    MomentQuestions,
    corrected_moment,
    current_choice,
    day_buttons,
    heard,
    now,
    read_moment,
    system_for,
    time_buttons,
    unavailable,
    wish_in,
    wish_slot,
)
from actions.contacts import register_contact
from actions.forms import (
    CONTACT_WORDS,
    REQUESTED,
    SummaryQuestion,
    TransactionAction,
    TransactionForm,
    abandon,
    end_form,
    read_answer,
    said,
)
from actions.municipality import municipality_for
from assistant.backends.appointments.base import SLOT_TAKEN, Customer, Location
from assistant.backends.errors import BackendError, BackendRejected, NotConfigured, NotFound
from assistant.contact_details import email_in, name_in, phone_in
from assistant.dutch_time import day_in_words, moment_in_words

logger = logging.getLogger(__name__)

NAME = "appointment_name"
CONTACT = "appointment_contact"
FORM_SLOTS = (PRODUCT, LOCATION, DAY, DAYPART, TIME, NAME, CONTACT, CONFIRMED, CHANGING, WISH)

SUMMARY = SummaryQuestion(
    confirmed=CONFIRMED,
    changing=CHANGING,
    changes=(
        (
            re.compile(r"\b(?:plek|plaats|locatie|adres|kantoor|vestiging)\b", re.I),
            (LOCATION, DAY, TIME),
        ),
        (re.compile(r"\b(?:dag|datum)\b", re.I), (DAY, TIME)),
        (re.compile(r"\b(?:tijd|tijdstip|uur)\b", re.I), (TIME,)),
        (re.compile(r"\bnaam\b", re.I), (NAME,)),
        (CONTACT_WORDS, (CONTACT,)),
        (
            re.compile(r"\b(?:product|document|paspoort|id-?kaart|rijbewijs)\b", re.I),
            (PRODUCT, LOCATION, DAY, TIME),
        ),
    ),
    choose_response="utter_appointment_choose",
    corrects=corrected_moment,
)


class ValidateAppointmentBookForm(MomentQuestions, TransactionForm):
    def name(self) -> str:
        return "validate_appointment_book_form"

    async def extract_appointment_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        asked = tracker.get_slot(REQUESTED)
        if asked not in (None, PRODUCT) or (asked is None and tracker.get_slot(PRODUCT)):
            return {}
        try:
            products = await system_for(tracker).products()
        except NotConfigured:  # no appointment system behind the assistant: the online route
            facts = municipality_for(tracker).template_values()
            return end_form(dispatcher, "utter_appointment_book", **facts)
        except BackendError:
            return unavailable(dispatcher, tracker)
        text = said(tracker)
        if asked is None:  # the form starts: a document named earlier decides the product
            document = choices.document_in(text) or tracker.get_slot("document")
            product = choices.product_for(products, document, choices.wants_pickup(text))
            return {**wish_slot(await heard(tracker)), **({PRODUCT: product.id} if product else {})}
        product = choices.product_named(products, text)
        if product is None:
            dispatcher.utter_message(response="utter_appointment_product_unknown")
        return {PRODUCT: product.id if product else None}

    async def extract_appointment_location(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        asked = tracker.get_slot(REQUESTED)
        product_id = tracker.get_slot(PRODUCT)
        if not product_id or (tracker.get_slot(LOCATION) and asked != LOCATION):
            return {}
        try:
            system = system_for(tracker)
            product = next((p for p in await system.products() if p.id == product_id), None)
            locations = await system.locations(product) if product else []
        except BackendError:
            return unavailable(dispatcher, tracker)
        if not locations:
            return unavailable(dispatcher, tracker)
        if len(locations) == 1:
            location: Location | None = locations[0]
        elif asked != LOCATION:
            return {}
        else:
            location = choices.location_named(locations, said(tracker))
        if location is None:
            dispatcher.utter_message(response="utter_appointment_location_unknown")
            return {LOCATION: None}
        return {LOCATION: location.id, **await _granted_wish(dispatcher, tracker, location)}

    async def extract_appointment_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return read_answer(dispatcher, tracker, NAME, name_in, "utter_appointment_name_invalid")

    async def extract_appointment_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED) != CONTACT:
            return {}
        text = said(tracker)
        contact = email_in(text) or phone_in(text)
        if contact is None:
            dispatcher.utter_message(response="utter_appointment_contact_invalid")
        return {CONTACT: contact}

    async def extract_appointment_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot(REQUESTED) != CONFIRMED:
            return {}
        return await SUMMARY.answer(dispatcher, tracker)


async def _granted_wish(
    dispatcher: CollectingDispatcher, tracker: Tracker, location: Location
) -> dict[str, Any]:
    """The day and time said at the start, now that the agenda to check them in is known."""
    wanted = wish_in(tracker)
    if wanted is None or tracker.get_slot(DAY):
        return {}
    tracker.slots[LOCATION] = location.id
    return {WISH: None, **await read_moment(dispatcher, tracker, wanted)}


class ActionAskAppointmentProduct(Action):
    def name(self) -> str:
        return "action_ask_appointment_product"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            products = await system_for(tracker).products()
        except BackendError:
            return abandon(dispatcher, tracker, "utter_appointment_unavailable")
        document = tracker.get_slot("document")
        named = [p for p in products if document and choices.document_in(p.name) == document]
        buttons = [{"title": p.name, "payload": p.name} for p in named or products]
        dispatcher.utter_message(response="utter_ask_appointment_product", buttons=buttons)
        return []


class ActionAskAppointmentLocation(Action):
    def name(self) -> str:
        return "action_ask_appointment_location"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            system = system_for(tracker)
            product = next(p for p in await system.products() if p.id == tracker.get_slot(PRODUCT))
            locations = await system.locations(product)
        except (BackendError, StopIteration):
            return abandon(dispatcher, tracker, "utter_appointment_unavailable")
        buttons = [{"title": loc.name, "payload": loc.name} for loc in locations]
        dispatcher.utter_message(response="utter_ask_appointment_location", buttons=buttons)
        return []


class ActionAskAppointmentDay(Action):
    def name(self) -> str:
        return "action_ask_appointment_day"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            buttons = await day_buttons(tracker)
        except BackendError:
            return abandon(dispatcher, tracker, "utter_appointment_unavailable")
        if not buttons:
            return abandon(dispatcher, tracker, "utter_appointment_no_days")
        dispatcher.utter_message(response="utter_ask_appointment_day", buttons=buttons)
        return []


class ActionAskAppointmentTime(Action):
    def name(self) -> str:
        return "action_ask_appointment_time"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        day = tracker.get_slot(DAY)
        try:
            buttons = await time_buttons(tracker)
        except BackendError:
            buttons = []
        if not buttons or not day:
            return abandon(dispatcher, tracker, "utter_appointment_unavailable")
        dispatcher.utter_message(
            response="utter_ask_appointment_time",
            day=day_in_words(dt.date.fromisoformat(day), now().date()),
            buttons=buttons,
        )
        return []


class ActionAskAppointmentBookConfirmed(Action):
    def name(self) -> str:
        return "action_ask_appointment_book_form_appointment_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            choice = await current_choice(tracker)
        except BackendError:
            choice = None
        if choice is None or not tracker.get_slot(TIME):
            return abandon(dispatcher, tracker, "utter_appointment_unavailable")
        if tracker.get_slot(CHANGING):
            dispatcher.utter_message(response="utter_appointment_what_to_change")
            return []
        start = dt.datetime.fromisoformat(tracker.get_slot(TIME))
        dispatcher.utter_message(
            response="utter_ask_appointment_book_confirmed",
            product=choice.product.name,
            moment=moment_in_words(start.astimezone(choices.AMSTERDAM), now().date()),
            location=choices.place(choice.location),
            name=tracker.get_slot(NAME),
            contact=tracker.get_slot(CONTACT),
        )
        return []


class ActionAppointmentBook(TransactionAction):
    form_slots = FORM_SLOTS

    def name(self) -> str:
        return "action_appointment_book"

    async def complete(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        facts = municipality_for(tracker).template_values()
        when, name, contact = (tracker.get_slot(s) for s in (TIME, NAME, CONTACT))
        try:
            choice = await current_choice(tracker)
            if choice is None or not (when and name and contact):
                raise NotFound("appointments", "the form ended without a complete choice")
            start = dt.datetime.fromisoformat(when)
            by_mail = "@" in contact
            customer = Customer(
                name, email=contact if by_mail else "", phone="" if by_mail else contact
            )

            async def book() -> str:
                booked = await choice.system.book(choice.product, choice.location, start, customer)
                return booked.reference

            reference, _ = await self.once(tracker, book)
        except BackendError as error:
            taken = isinstance(error, BackendRejected) and error.code == SLOT_TAKEN
            if not taken:
                logger.warning("appointment not booked: %s", error)
            response = "utter_appointment_slot_taken" if taken else "utter_appointment_unavailable"
            dispatcher.utter_message(response=response, **facts)
            return
        moment = moment_in_words(start.astimezone(choices.AMSTERDAM), now().date())
        dispatcher.utter_message(
            response="utter_appointment_booked",
            product=choice.product.name,
            moment=moment,
            location=choices.place(choice.location),
            reference=reference,
            **facts,
        )
        document = choices.document_in(choice.product.name)
        bring = f"utter_appointment_bring_{document}" if document else "utter_appointment_bring"
        dispatcher.utter_message(response=bring, **facts)
        await register_contact(
            tracker, "Afspraak gemaakt", f"{choice.product.name}, {moment}", reference
        )
