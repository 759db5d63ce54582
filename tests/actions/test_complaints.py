"""Filing a complaint: the form's questions and summary, the klacht the Open Zaak sandbox then
holds (with the resident's contact details) and the klantcontact in Open Klant.

Most tests run the actions through the SDK's executor, as Rasa calls them, against the sandbox
over real HTTP. The tests named `..._end_to_end` talk to the running assistant over the REST
channel (a trained model is needed); deselect them with `-k "not end_to_end"`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from actions.complaints import (
    FILED_WITH_CONSENT,
    FORM_SLOTS,
    headline,
    now,
)
from assistant.backends.services import SERVICES
from assistant.backends.zgw.client import ZgwClient, ZgwConfig
from assistant.sandbox.server import create_app, load_credentials
from assistant.stack import Stack
from assistant.when import UNKNOWN_DAY, happened
from tests.actions.calls import action_call, responses, run, slots_set
from tests.actions.conftest import Say, button_titles, texts
from tests.conftest import SANDBOX_CREDENTIALS
from tests.domain_files import DOMAIN
from tests.sandbox.serving import serving, sqlite_url

# Calls made while the complaint form is active.
complaint_call = partial(action_call, form="complaint_form")
RSIN = "002220647"  # the demo municipalities' RSIN (assistant/municipalities/*.yml)
DESCRIPTION = "Ik werd aan de balie heel onbeleefd behandeld en niemand wilde mij helpen."
FILLED = {
    "complaint_description": DESCRIPTION,
    "complaint_when": "dinsdag 3 maart",
    "complaint_name": "Anna de Vries",
    "complaint_contact": "anna.devries@example.nl en 0612345678",
    "complaint_consent": True,
    "complaint_confirmed": True,
}
CASE_NUMBER = re.compile(r"ZAAK-\d{4}-\d{10}")


# --- calling the actions as Rasa does ----------------------------------------------------------


async def answer(slot: str, text: str, intent: str = "inform", **filled: Any) -> dict[str, Any]:
    """What the complaint form makes of `text` said to the question for `slot`."""
    slots = {**filled, "requested_slot": slot}
    return await run(complaint_call("validate_complaint_form", text, intent, slots))


# --- the sandbox ------------------------------------------------------------------------------


@pytest.fixture
async def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """All five stand-ins on a port of this test's own, as the demo municipalities' backends
    (their `sandbox:/` addresses resolve against it); yields the root without "/"."""
    app = create_app(sqlite_url(tmp_path), load_credentials(SANDBOX_CREDENTIALS))
    async with serving(app) as url:
        monkeypatch.setenv("SANDBOX_URL", url.rstrip("/"))
        await SERVICES.close()  # built anew from this environment
        try:
            yield url.rstrip("/")
        finally:
            await SERVICES.close()


@pytest.fixture
async def unreachable(
    request: pytest.FixtureRequest, silent_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[None]:
    """The back offices down (nothing listens) or silent (they never answer)."""
    url = "http://127.0.0.1:1" if request.param == "down" else silent_url
    monkeypatch.setenv("SANDBOX_URL", url.rstrip("/"))
    await SERVICES.close()
    try:
        yield
    finally:
        await SERVICES.close()


def zgw_client(root: str, session: aiohttp.ClientSession | None = None) -> ZgwClient:
    """A client of the sandbox's Open Zaak, to read what the assistant filed."""
    return ZgwClient(
        ZgwConfig(
            zaken_url=f"{root}/zgw/zaken/api/v1/",
            catalogi_url=f"{root}/zgw/catalogi/api/v1/",
            client_id=SANDBOX_CREDENTIALS["SANDBOX_ZGW_CLIENT_ID"],
            secret=SANDBOX_CREDENTIALS["SANDBOX_ZGW_SECRET"],
            rsin=RSIN,
        ),
        session=session,
    )


