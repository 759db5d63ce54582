"""Choosing a day and time from real availability: shared by booking and moving an appointment.

The resident says a day, a time, a daypart or all three at once ("donderdagmiddag half drie"),
at the day question, the time question or the confirmation ("nee, doe maar donderdag"). What is
free is asked of the backend each time, so a slot taken meanwhile is never offered.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.appointments import choices
from actions.forms import REQUESTED, end_form, said
from actions.municipality import municipality_for
from assistant.backends.appointments.base import AppointmentSystem, Location, Product
from assistant.backends.errors import BackendError, NotFound
from assistant.backends.services import SERVICES
from assistant.dutch_time import day_in_words, time_in_words
from assistant.when import DAYPARTS, Daypart, When, now, understand

PRODUCT = "appointment_product"
LOCATION = "appointment_location"
DAY = "appointment_day"
DAYPART = "appointment_daypart"
TIME = "appointment_time"
CONFIRMED = "appointment_confirmed"
CHANGING = "appointment_change"  # set while the summary question asks what to change
# A day or time said before it could be asked ("kan ik morgen langskomen?"), kept until the
# product and location are known and then read like an answer to the day question.
WISH = "appointment_wish"


async def heard(tracker: Tracker) -> When | None:
    """The day, time or daypart in the latest message (Duckling blocks: run it off the loop)."""
    text = said(tracker)
    if not text:
        return None
    return await asyncio.get_running_loop().run_in_executor(None, understand, text, now())


def wish_slot(wanted: When | None) -> dict[str, Any]:
    """The slot that keeps what was said at the start (day|time|daypart, ISO, "" for none)."""
    if wanted is None:
        return {}
    day = wanted.day.isoformat() if wanted.day else ""
    time = wanted.time.isoformat() if wanted.time else ""
    return {WISH: f"{day}|{time}|{wanted.daypart or ''}"}


def wish_in(tracker: Tracker) -> When | None:
    stored = tracker.get_slot(WISH)
    if not stored:
        return None
    day, time, daypart = stored.split("|")
    return When(
        day=dt.date.fromisoformat(day) if day else None,
        time=dt.time.fromisoformat(time) if time else None,
        daypart=cast(Daypart, daypart) if daypart in DAYPARTS else None,
    )


def system_for(tracker: Tracker) -> AppointmentSystem:
    return SERVICES.appointments(municipality_for(tracker))


@dataclass(frozen=True)
class Choice:
    """The product and location of the appointment being made or moved."""

    system: AppointmentSystem
    product: Product
    location: Location

    async def free_days(self) -> list[dt.date]:
        today = now().date()
        end = today + dt.timedelta(days=choices.HORIZON_DAYS)
        return await self.system.dates(self.product, self.location, today, end)

    async def free_times(self, day: dt.date) -> list[dt.datetime]:
        return await self.system.times(self.product, self.location, day)


async def current_choice(tracker: Tracker) -> Choice | None:
    """The product and location in the slots, as the backend knows them; None if not chosen."""
    product_id, location_id = tracker.get_slot(PRODUCT), tracker.get_slot(LOCATION)
    if not product_id or not location_id:
        return None
    system = system_for(tracker)
    product = next((p for p in await system.products() if p.id == product_id), None)
    if product is None:
        raise NotFound(system.system, "product no longer offered")
    location = next((x for x in await system.locations(product) if x.id == location_id), None)
    if location is None:
        raise NotFound(system.system, "location no longer offered")
    return Choice(system, product, location)


def unavailable(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    """End the form: the appointment system cannot be used now; offer the other ways."""
    facts = municipality_for(tracker).template_values()
    return end_form(dispatcher, "utter_appointment_unavailable", **facts)


async def read_moment(
    dispatcher: CollectingDispatcher, tracker: Tracker, wanted: When
) -> dict[str, Any]:
    """Slots for what the resident asked: day and time when free; otherwise the nearest free
    options are offered and the question is asked again (the ask actions show them as buttons).
    """
    try:
        choice = await current_choice(tracker)
        if choice is None:
            return {}
        return await _fit(dispatcher, tracker, choice, wanted)
    except BackendError:
        return unavailable(dispatcher, tracker)


async def _fit(
    dispatcher: CollectingDispatcher, tracker: Tracker, choice: Choice, wanted: When
) -> dict[str, Any]:
    today = now().date()
    chosen_day = tracker.get_slot(DAY)
    day = wanted.day or (dt.date.fromisoformat(chosen_day) if chosen_day else None)
    slots: dict[str, Any] = {DAYPART: wanted.daypart, CONFIRMED: None}
    if day is not None and day < today:
        dispatcher.utter_message(response="utter_appointment_day_past")
        return {**slots, DAY: None, TIME: None}
    free_days = await choice.free_days()
    if day is None:
        if wanted.time is None and wanted.daypart is None:  # "zo snel mogelijk"
            day = free_days[0] if free_days else None
        else:
            day = await _first_day_that_fits(choice, free_days, wanted)
    if day is None or day not in free_days:
        if day is not None:
            dispatcher.utter_message(
                response="utter_appointment_day_full", day=day_in_words(day, today)
            )
        return {**slots, DAY: None, TIME: None}
    slots[DAY] = day.isoformat()
    if wanted.time is None:
        return {**slots, TIME: None}
    times = choices.in_part(await choice.free_times(day), wanted)
    moment = choices.exact_time(times, wanted.time)
    if moment is None:
        dispatcher.utter_message(
            response="utter_appointment_time_taken",
            time=time_in_words(wanted.time),
            day=day_in_words(day, today),
        )
        return {**slots, TIME: None}
    return {**slots, TIME: moment.isoformat()}


async def _first_day_that_fits(
    choice: Choice, free_days: list[dt.date], wanted: When
) -> dt.date | None:
    for day in free_days[: choices.DAYS_TO_SEARCH]:
        times = choices.in_part(await choice.free_times(day), wanted)
        if wanted.time is None and times:
            return day
        if wanted.time is not None and choices.exact_time(times, wanted.time):
            return day
    return free_days[0] if free_days else None


async def day_buttons(tracker: Tracker) -> list[dict[str, str]]:
    """Free days to offer: near the day the resident asked for, else the first ones."""
    choice = await current_choice(tracker)
    if choice is None:
        return []
    wanted = await heard(tracker)
    days = choices.nearest_days(await choice.free_days(), wanted.day if wanted else None)
    return [choices.day_button(day, now().date()) for day in days]


async def time_buttons(tracker: Tracker) -> list[dict[str, str]]:
    """Free times on the chosen day, in the asked daypart or near the asked time first."""
    choice, day = await current_choice(tracker), tracker.get_slot(DAY)
    if choice is None or not day:
        return []
    wanted = await heard(tracker) or When()
    wanted = When(
        day=dt.date.fromisoformat(day),
        time=wanted.time,
        daypart=wanted.daypart or tracker.get_slot(DAYPART),
    )
    times = await choice.free_times(wanted.day)
    return [choices.time_button(t, now().date()) for t in choices.fitting_times(times, wanted)]


class MomentQuestions:
    """The day and time questions of a form (mixed into a `TransactionForm`)."""

    async def extract_appointment_day(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return await _moment_answer(dispatcher, tracker, DAY)

    async def extract_appointment_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return await _moment_answer(dispatcher, tracker, TIME)


async def _moment_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, slot: str
) -> dict[str, Any]:
    if tracker.get_slot(REQUESTED) != slot:
        return {}
    wanted = await heard(tracker)
    if wanted is None:
        dispatcher.utter_message(response=f"utter_{slot}_unknown")
        return {slot: None}
    return await read_moment(dispatcher, tracker, wanted)


async def corrected_moment(
    dispatcher: CollectingDispatcher, tracker: Tracker, text: str
) -> dict[str, Any]:
    """A day or time given at the summary ("nee, doe maar donderdag"): checked and offered like
    an answer to the day or time question; {} when the text names none."""
    wanted = await heard(tracker)
    return await read_moment(dispatcher, tracker, wanted) if wanted else {}
