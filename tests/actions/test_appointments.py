"""Appointments through the running assistant, its action server and the JCC and Qmatic
sandboxes: booked, looked up, moved and cancelled, and what the agenda then holds."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
import requests
from rasa_sdk.executor import ActionExecutor

from assistant.backends.appointments.base import AppointmentSystem, Customer
from assistant.backends.appointments.jcc.client import JccClient
from assistant.backends.appointments.jcc.plugin import JccAppointments
from assistant.backends.appointments.qmatic.client import QmaticClient
from assistant.backends.appointments.qmatic.plugin import QmaticAppointments
from assistant.backends.errors import NotFound
from assistant.backends.services import SERVICES
from assistant.dutch_time import time_in_words
from assistant.stack import Stack
from assistant.when import AMSTERDAM
from tests.actions.calls import action_call
from tests.actions.conftest import Say, button_titles, texts
from tests.conftest import SANDBOX_CREDENTIALS

REFERENCE = re.compile(r"afspraaknummer is (\S+?)\.(?:\s|$)")


def buttons(replies: list[dict]) -> list[dict]:
    return [button for reply in replies for button in reply.get("buttons", [])]


def press(say: Say, replies: list[dict], index: int = 0) -> list[dict]:
    """Press a button of the last answer, as the web chat does: send its payload."""
    return say(buttons(replies)[index]["payload"])


def clock(moment: dt.datetime) -> str:
    """A time as the assistant writes it ("9.00 uur")."""
    return time_in_words(moment.astimezone(AMSTERDAM))


def reference_in(replies: list[dict]) -> str:
    match = REFERENCE.search(texts(replies))
    assert match, texts(replies)
    return match.group(1)


@pytest.fixture
async def agenda(assistant_stack: Stack) -> AsyncIterator[Callable[[str], AppointmentSystem]]:
    """The appointment systems the assistant books in, read directly, to check what they hold."""
    async with aiohttp.ClientSession() as session:
        base = assistant_stack.sandbox_url

        def system(municipality: str) -> AppointmentSystem:
            if municipality == "utrecht":
                return JccAppointments(
                    JccClient(
                        f"{base}/jcc/",
                        SANDBOX_CREDENTIALS["SANDBOX_JCC_CLIENT_ID"],
                        SANDBOX_CREDENTIALS["SANDBOX_JCC_SECRET"],
                        session=session,
                    )
                )
            return QmaticAppointments(
                QmaticClient(
                    f"{base}/qmatic/",
                    SANDBOX_CREDENTIALS["SANDBOX_QMATIC_API_KEY"],
                    session=session,
                )
            )

        yield system


def book_through_the_chat(say: Say, first: str, name: str, contact: str) -> list[dict]:
    """Walk the booking form pressing the first button at every choice; the summary's replies."""
    replies = say(first)
    for _ in range(4):  # product, location, day, time: whichever are asked
        if not buttons(replies) or "Klopt dit" in texts(replies):
            break
        replies = press(say, replies)
    assert "naam" in texts(replies).lower(), texts(replies)
    assert "e-mailadres" in texts(say(name)).lower()
    summary = say(contact)
    assert "Klopt dit?" in texts(summary), texts(summary)
    return summary


async def test_a_resident_books_a_passport_appointment_at_the_jcc_desk(
    conversation: Callable[[str], Say], agenda: Callable[[str], AppointmentSystem]
) -> None:
    say = conversation("utrecht")
    replies = say("ik wil een afspraak maken voor een nieuw paspoort")
    assert "locatie" in texts(replies).lower(), "the product came from the conversation"
    replies = press(say, replies)
    assert "Welke dag" in texts(replies) and len(buttons(replies)) >= 1
    day_payload = buttons(replies)[0]["payload"]
    replies = say(day_payload)
    assert "Hoe laat" in texts(replies)
    chosen = buttons(replies)[0]
    replies = say(chosen["payload"])
    assert "naam" in texts(replies).lower()
    say("Anna de Vries")
    summary = say("anna.devries@example.nl")
    assert "Paspoort aanvragen" in texts(summary) and chosen["title"] in texts(summary)
    booked = say("/affirm")
    reference = reference_in(booked)
    assert "Neem mee" in texts(booked) and "pasfoto" in texts(booked)

    appointment = await agenda("utrecht").details(reference)
    assert appointment.product.name == "Paspoort aanvragen"
    assert clock(appointment.start) == chosen["title"]
    assert appointment.customer is not None
    assert appointment.customer.email == "anna.devries@example.nl"
    assert appointment.customer.name.endswith("de Vries")


