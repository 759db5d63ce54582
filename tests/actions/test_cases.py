"""Case status through the running assistant, its action server and the Open Zaak sandbox."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests
from rasa_sdk.executor import ActionExecutor

from assistant.backends.services import SERVICES
from assistant.stack import Stack
from tests.actions.conftest import Say, texts
from tests.actions.test_every_value_answered import DOMAIN, action_call
from tests.conftest import SANDBOX_CREDENTIALS


def ask_status(say: Say, number: str, postcode: str) -> str:
    assert "zaaknummer" in texts(say("hoe staat het met mijn aanvraag")).lower()
    assert "postcode" in texts(say(number)).lower()
    return texts(say(postcode))


def test_a_resident_hears_the_status_of_their_case(conversation: Callable[[str], Say]) -> None:
    answer = ask_status(conversation("utrecht"), "zaak 2026 0000123", "3511 ab")
    assert "ZAAK-2026-0000123" in answer
    assert "in behandeling" in answer
    assert "Dit staat zo sinds" in answer and "We verwachten dat uw zaak klaar is op" in answer


def test_a_wrong_postcode_and_an_unknown_number_get_the_same_answer(
    conversation: Callable[[str], Say],
) -> None:
    wrong_postcode = ask_status(conversation("utrecht"), "ZAAK-2026-0000123", "1234AB")
    unknown_number = ask_status(conversation("utrecht"), "ZAAK-2026-9999999", "3511AB")
    assert wrong_postcode == unknown_number
    assert "in behandeling" not in wrong_postcode and "Ik kan geen zaak vinden" in wrong_postcode


def test_a_number_in_the_first_question_is_not_asked_again(
    conversation: Callable[[str], Say],
) -> None:
    say = conversation("zwolle")
    assert "postcode" in texts(say("wat is de status van zaak ZAAK-2026-0000456")).lower()
    answer = texts(say("3512 PA"))
    assert "ZAAK-2026-0000456" in answer and "verwachten" not in answer, "a closed case"


def test_the_resident_can_stop_while_asked_for_the_number(
    conversation: Callable[[str], Say],
) -> None:
    say = conversation("utrecht")
    say("ik wil weten hoe het met mijn zaak staat")
    assert "zoek ik niets op" in texts(say("nee laat maar"))
    assert "€" in texts(say("wat kost een paspoort")), "the assistant is itself again"


def test_the_lookup_is_registered_as_a_klantcontact(
    conversation: Callable[[str], Say], assistant_stack: Stack
) -> None:
    ask_status(conversation("utrecht"), "ZAAK-2026-0000123", "3511AB")
    response = requests.get(
        f"{assistant_stack.sandbox_url}/openklant/klantinteracties/api/v1/klantcontacten",
        headers={"Authorization": f"Token {SANDBOX_CREDENTIALS['SANDBOX_OPENKLANT_TOKEN']}"},
        params={"pageSize": 100},
        timeout=10,
    )
    response.raise_for_status()
    subjects = [contact["onderwerp"] for contact in response.json()["results"]]
    assert "Status van een zaak opgevraagd" in subjects
    assert all("3511" not in contact.get("inhoud", "") for contact in response.json()["results"])


@pytest.mark.timeout(10)
async def test_a_back_office_that_is_down_gets_another_way_within_three_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SANDBOX_URL", "http://127.0.0.1:1")  # nothing listens on port 1
    for name in SANDBOX_CREDENTIALS:
        monkeypatch.setenv(name, "x")
    await SERVICES.close()  # built anew from this environment
    executor = ActionExecutor()
    executor.register_package("actions")
    slots = {"case_number": "ZAAK-2026-0000123", "postcode": "3511AB"}
    started = time.monotonic()
    try:
        result = await executor.run(action_call("action_case_status", slots, "inform"))
    finally:
        await SERVICES.close()
    assert time.monotonic() - started < 3
    assert [r["response"] for r in result["responses"]] == ["utter_case_status_unavailable"]
    cleared = {e["name"]: e["value"] for e in result["events"] if e["event"] == "slot"}
    assert cleared == {"case_number": None, "postcode": None}, "personal data is not kept"
    assert "bel" in DOMAIN["responses"]["utter_case_status_unavailable"][0]["text"].lower()
