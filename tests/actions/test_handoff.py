"""Asking for a person, through the action server's own executor with a fixed clock: the offer
within and outside the KCC's hours (Utrecht's shipped content), joining the queue, and the
callback request. The whole loop against the running assistant is in
tests/channels/test_webchat_handoff.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

import actions.callbacks
import actions.handoff
from assistant.backends.appointments.calendar import AMSTERDAM
from assistant.handoff.callbacks import CallbackStore
from assistant.handoff.store import HandoffStore
from tests.actions.calls import action_call, responses, run, slots_set

TUESDAY_MORNING = dt.datetime(2026, 11, 24, 10, 0, tzinfo=AMSTERDAM)
SATURDAY = dt.datetime(2026, 11, 28, 10, 0, tzinfo=AMSTERDAM)


@pytest.fixture
def handoff_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'handoff.sqlite'}"
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    actions.handoff.handoff_store.cache_clear()
    actions.callbacks.callback_store.cache_clear()
    yield url
    actions.handoff.handoff_store.cache_clear()
    actions.callbacks.callback_store.cache_clear()


def at(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> None:
    monkeypatch.setattr(actions.handoff, "now", lambda: moment)
    monkeypatch.setattr(actions.callbacks, "now", lambda: moment)


async def test_within_the_hours_the_resident_is_asked_to_agree_to_what_is_shared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at(monkeypatch, TUESDAY_MORNING)
    result = await run(action_call("action_handoff_offer", "medewerker", "human_handoff"))
    assert responses(result) == ["utter_handoff_consent"]
    assert slots_set(result) == {"handoff_offer": "live"}


async def test_outside_the_hours_a_callback_is_offered_for_the_next_opening(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at(monkeypatch, SATURDAY)
    result = await run(action_call("action_handoff_offer", "medewerker", "human_handoff"))
    (offer,) = result["responses"]
    assert offer["response"] == "utter_handoff_closed"
    assert offer["opening"] == "maandag 30 november om 9.00 uur"
    assert slots_set(result) == {"handoff_offer": "callback"}


def on_the_phone(call: dict, channel: str = "voice") -> dict:
    """`call` as when the resident's last message came in by telephone."""
    for event in call["tracker"]["events"]:
        if event["event"] == "user":
            event["input_channel"] = channel
    return call


@pytest.mark.parametrize("channel", ["voice", "audiocodes"])
async def test_a_caller_is_transferred_to_the_phone_queue_with_the_topic(
    monkeypatch: pytest.MonkeyPatch, channel: str
) -> None:
    at(monkeypatch, TUESDAY_MORNING)
    call = action_call("action_handoff_offer", "ik wil een medewerker", "human_handoff")
    call["tracker"]["events"][-2:-2] = [
        {
            "event": "user",
            "text": "mijn paspoort is verlopen",
            "parse_data": {"intent": {"name": "document_apply"}},
        }
    ]
    result = await run(on_the_phone(call, channel))
    (transfer,) = result["responses"]
    assert transfer["response"] == "utter_handoff_transfer"
    assert transfer["custom"]["transfer"]["number"] == "+31302860000"
    assert transfer["custom"]["transfer"]["topic"]
    assert slots_set(result) == {"handoff_offer": None}


async def test_a_caller_outside_the_hours_is_offered_a_callback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at(monkeypatch, SATURDAY)
    call = action_call("action_handoff_offer", "medewerker", "human_handoff")
    result = await run(on_the_phone(call))
    assert responses(result) == ["utter_handoff_closed"]
    assert slots_set(result) == {"handoff_offer": "callback"}


async def test_yes_to_a_chat_queues_the_conversation_with_its_question_masked(
    monkeypatch: pytest.MonkeyPatch, handoff_database: str
) -> None:
    at(monkeypatch, TUESDAY_MORNING)
    call = action_call("action_handoff_accept", "ja", "affirm", {"handoff_offer": "live"})
    call["tracker"]["events"].insert(
        0,
        {
            "event": "user",
            "text": "mijn paspoort is weg, bsn 111222333",
            "parse_data": {"intent": {"name": "document_lost"}},
        },
    )
    result = await run(call)
    (waiting,) = result["responses"]
    assert waiting["response"] == "utter_handoff_waiting" and waiting["position"] == 1
    assert waiting["custom"] == {"handoff": {"state": "waiting", "position": 1}}
    assert {"event": "pause"} in [{"event": e["event"]} for e in result["events"]]
    store = HandoffStore(handoff_database)
    try:
        queued = store.open_for(call["sender_id"])
    finally:
        store.dispose()
    assert queued is not None
    assert queued.summary == "mijn paspoort is weg, bsn [bsn]"
    assert queued.topic == "Document kwijt"


async def test_yes_to_a_callback_starts_the_callback_form() -> None:
    call = action_call("action_handoff_accept", "ja", "affirm", {"handoff_offer": "callback"})
    result = await run(call)
    assert [e.get("name") for e in result["events"] if e["event"] == "followup"] == [
        "callback_form"
    ]


async def test_a_phone_number_that_cannot_be_read_is_asked_again() -> None:
    call = action_call(
        "validate_callback_form",
        "bel me maar",
        slots={"callback_name": "Anna de Vries", "requested_slot": "callback_phone"},
        form="callback_form",
    )
    result = await run(call)
    assert responses(result) == ["utter_callback_phone_invalid"]
    assert slots_set(result).get("callback_phone") is None


async def test_the_callback_lands_in_the_queue_due_at_the_next_opening(
    monkeypatch: pytest.MonkeyPatch, handoff_database: str
) -> None:
    at(monkeypatch, SATURDAY)
    slots = {
        "callback_name": "Anna de Vries",
        "callback_phone": "0612345678",
        "callback_topic": "mijn paspoort is gestolen",
    }
    call = action_call("action_callback_request", "mijn paspoort is gestolen", slots=slots)
    result = await run(call)
    (done,) = result["responses"]
    assert done["response"] == "utter_callback_requested"
    assert done["due"] == "maandag 30 november om 9.00 uur"
    assert all(slots_set(result)[slot] is None for slot in slots), "answers are cleared"
    store = CallbackStore(handoff_database)
    (callback,) = store.open("utrecht")
    assert callback.due_at == dt.datetime(2026, 11, 30, 9, 0, tzinfo=AMSTERDAM)
    assert (callback.name, callback.phone) == ("Anna de Vries", "0612345678")