async def test_a_resident_says_day_and_daypart_in_words_at_the_qmatic_desk(
    conversation: Callable[[str], Say], agenda: Callable[[str], AppointmentSystem]
) -> None:
    say = conversation("zwolle")
    replies = say("ik wil mijn id kaart ophalen, kan ik daarvoor een afspraak maken")
    assert set(button_titles(replies)) == {"Stadskantoor", "Stadhuis"}
    assert "Welke dag" in texts(say("bij het stadhuis graag"))
    replies = say("eh dinsdag ochtend")
    assert "dinsdag" in texts(replies) and "Hoe laat" in texts(replies)
    assert button_titles(replies), "free morning times are offered"
    hours = [int(title.split(".")[0]) for title in button_titles(replies)]
    assert all(8 <= hour < 12 for hour in hours), "only morning times"
    chosen = buttons(replies)[-1]
    say(chosen["payload"])
    say("Mehmet Yilmaz")
    summary = say("06-12345678")
    assert "ID-kaart ophalen" in texts(summary) and "Stadhuis" in texts(summary)
    reference = reference_in(say("ja, klopt"))

    appointment = await agenda("zwolle").details(reference)
    start = appointment.start.astimezone(AMSTERDAM)
    assert (appointment.product.name, appointment.location.name) == ("ID-kaart ophalen", "Stadhuis")
    assert start.weekday() == 1 and clock(start) == chosen["title"]
    assert appointment.customer is not None and appointment.customer.phone == "0612345678"


async def test_the_resident_changes_the_day_at_the_summary(
    conversation: Callable[[str], Say], agenda: Callable[[str], AppointmentSystem]
) -> None:
    say = conversation("utrecht")
    book_through_the_chat(
        say, "afspraak maken voor mijn rijbewijs", "Piet Jansen", "piet@example.nl"
    )
    replies = say("nee, doe maar donderdag")
    assert "Hoe laat" in texts(replies) and "donderdag" in texts(replies)
    replies = press(say, replies)
    assert "Klopt dit?" in texts(replies) and "donderdag" in texts(replies)
    appointment = await agenda("utrecht").details(reference_in(say("/affirm")))
    assert appointment.start.astimezone(AMSTERDAM).weekday() == 3


def test_a_resident_can_stop_at_any_question(
    conversation: Callable[[str], Say], assistant_stack: Stack
) -> None:
    say = conversation("utrecht")
    replies = say("ik wil een afspraak maken")
    assert "Waarvoor" in texts(replies)
    replies = press(say, replies)
    replies = press(say, replies)
    assert "Welke dag" in texts(replies)
    stopped = say("laat maar")
    assert "ik stop ermee" in texts(stopped) and "afspraaknummer" not in texts(stopped)
    assert "€" in texts(say("wat kost een paspoort")), "the assistant is itself again"


def test_a_double_pressed_confirmation_books_once(
    conversation: Callable[[str], Say], assistant_stack: Stack
) -> None:
    say = conversation("utrecht")
    book_through_the_chat(say, "afspraak voor een paspoort", "Dubbel Klikker", "dubbel@example.nl")
    reference_in(say("/affirm"))
    again = say("/affirm")
    assert "afspraaknummer" not in texts(again)
    assert booked_for("dubbel@example.nl", assistant_stack) == 1


def booked_for(email: str, stack: Stack) -> int:
    """Appointments the JCC stand-in holds for this e-mail address, read from its database."""
    with sqlite3.connect(stack.log_dir / "sandbox.sqlite") as database:
        (count,) = database.execute(
            "SELECT count(*) FROM jcc_appointments WHERE email = ?", (email,)
        ).fetchone()
    return count


