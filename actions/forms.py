"""What every transaction form shares: answers read from the resident's own words, and a way out.

Transaction forms (an appointment, a complaint, a report) map their slots `custom`: each
`extract_<slot>` reads the latest message itself (typed text, a spoken transcript or a button's
text all arrive the same way) instead of trusting the intent, because "Jan de Vries" or "naast
de bakker" fit no intent. Button payloads are plain Dutch for the same reason: what a button
sends is what a resident could type or say.

A resident can leave at every question ("stop", "laat maar", "nee hoeft niet"): the form then
ends early with `form_stopped` set, and the form's final action (a `TransactionAction`) says that
nothing was done. Either way the final action clears the form's slots, which hold personal data.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.municipality import municipality_for
from assistant.once import OnceStore, StillRunning, confirmation_key, once, once_store
from assistant.settings import load_settings
from channels.text import normalise

STOPPED = "form_stopped"
# Values of STOPPED: the resident stopped the form, or the form ended itself and said why
# (a backend down, a check that failed), so the final action has nothing to add.
BY_RESIDENT = "resident"
EXPLAINED = "explained"
REQUESTED = "requested_slot"
# Handled by rules even inside a form: there is always a way to a person.
DIGRESSIONS = {"human_handoff"}
CONFIRM_INTENTS = {"affirm": True, "deny": False}

_STOP = re.compile(
    r"^\s*(?:nee\W*)?(?:stop(?:pen)?|laat (?:ook )?maar(?: zitten)?|hoeft (?:al )?niet(?: meer)?"
    r"|ik wil (?:het )?niet meer|toch niet|afbreken|vergeet (?:het|dat) ?(?:maar)?"
    r"|doe (?:maar )?niet|niet meer nodig|nee,? (?:dank ?je|dank u|bedankt)(?: wel)?)\b",
    re.IGNORECASE,
)
_NO = re.compile(r"^\s*(?:nee|neen|nope|nee hoor|liever niet|niet)\W*$", re.IGNORECASE)
_YES = re.compile(
    r"^\s*(?:ja|jazeker|jawel|klopt|ja,? (?:dat )?klopt|prima|goed|oké|ok|akkoord)\W*$",
    re.IGNORECASE,
)


def said(tracker: Tracker) -> str:
    """The latest message's text, cleaned as every channel cleans it; "" for a bare intent
    payload ("/affirm"), which carries no words to read."""
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/"):
        return ""
    return normalise(text).strip()


def read_answer(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    slot: str,
    read: Callable[[str], Any],
    invalid_response: str,
) -> dict[str, Any]:
    """The resident's answer to the question for `slot`, read from their words by `read`.

    Nothing when another question was asked. When `read` finds nothing, `invalid_response` says
    how to answer and the slot stays empty, so the form asks again."""
    if tracker.get_slot(REQUESTED) != slot:
        return {}
    value = read(said(tracker))
    if value is None:
        dispatcher.utter_message(response=invalid_response)
    return {slot: value}


def intent_of(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def wants_to_stop(tracker: Tracker) -> bool:
    """Whether the resident asked to stop rather than answer ("stop", "laat maar").

    Read from the words, not the intent: an answer such as a name can be classified as
    anything, and must never end the form."""
    return _STOP.match(said(tracker)) is not None


def just_no(tracker: Tracker) -> bool:
    """A bare "nee" (typed, or a button sending /deny), with no answer in it."""
    text = said(tracker)
    return _NO.match(text) is not None or (not text and intent_of(tracker) == "deny")


def confirmation(tracker: Tracker) -> bool | None:
    """True for a yes, False for a no, None when the message is neither."""
    text = said(tracker)
    if _NO.match(text):
        return False
    if _YES.match(text):
        return True
    return CONFIRM_INTENTS.get(intent_of(tracker))


class TransactionForm(FormValidationAction, ABC):
    """A form the resident can stop at any question.

    A plain "nee" to a required question means "I don't want this" and stops too, except for a
    slot in `declinable` (an optional question, where "nee" is an answer the extractor reads)
    and for the confirmation, where the form asks what to change instead.
    """

    declinable: frozenset[str] = frozenset()

    @abstractmethod
    def name(self) -> str:
        """Abstract, so the SDK registers only the concrete forms' validation actions."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        asked = tracker.get_slot(REQUESTED)
        if asked and intent_of(tracker) in DIGRESSIONS:
            return []  # nothing read: Rasa rejects the form and the digression's rule answers
        if asked and self.stops(tracker, asked):
            return [SlotSet(STOPPED, BY_RESIDENT), SlotSet(REQUESTED, None)]
        events = await super().run(dispatcher, tracker, domain)
        # A form that starts has not been stopped, whatever an earlier one left behind.
        return events if asked else [SlotSet(STOPPED, None), *events]

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # The extractors check what they read, so every slot they set this turn stands, also
        # the ones outside `required_slots` (the SDK's default would drop those).
        return [SlotSet(slot, value) for slot, value in tracker.slots_to_validate().items()]

    def stops(self, tracker: Tracker, asked: str) -> bool:
        if wants_to_stop(tracker):
            return True
        if asked in self.declinable or asked.endswith("_confirmed"):
            return False
        return just_no(tracker)


