"""Asking for a person in the web chat, against the running assistant: consent, the queue,
messages kept for the employee while the assistant is silent, a reload, and stopping to wait.

The test stack's KCC is open round the clock (tests/conftest.py), so these run at any hour;
taking over from the staff console is tested with the console.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from assistant.handoff.callbacks import CallbackStore
from assistant.handoff.store import HandoffStore, handoffs
from tests.channels.chat import Chat, bot_text, new_session_id
from tests.channels.test_rest import post, question

pytestmark = pytest.mark.timeout(180)


async def ask_for_a_person(chat: Chat) -> dict:
    offer = await chat.ask("ik wil een medewerker spreken")
    assert "Wilt u dat?" in offer[-1]["text"], bot_text(offer)
    assert [b["title"] for b in offer[-1]["buttons"]] == ["Ja, graag", "Nee, liever niet"]
    await chat.send({"type": "message", "payload": offer[-1]["buttons"][0]["payload"]})
    frames = await chat.receive_until(lambda f: f == {"type": "typing", "active": False})
    waiting = [f for f in frames if f["type"] == "handoff"]
    assert waiting and waiting[-1]["state"] == "waiting", frames
    assert "wachtrij" in bot_text([f for f in frames if f["type"] == "bot"])
    return waiting[-1]


async def test_a_waiting_resident_is_kept_for_the_employee_and_can_stop_waiting(
    connect,
) -> None:
    session = new_session_id()
    chat = await connect()
    await chat.hello(session)
    state = await ask_for_a_person(chat)
    assert state["position"] >= 1

    # While waiting the assistant does not answer: the message is kept for the employee.
    await chat.send({"type": "message", "text": "Het gaat om mijn gestolen paspoort"})
    assert await chat.receive() == {"type": "delivered"}
    again = await connect()  # a reload
    history = await again.hello(session)
    assert again.handoff["state"] == "waiting" and again.handoff["position"] >= 1
    last = history["messages"][-1]
    assert last == {"role": "user", "text": "Het gaat om mijn gestolen paspoort"}, last

    # A button offered earlier cannot sidestep the queue.
    await again.send({"type": "message", "payload": "/affirm"})
    refused = await again.receive()
    assert refused["type"] == "error" and refused["code"] in ("with_person", "unknown_choice")

    await again.send({"type": "cancel_handoff"})
    frames = await again.receive_until(lambda f: f["type"] == "handoff")
    assert frames[-1]["state"] == "none"
    assert "U wacht niet meer op een medewerker" in bot_text(
        [f for f in frames if f["type"] == "bot"]
    )
    answer = await again.ask("wat kost een paspoort")
    assert "€" in bot_text(answer), "the assistant answers again"


async def test_saying_no_to_a_person_keeps_the_assistant(connect) -> None:
    chat = await connect()
    await chat.hello(new_session_id())
    offer = await chat.ask("kan ik een mens spreken")
    declined = await chat.ask(payload=offer[-1]["buttons"][1]["payload"])
    assert "bellen" in bot_text(declined)
    assert chat.handoff["state"] == "none"


async def test_the_rest_channel_gets_no_reply_while_a_person_has_the_conversation(
    assistant_stack,
) -> None:
    sender = new_session_id()
    status, offer = await post(assistant_stack, question("ik wil een medewerker", sender))
    assert status == 200 and "Wilt u dat?" in offer[0]["text"]
    status, waiting = await post(assistant_stack, question("ja graag", sender))
    assert status == 200 and "wachtrij" in waiting[0]["text"]
    assert waiting[-1]["custom"]["handoff"]["state"] == "waiting"
    status, replies = await post(assistant_stack, question("hallo, is daar iemand?", sender))
    assert status == 200 and replies == [], "kept for the employee, not answered"


async def test_nobody_answering_in_time_leads_to_a_callback_request(
    assistant_stack, connect
) -> None:
    session = new_session_id()
    chat = await connect()
    await chat.hello(session)
    await ask_for_a_person(chat)
    url = assistant_stack.settings.handoff_database_url
    store = HandoffStore(url)
    try:
        handoff = store.open_for(f"webchat-{session}")
        assert handoff is not None
        with store._engine.begin() as connection:  # as if the resident had waited ten minutes
            connection.execute(
                update(handoffs)
                .where(handoffs.c.id == handoff.id)
                .values(requested_at=handoff.requested_at - dt.timedelta(minutes=10))
            )
    finally:
        store.dispose()

    # The timer sweep (every second in the tests) closes the request and the assistant offers
    # a callback, live in the open chat.
    frames = await chat.receive_until(lambda f: f["type"] == "bot" and bool(f["buttons"]))
    assert {"type": "handoff", "state": "none"} in [
        {k: f[k] for k in ("type", "state")} for f in frames if f["type"] == "handoff"
    ]
    offer = frames[-1]
    assert "Er is nog geen medewerker vrij" in offer["text"]
    asked_name = await chat.ask(payload=offer["buttons"][0]["payload"])
    assert "Wat is uw naam?" in bot_text(asked_name)
    assert "telefoonnummer" in bot_text(await chat.ask("Anna de Vries"))
    assert "Waar gaat uw vraag over?" in bot_text(await chat.ask("06 12345678"))
    done = await chat.ask("mijn paspoort is gestolen")
    assert "Uw terugbelverzoek is genoteerd" in bot_text(done) and "0612345678" in bot_text(done)

    callbacks = CallbackStore(url)
    try:
        (callback,) = [
            c for c in callbacks.open("utrecht") if c.conversation_id == f"webchat-{session}"
        ]
    finally:
        callbacks._engine.dispose()
    assert (callback.name, callback.phone, callback.topic) == (
        "Anna de Vries",
        "0612345678",
        "mijn paspoort is gestolen",
    )