@pytest.fixture
async def booked(
    agenda: Callable[[str], AppointmentSystem],
) -> AsyncIterator[tuple[AppointmentSystem, str]]:
    """An appointment in Utrecht's agenda for kees@example.nl, as if booked last week."""
    system = agenda("utrecht")
    product = next(p for p in await system.products() if p.name == "Rijbewijs aanvragen")
    location = (await system.locations(product))[0]
    today = dt.date.today()
    day = (await system.dates(product, location, today, today + dt.timedelta(days=20)))[-1]
    start = (await system.times(product, location, day))[0]
    customer = Customer("Kees Bakker", email="kees@example.nl")
    appointment = await system.book(product, location, start, customer)
    yield system, appointment.reference


async def test_a_resident_looks_up_their_appointment(
    conversation: Callable[[str], Say], booked: tuple[AppointmentSystem, str]
) -> None:
    system, reference = booked
    say = conversation("utrecht")
    assert "afspraaknummer" in texts(say("wanneer is mijn afspraak ook alweer")).lower()
    assert "e-mailadres" in texts(say(reference))
    answer = texts(say("Kees@Example.nl"))
    appointment = await system.details(reference)
    assert "Rijbewijs aanvragen" in answer and appointment.location.name in answer
    assert clock(appointment.start) in answer


async def test_a_wrong_contact_is_answered_like_an_unknown_reference(
    conversation: Callable[[str], Say], booked: tuple[AppointmentSystem, str]
) -> None:
    _, reference = booked
    answers = []
    for given, contact in ((reference, "iemand@example.nl"), ("JCC-0000000000", "kees@example.nl")):
        say = conversation("utrecht")
        say("ik wil mijn afspraak afzeggen")
        say(given)
        answers.append(texts(say(contact)))
    assert answers[0] == answers[1] and "geen afspraak vinden" in answers[0]


async def test_a_resident_cancels_their_appointment(
    conversation: Callable[[str], Say], booked: tuple[AppointmentSystem, str]
) -> None:
    system, reference = booked
    say = conversation("utrecht")
    say("ik kan niet komen, ik wil mijn afspraak annuleren")
    say(reference)
    assert "Wilt u deze afspraak afzeggen?" in texts(say("kees@example.nl"))
    assert "is afgezegd" in texts(say("/affirm"))
    with pytest.raises(NotFound):
        await system.details(reference)


async def test_no_at_the_cancel_question_keeps_the_appointment(
    conversation: Callable[[str], Say], booked: tuple[AppointmentSystem, str]
) -> None:
    system, reference = booked
    say = conversation("utrecht")
    say("afspraak afzeggen")
    say(reference)
    say("kees@example.nl")
    assert "blijft staan" in texts(say("nee"))
    assert (await system.details(reference)).reference == reference


async def test_a_resident_moves_their_appointment(
    conversation: Callable[[str], Say], booked: tuple[AppointmentSystem, str]
) -> None:
    system, reference = booked
    old = await system.details(reference)
    say = conversation("utrecht")
    say("kan ik mijn afspraak verzetten")
    say(reference)
    replies = say("kees@example.nl")
    assert "Welke dag" in texts(replies)
    replies = press(say, replies)
    chosen = buttons(replies)[0]
    summary = texts(say(chosen["payload"]))
    assert "Nu:" in summary and "Nieuw:" in summary
    new_reference = reference_in(say("/affirm"))
    moved = await system.details(new_reference)
    assert moved.start != old.start and moved.product == old.product
    assert clock(moved.start) == chosen["title"]
    with pytest.raises(NotFound):
        await system.details(reference)


def test_the_booking_is_registered_as_a_klantcontact(
    conversation: Callable[[str], Say], assistant_stack: Stack
) -> None:
    say = conversation("utrecht")
    book_through_the_chat(say, "afspraak voor een id-kaart", "Sara Bos", "sara@example.nl")
    reference = reference_in(say("/affirm"))
    response = requests.get(
        f"{assistant_stack.sandbox_url}/openklant/klantinteracties/api/v1/klantcontacten",
        headers={"Authorization": f"Token {SANDBOX_CREDENTIALS['SANDBOX_OPENKLANT_TOKEN']}"},
        params={"pageSize": 100},
        timeout=10,
    )
    response.raise_for_status()
    contacts = [c for c in response.json()["results"] if c["onderwerp"] == "Afspraak gemaakt"]
    assert contacts, "the booking was registered"
    assert all("sara" not in c.get("inhoud", "").lower() for c in contacts), "no personal data"
    assert reference