async def filed_klacht(root: str, number: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The zaak with this number and its rollen, as the sandbox holds them."""
    async with zgw_client(root) as client:
        zaken = await client.list_zaken({"identificatie": number})
        assert len(zaken) == 1, number
        rollen = await client.list_rollen({"zaak": zaken[0]["url"]})
        return dict(zaken[0]), [dict(rol) for rol in rollen]


async def zaken_about(root: str, text: str) -> list[dict[str, Any]]:
    async with zgw_client(root) as client:
        return [dict(z) for z in await client.list_zaken() if text in z.get("toelichting", "")]


async def klantcontacten(root: str) -> list[dict[str, Any]]:
    token = SANDBOX_CREDENTIALS["SANDBOX_OPENKLANT_TOKEN"]
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{root}/openklant/klantinteracties/api/v1/klantcontacten",
            headers={"Authorization": f"Token {token}"},
            params={"pageSize": "100"},
        ) as response,
    ):
        response.raise_for_status()
        return list((await response.json())["results"])


def test_the_zaak_gets_the_first_words_of_the_complaint_as_its_description() -> None:
    long = "De medewerker " + "zei iets heel vervelends " * 10
    assert headline(DESCRIPTION) == DESCRIPTION
    assert len(headline(long)) <= 80 and headline(long).endswith("…")
    assert not headline(long)[:-1].endswith(" ")


# --- the questions ----------------------------------------------------------------------------


async def test_the_form_starts_only_when_open_zaak_can_take_a_complaint(sandbox: str) -> None:
    result = await run(complaint_call("validate_complaint_form", "ik wil klagen", "complaint_file"))
    assert responses(result) == ["utter_complaint_file_intro"]
    set_now = slots_set(result)
    assert set_now["form_stopped"] is None and "requested_slot" not in set_now


async def test_without_open_zaak_the_resident_gets_the_online_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SANDBOX_URL", raising=False)
    await SERVICES.close()
    result = await run(complaint_call("validate_complaint_form", "ik wil klagen", "complaint_file"))
    assert responses(result) == ["utter_complaint_file"]
    assert slots_set(result) == {"form_stopped": "explained", "requested_slot": None}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("unreachable", ["down", "silent"], indirect=True)
async def test_open_zaak_down_or_slow_at_the_start_gets_another_way_within_three_seconds(
    unreachable: None,
) -> None:
    started = time.monotonic()
    result = await run(complaint_call("validate_complaint_form", "ik wil klagen", "complaint_file"))
    assert time.monotonic() - started < 3
    assert responses(result) == ["utter_complaint_file_unavailable"]
    assert slots_set(result)["form_stopped"] == "explained"
    text = DOMAIN["responses"]["utter_complaint_file_unavailable"][0]["text"]
    assert "{links_complaint}" in text and "{contact_phone}" in text


@pytest.mark.parametrize(
    ("slot", "said", "value", "said_back"),
    [
        ("complaint_description", DESCRIPTION, DESCRIPTION, []),
        ("complaint_description", "heel slecht", None, ["utter_complaint_file_description_short"]),
        ("complaint_description", "a " * 600, None, ["utter_complaint_file_description_long"]),
        ("complaint_name", "ik ben anna de vries", "Anna de Vries", []),
        ("complaint_name", "1234", None, ["utter_complaint_file_name_invalid"]),
        ("complaint_contact", "mail mij: Anna@Example.NL", "Anna@example.nl", []),
        ("complaint_contact", "06-12345678", "0612345678", []),
        ("complaint_contact", "a@b.nl of 06 1234 5678", "a@b.nl en 0612345678", []),
        ("complaint_contact", "liever niet zeggen", None, ["utter_complaint_file_contact_invalid"]),
        ("complaint_when", "weet ik niet meer", UNKNOWN_DAY, []),
        ("complaint_when", "morgen", None, ["utter_complaint_file_when_invalid"]),
    ],
)
async def test_each_answer_is_read_from_the_residents_words(
    slot: str, said: str, value: Any, said_back: list[str]
) -> None:
    result = await answer(slot, said)
    assert slots_set(result)[slot] == value
    assert responses(result) == said_back


async def test_a_day_is_read_as_one_that_has_passed() -> None:
    result = await answer("complaint_when", "vorige week dinsdag")
    day = slots_set(result)["complaint_when"]
    assert day.startswith("dinsdag ")
    assert not responses(result)


@pytest.mark.parametrize(
    ("slot", "said", "intent"),
    [
        ("complaint_description", "stop", "inform"),
        ("complaint_description", "nee", "deny"),
        ("complaint_name", "laat maar", "inform"),
        ("complaint_contact", "nee hoeft niet", "deny"),
        ("complaint_confirmed", "stop", "inform"),
    ],
)
async def test_the_resident_can_stop_at_every_question(slot: str, said: str, intent: str) -> None:
    result = await answer(slot, said, intent)
    assert slots_set(result) == {"form_stopped": "resident", "requested_slot": None}
    stopped = await run(
        complaint_call(
            "action_complaint_file", said, intent, {**FILLED, "form_stopped": "resident"}
        )
    )
    assert responses(stopped) == ["utter_transaction_stopped"]
    assert all(slots_set(stopped)[name] is None for name in (*FORM_SLOTS, "form_stopped"))


async def test_no_with_an_answer_is_the_answer_not_a_stop() -> None:
    result = await answer("complaint_when", "nee, het was gisteren", "deny")
    assert slots_set(result)["complaint_when"] == happened("gisteren", now())
    assert "form_stopped" not in slots_set(result)


async def test_without_consent_nothing_is_sent_and_the_form_says_why() -> None:
    result = await answer("complaint_consent", "nee", "deny")
    assert responses(result) == ["utter_complaint_file_no_consent"]
    assert slots_set(result)["form_stopped"] == "explained"
    agreed = await answer("complaint_consent", "", "affirm")
    assert slots_set(agreed)["complaint_consent"] is True


# --- the summary ------------------------------------------------------------------------------


async def test_the_summary_shows_every_answer_with_yes_and_no() -> None:
    result = await run(
        complaint_call("action_ask_complaint_form_complaint_confirmed", "", "affirm", FILLED)
    )
    (reply,) = result["responses"]
    assert reply["response"] == "utter_ask_complaint_confirmed"
    assert (reply["description"], reply["name"]) == (DESCRIPTION, "Anna de Vries")
    summary = DOMAIN["responses"]["utter_ask_complaint_confirmed"][0]
    assert [b["payload"] for b in summary["buttons"]] == ["/affirm", "/deny"]


async def test_no_at_the_summary_asks_what_to_change_with_buttons_that_send_words() -> None:
    asked = {**FILLED, "complaint_confirmed": None}
    said_no = await answer("complaint_confirmed", "nee", "deny", **asked)
    assert slots_set(said_no)["complaint_change"] is True
    assert slots_set(said_no)["complaint_confirmed"] is None
    question = await run(
        complaint_call(
            "action_ask_complaint_form_complaint_confirmed",
            "nee",
            "deny",
            {**asked, "complaint_change": True},
        )
    )
    assert responses(question) == ["utter_complaint_file_what_to_change"]
    buttons = DOMAIN["responses"]["utter_complaint_file_what_to_change"][0]["buttons"]
    payloads = [button["payload"] for button in buttons]
    assert payloads == ["andere omschrijving", "ander moment", "andere gegevens"]
    expected = [
        {"complaint_description": None},
        {"complaint_when": None},
        {"complaint_name": None, "complaint_contact": None},
    ]
    for payload, cleared in zip(payloads, expected, strict=True):
        chosen = await answer(
            "complaint_confirmed", payload, "inform", **asked, complaint_change=True
        )
        assert slots_set(chosen) == {
            **cleared,
            "complaint_confirmed": None,
            "complaint_change": None,
        }, payload


async def test_a_change_can_be_named_at_once_or_given_with_the_no() -> None:
    asked = {**FILLED, "complaint_confirmed": None}
    named = await answer("complaint_confirmed", "de naam klopt niet", "deny", **asked)
    assert slots_set(named)["complaint_name"] is None
    corrected = await answer("complaint_confirmed", "nee, het was vrijdag", "deny", **asked)
    assert slots_set(corrected)["complaint_when"].startswith("vrijdag ")
    assert slots_set(corrected)["complaint_confirmed"] is None
    nothing = await answer("complaint_confirmed", "niets", "inform", **asked, complaint_change=True)
    assert slots_set(nothing) == {"complaint_confirmed": None, "complaint_change": None}
    unclear = await answer("complaint_confirmed", "misschien", "nlu_fallback", **asked)
    assert responses(unclear) == ["utter_complaint_file_choose"]
    yes = await answer("complaint_confirmed", "", "affirm", **asked)
    assert slots_set(yes)["complaint_confirmed"] is True


# --- filing -----------------------------------------------------------------------------------


async def test_a_confirmed_complaint_is_a_klacht_with_the_residents_contact_details(
    sandbox: str,
) -> None:
    result = await run(complaint_call("action_complaint_file", "", "affirm", FILLED))
    (reply,) = result["responses"]
    assert reply["response"] == "utter_complaint_file_filed"
    number = reply["case_number"]
    assert CASE_NUMBER.fullmatch(number)
    zaak, rollen = await filed_klacht(sandbox, number)
    assert DESCRIPTION in zaak["toelichting"] and "dinsdag 3 maart" in zaak["toelichting"]
    assert zaak["toelichting"].endswith(FILED_WITH_CONSENT), "the consent is on record"
    assert zaak["omschrijving"] == headline(DESCRIPTION)
    planned = dt.date.fromisoformat(zaak["einddatumGepland"])
    assert planned - dt.date.fromisoformat(zaak["startdatum"]) == dt.timedelta(days=42)
    (rol,) = rollen
    person = rol["betrokkeneIdentificatie"]
    assert (person["voornamen"], person["voorvoegselGeslachtsnaam"], person["geslachtsnaam"]) == (
        "Anna",
        "de",
        "Vries",
    )
    assert rol["contactpersoonRol"] == {
        "naam": "Anna de Vries",
        "emailadres": "anna.devries@example.nl",
        "telefoonnummer": "0612345678",
    }
    contacts = [c for c in await klantcontacten(sandbox) if c["onderwerp"] == "Klacht ingediend"]
    assert len(contacts) == 1
    assert "anna" not in str(contacts).lower() and "0612345678" not in str(contacts)
    cleared = slots_set(result)
    assert all(cleared[name] is None for name in (*FORM_SLOTS, "form_stopped")), cleared


async def test_a_confirmation_delivered_twice_files_one_klacht(sandbox: str) -> None:
    text = f"Niemand belde mij terug, kenmerk {uuid.uuid4().hex[:8]}."
    call = complaint_call(
        "action_complaint_file", "ja", "affirm", {**FILLED, "complaint_description": text}
    )
    first = await run(call)
    second = await run(call)
    numbers = [r.get("case_number") for r in (*first["responses"], *second["responses"])]
    assert numbers[0] and numbers == [numbers[0], numbers[0]], "the same klacht, told twice"
    assert len(await zaken_about(sandbox, text)) == 1
    contacts = [c for c in await klantcontacten(sandbox) if c["onderwerp"] == "Klacht ingediend"]
    assert len(contacts) == 1, "registered once"


@pytest.mark.timeout(20)
@pytest.mark.parametrize("unreachable", ["down", "silent"], indirect=True)
async def test_open_zaak_down_or_slow_when_filing_gets_another_way_within_three_seconds(
    unreachable: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    result = await run(complaint_call("action_complaint_file", "ja", "affirm", FILLED))
    assert time.monotonic() - started < 3
    assert responses(result) == ["utter_complaint_file_unavailable"]
    assert all(slots_set(result)[name] is None for name in FORM_SLOTS), "personal data cleared"
    logged = caplog.text.lower()
    assert "complaint not filed" in logged
    assert not any(value in logged for value in ("anna", "vries", "0612345678", "onbeleefd"))


async def test_a_call_without_the_answers_files_nothing(sandbox: str) -> None:
    result = await run(complaint_call("action_complaint_file", "ja", "affirm", {}))
    assert responses(result) == ["utter_complaint_file_unavailable"]
    assert await zaken_about(sandbox, "Ingediend via de digitale assistent") == []


# --- end to end, through the running assistant --------------------------------------------------


def complain(say: Say, description: str) -> list[dict]:
    """A whole complaint up to the summary; returns the summary's replies."""
    assert "wat is er gebeurd" in texts(say("ik wil een klacht indienen over de gemeente")).lower()
    assert "wanneer" in texts(say(description)).lower()
    assert "naam" in texts(say("vorige week dinsdag")).lower()
    assert "e-mailadres" in texts(say("Anna de Vries")).lower()
    assert "akkoord" in texts(say("anna.devries@example.nl")).lower()
    summary = say("/affirm")
    assert "Klopt dit?" in texts(summary) and description in texts(summary)
    assert button_titles(summary) == ["Ja, verstuur", "Nee, iets anders"]
    return summary


def unique_description() -> str:
    return f"Ik werd aan de balie onbeleefd behandeld, bij loket {uuid.uuid4().hex[:6]}."


async def test_a_resident_files_a_complaint_end_to_end(
    conversation: Callable[[str], Say], assistant_stack: Stack
) -> None:
    say = conversation("utrecht")
    description = unique_description()
    complain(say, description)
    answer = texts(say("/affirm"))
    match = CASE_NUMBER.search(answer)
    assert match and "6 weken" in answer, answer
    zaak, rollen = await filed_klacht(assistant_stack.sandbox_url, match.group(0))
    assert description in zaak["toelichting"]
    assert rollen[0]["contactpersoonRol"]["emailadres"] == "anna.devries@example.nl"
    contacts = await klantcontacten(assistant_stack.sandbox_url)
    assert any(c["onderwerp"] == "Klacht ingediend" for c in contacts)
    assert "anna" not in str(contacts).lower()
    assert "€" in texts(say("wat kost een paspoort")), "the assistant is itself again"


def test_the_resident_changes_the_description_at_the_summary_end_to_end(
    conversation: Callable[[str], Say],
) -> None:
    say = conversation("zwolle")
    complain(say, unique_description())
    assert "veranderen" in texts(say("/deny")).lower()
    assert "wat is er gebeurd" in texts(say("andere omschrijving")).lower()
    new = unique_description()
    summary = texts(say(new))
    assert "Klopt dit?" in summary and new in summary


def test_the_resident_can_stop_the_complaint_end_to_end(
    conversation: Callable[[str], Say],
) -> None:
    say = conversation("utrecht")
    say("ik wil een klacht indienen over de gemeente")
    assert "niets verstuurd" in texts(say("laat maar"))
    assert "€" in texts(say("wat kost een paspoort")), "the assistant is itself again"


@contextmanager
def sandbox_paused(stack: Stack) -> Iterator[None]:
    """The stack's back-office stand-ins hang (SIGSTOP): connections are accepted, nothing is
    answered, as a back office that is down behind its load balancer. Resumed afterwards."""
    (child,) = [child for child in stack._children if child.name == "sandbox"]
    os.kill(child.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(child.process.pid, signal.SIGCONT)


async def test_a_back_office_that_hangs_gets_another_way_end_to_end(
    conversation: Callable[[str], Say], assistant_stack: Stack
) -> None:
    say = conversation("utrecht")
    description = unique_description()
    complain(say, description)
    with sandbox_paused(assistant_stack):
        started = time.monotonic()
        answer = texts(say("/affirm"))
        elapsed = time.monotonic() - started
    # The action answers within 3 s (see the executor tests); Rasa's own turn comes on top.
    assert elapsed < 4, elapsed
    assert "lukt nu niet" in answer and "14 030" in answer, answer
    assert not CASE_NUMBER.search(answer)


async def test_a_double_pressed_confirmation_files_one_klacht_end_to_end(
    conversation: Callable[[str], Say], assistant_stack: Stack
) -> None:
    say = conversation("zwolle")
    description = unique_description()
    complain(say, description)
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = [texts(reply) for reply in pool.map(say, ["/affirm", "/affirm"])]
    numbers = {match.group(0) for a in answers if (match := CASE_NUMBER.search(a))}
    assert len(numbers) == 1, answers
    assert len(await zaken_about(assistant_stack.sandbox_url, description)) == 1