class TransactionAction(Action, ABC):
    """The action a transaction form's rule runs when the form ends: do it, or say it stopped.

    A form that ended itself after explaining why (`EXPLAINED`) gets no further answer here.
    """

    # Every slot the form fills; cleared when the action ends, whatever the outcome.
    form_slots: tuple[str, ...] = ()
    stopped_response: str = "utter_transaction_stopped"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        stopped = tracker.get_slot(STOPPED)
        if stopped == BY_RESIDENT:
            dispatcher.utter_message(response=self.stopped_response)
        elif not stopped:
            try:
                await self.complete(dispatcher, tracker, domain)
            except StillRunning:  # the same confirmation arrived twice; the first one answers
                dispatcher.utter_message(response="utter_transaction_in_progress")
        return [SlotSet(slot, None) for slot in (*self.form_slots, STOPPED)]

    async def once(self, tracker: Tracker, work: Callable[[], Awaitable[str]]) -> tuple[str, bool]:
        """`work`'s back-office reference, produced at most once for this confirmation;
        the bool is False when this is a repeated delivery. See `assistant.once`."""
        key = confirmation_key(self.name(), tracker.sender_id, tracker.events)
        return await once(_store(), key, work)

    @abstractmethod
    async def complete(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        """Carry out the transaction with the form's slots and tell the resident the outcome."""


_once_store: OnceStore | None = None


def _store() -> OnceStore:
    global _once_store
    if _once_store is None:
        _once_store = once_store(load_settings().redis_url)
    return _once_store


def end_form(dispatcher: CollectingDispatcher, response: str, **values: Any) -> dict[str, Any]:
    """Slots that end the form after telling the resident why (an extractor's result)."""
    dispatcher.utter_message(response=response, **values)
    return {STOPPED: EXPLAINED, REQUESTED: None}


def abandon(dispatcher: CollectingDispatcher, tracker: Tracker, response: str) -> list[EventType]:
    """Events that end the active form from an ask action (a backend failed while asking), after
    saying why and offering the municipality's other ways. The form's final action then runs,
    says nothing more and clears the form's slots."""
    dispatcher.utter_message(response=response, **municipality_for(tracker).template_values())
    return [SlotSet(STOPPED, EXPLAINED), SlotSet(REQUESTED, None), ActiveLoop(None)]


class ActionForgetForm(Action):
    """Clears what a form had asked when the resident leaves it for a digression (a person):
    the answers are personal data, and the final action that would clear them does not run."""

    def name(self) -> str:
        return "action_forget_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        slots = domain.get("slots", {})
        asked = {
            slot
            for form in domain.get("forms", {}).values()
            for slot in form.get("required_slots", [])
            if slots.get(slot, {}).get("type") != "categorical"  # a document type is not personal
        }
        return [SlotSet(slot, None) for slot in sorted(asked | {STOPPED})]


_CHANGE_WORD = re.compile(
    r"\b(?:ander|andere|anders|wijzig\w*|verander\w*|aanpass\w*|fout|verkeerd\w*|klopt niet"
    r"|nieuwe?)\b",
    re.IGNORECASE,
)

# How residents name their contact details at a summary ("ander e-mailadres", "nummer klopt niet").
CONTACT_WORDS = re.compile(r"\b(?:e-?mail\w*|mail|telefoon\w*|nummer|contact\w*)\b", re.I)

_NOTHING = re.compile(r"(?:niets|niks|geen|alles klopt|het klopt|klopt)\b", re.IGNORECASE)


@dataclass(frozen=True)
class SummaryQuestion:
    """The last question of a transaction form: the summary, "klopt dit?".

    `changes` maps words residents use for a part ("datum", "adres") to the slots to ask again;
    `corrects` reads a correction given in the answer itself ("nee, het was gisteren", "doe
    maar donderdag") into slot values, if the form has such a reader. `changing` is the slot
    that is set while the form asks "wat wilt u veranderen?" (the ask action shows that
    question instead of the summary).
    """

    confirmed: str
    changing: str
    changes: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]
    choose_response: str
    corrects: Callable[[CollectingDispatcher, Tracker, str], Awaitable[dict[str, Any]]] | None = (
        None
    )

    def slots_named(self, text: str, asked_what: bool) -> tuple[str, ...]:
        """The slots a change names ("andere datum"); without "ander(e)" only as the answer to
        "wat wilt u veranderen?" (`asked_what`)."""
        if not text or not (asked_what or _CHANGE_WORD.search(text)):
            return ()
        named: list[str] = []
        for pattern, slots in self.changes:
            if pattern.search(text):
                named += [slot for slot in slots if slot not in named]
        return tuple(named)

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        """Slot values for the resident's answer to the summary or to "wat wilt u veranderen?"."""
        text = said(tracker)
        asked_what = bool(tracker.get_slot(self.changing))
        if named := self.slots_named(text, asked_what):
            return {self.confirmed: None, self.changing: None, **dict.fromkeys(named)}
        answer = confirmation(tracker)
        if asked_what and (answer is not None or _NOTHING.match(text)):
            return {self.confirmed: None, self.changing: None}  # "niets": show the summary again
        if answer is True:
            return {self.confirmed: True}
        # A correction with or without "nee": "nee, het was gisteren", "liever vrijdag".
        corrected = await self.corrects(dispatcher, tracker, text) if self.corrects and text else {}
        if corrected:
            return {self.confirmed: None, **corrected}
        if answer is False or (text and re.match(r"nee\b", text, re.IGNORECASE)):
            return {self.confirmed: None, self.changing: True}
        dispatcher.utter_message(response=self.choose_response)
        return {self.confirmed: None}