def confirmed_booking(sender: str, start: dt.datetime, product_id: str, location_id: str) -> dict:
    """The action server call Rasa makes when a resident confirmed a booking."""
    slots = {
        "appointment_product": product_id,
        "appointment_location": location_id,
        "appointment_day": start.date().isoformat(),
        "appointment_time": start.isoformat(),
        "appointment_name": "Herhaal Proef",
        "appointment_contact": "herhaal@example.nl",
        "appointment_confirmed": True,
    }
    return action_call("action_appointment_book", "ja", "affirm", slots, conversation=sender)


async def test_a_confirmation_delivered_twice_books_once(
    assistant_stack: Stack,
    agenda: Callable[[str], AppointmentSystem],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SANDBOX_URL", assistant_stack.sandbox_url)
    await SERVICES.close()
    system = agenda("utrecht")
    product = (await system.products())[0]
    location = (await system.locations(product))[0]
    today = dt.date.today()
    day = (await system.dates(product, location, today, today + dt.timedelta(days=30)))[-2]
    start = (await system.times(product, location, day))[-1]
    call = confirmed_booking(f"test-retry-{time.time_ns()}", start, product.id, location.id)
    executor = ActionExecutor()
    executor.register_package("actions")
    try:
        first = await executor.run(call)
        second = await executor.run(call)
    finally:
        await SERVICES.close()
    said = [r.get("reference") for r in (*first["responses"], *second["responses"])]
    references = [value for value in said if value]
    assert len(references) == 2 and references[0] == references[1], "the same booking, told twice"
    assert booked_for("herhaal@example.nl", assistant_stack) == 1


@pytest.mark.timeout(20)
@pytest.mark.parametrize("backend", ["down", "silent"])
async def test_a_back_office_that_is_down_or_slow_gets_another_way_within_three_seconds(
    backend: str, silent_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANDBOX_URL", "http://127.0.0.1:1" if backend == "down" else silent_url)
    await SERVICES.close()
    start = dt.datetime.now(AMSTERDAM) + dt.timedelta(days=7)
    call = confirmed_booking(f"test-down-{time.time_ns()}", start, "product", "location")
    executor = ActionExecutor()
    executor.register_package("actions")
    started = time.monotonic()
    try:
        result = await executor.run(call)
    finally:
        await SERVICES.close()
    assert time.monotonic() - started < 3
    assert [r["response"] for r in result["responses"]] == ["utter_appointment_unavailable"]
    cleared = {e["name"]: e["value"] for e in result["events"] if e["event"] == "slot"}
    assert cleared["appointment_name"] is None and cleared["appointment_contact"] is None


async def test_a_day_said_in_the_first_message_is_not_asked_again(
    conversation: Callable[[str], Say], agenda: Callable[[str], AppointmentSystem]
) -> None:
    say = conversation("zwolle")
    replies = say("kan ik volgende week woensdag langskomen voor mijn paspoort")
    assert "locatie" in texts(replies).lower()
    replies = say("stadskantoor")
    assert "Hoe laat wilt u komen op woensdag" in texts(replies), texts(replies)


def test_a_time_that_is_not_free_gets_the_nearest_free_times(
    conversation: Callable[[str], Say],
) -> None:
    say = conversation("utrecht")
    replies = say("ik wil een afspraak om mijn rijbewijs op te halen")
    replies = press(say, replies)  # the first location
    replies = press(say, replies)  # the first free day
    assert "Hoe laat" in texts(replies)
    replies = say("om 7 uur")
    assert "Om 7.00 uur is er op" in texts(replies) and "geen plek" in texts(replies)
    assert button_titles(replies), "the nearest free times are offered"
