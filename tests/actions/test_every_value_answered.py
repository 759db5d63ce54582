"""Every action names a response that exists, for every slot value a conversation can hold.

Runs each registered action through the SDK's own executor, as Rasa calls it, with every known
value of each categorical slot, with no value and with junk (a typo no mapping can place, a value
from a hand-made button payload, a zero-width trick), and checks each response it chose.
"""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import ActionExecutor

from actions.answers import DOCUMENT_TOPICS
from assistant.slot_values import KNOWN_VALUES, canonical_value
from tests.domain_files import DOMAIN

# Values no mapping can place (a button payload or API call can carry anything).
REJECTED = ("zwembadpas", "<script>", "9" * 50, "")
# Plus spellings that mean a known value.
JUNK = (*REJECTED, "pas\u200bpoort\u202e", "PASP00RT")

EXECUTOR = ActionExecutor()
EXECUTOR.register_package("actions")


def slot_values(slot: str) -> list[Any]:
    return [*KNOWN_VALUES[slot], None, *JUNK, 42]


def action_call(action: str, slots: dict[str, Any], intent: str) -> dict[str, Any]:
    latest = {"text": "vraag", "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    events: list[dict[str, Any]] = [
        {"event": "user", "text": "vraag", "parse_data": latest},
        *({"event": "slot", "name": name, "value": value} for name, value in slots.items()),
    ]
    return {
        "next_action": action,
        "sender_id": "test-every-value",
        "tracker": {
            "sender_id": "test-every-value",
            "slots": {"municipality": "utrecht", **slots},
            "latest_message": latest,
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": "document_form"} if "requested_slot" in slots else {},
            "latest_action_name": "action_listen",
        },
        "domain": DOMAIN,
        "version": "3.6.2",
    }


def test_domain_slots_offer_exactly_the_contract_values() -> None:
    categorical = {
        name: tuple(slot["values"])
        for name, slot in DOMAIN["slots"].items()
        if slot["type"] == "categorical"
    }
    assert categorical == KNOWN_VALUES


@pytest.mark.parametrize("action", sorted(EXECUTOR.actions))
async def test_every_action_names_an_existing_response_for_every_value(action: str) -> None:
    intents = ["greet", *DOCUMENT_TOPICS, "permit_needed", "permit_apply", "inform"]
    for slot in KNOWN_VALUES:
        for value in slot_values(slot):
            for intent in intents:
                slots = {slot: value}
                if action.startswith("validate_"):
                    slots["requested_slot"] = slot
                result = await EXECUTOR.run(action_call(action, slots, intent))
                named = [r["response"] for r in result["responses"] if r.get("response")]
                missing = [name for name in named if name not in DOMAIN["responses"]]
                assert not missing, f"{action} with {slot}={value!r} after {intent}: {missing}"
                assert result["responses"] or action.startswith(
                    ("validate_", "action_session", "action_forget")
                ), f"{action} with {slot}={value!r} after {intent} says nothing"


@pytest.mark.parametrize("junk", REJECTED)
async def test_the_document_form_rejects_what_it_cannot_answer_for(junk: str) -> None:
    call = action_call(
        "validate_document_form", {"document": junk, "requested_slot": "document"}, "inform"
    )
    result = await EXECUTOR.run(call)
    document_events = [e for e in result["events"] if e.get("name") == "document"]
    assert document_events and document_events[-1]["value"] is None
    assert [r["response"] for r in result["responses"]] == ["utter_document_unknown"]


def test_typos_and_look_alike_digits_still_name_the_document() -> None:
    assert canonical_value("document", "pasp00rt") == "paspoort"
    assert canonical_value("document", "ID-Kaart") == "id_kaart"
    assert canonical_value("document", "rijbwijs") == "rijbewijs"
    assert canonical_value("permit", "kapvergunnig") == "kapvergunning"
    assert canonical_value("document", "kapvergunning") is None
