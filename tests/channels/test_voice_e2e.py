"""A whole phone call through the TwiML connector: a caller books a passport appointment with
speech and keys, hears the confirmation, says goodbye and is hung up on; the booking is in the
municipality's appointment system (the JCC stand-in)."""

from __future__ import annotations

import re
import secrets
import sqlite3
import xml.etree.ElementTree as ET

import aiohttp

from assistant.backends.appointments.jcc.client import JccClient
from assistant.backends.appointments.jcc.plugin import JccAppointments
from assistant.stack import Stack
from tests.channels.voice_call import Reply, VoiceCall
from tests.conftest import CHANNEL_SECRETS, SANDBOX_CREDENTIALS

REFERENCE = re.compile(r"afspraaknummer is \S+")
# Product, location, day and time: whichever the dialogue asks, each a menu.
MAX_MENUS = 4


def has_menu(reply: Reply) -> bool:
    return "toets 1" in reply.said


def transcript(call: VoiceCall) -> str:
    return "\n".join(reply.said for reply in call.replies)


async def test_a_caller_books_a_passport_appointment_by_phone(
    http: aiohttp.ClientSession, assistant_stack: Stack
) -> None:
    call = VoiceCall(
        http,
        f"{assistant_stack.rasa_url}/webhooks/voice/webhook",
        CHANNEL_SECRETS["TWILIO_AUTH_TOKEN"],
        # A landline: no text-message offers in between, the menus come straight away.
        caller="+31302861234",
    )
    greeting = await call.start()
    assert greeting.gather is not None and greeting.gather.get("language") == "nl-NL"

    reply = await call.say("ik wil een afspraak maken voor een paspoort")
    for _ in range(MAX_MENUS):
        if "naam" in reply.said.lower() or not has_menu(reply):
            break
        gather = reply.gather
        assert gather is not None and gather.get("numDigits") == "1", ET.tostring(reply.root)
        reply = await call.press("1")
    assert "naam" in reply.said.lower(), transcript(call)

    reply = await call.say("Anna de Vries")
    assert "e-mailadres" in reply.said.lower() or "nummer" in reply.said.lower(), reply.said
    email = f"anna.{secrets.token_hex(4)}@example.nl"  # this call's booking in the stand-in
    summary = await call.say(email)
    assert "Klopt dit?" in summary.said, transcript(call)
    assert "Anna de Vries" in summary.said and "toets 1" in summary.said
    assert "https" not in summary.said

    booked = await call.press("1")
    assert "staat vast" in booked.said, "the caller heard the confirmation"
    # A reference read aloud cannot be held: the caller is told the confirmation carries it.
    assert "afspraaknummer" in booked.said and not REFERENCE.search(booked.said), booked.said
    with sqlite3.connect(assistant_stack.log_dir / "sandbox.sqlite") as database:
        (reference,) = database.execute(
            "SELECT id FROM jcc_appointments WHERE email = ?", (email,)
        ).fetchone()

    async with aiohttp.ClientSession() as session:
        agenda = JccAppointments(
            JccClient(
                f"{assistant_stack.sandbox_url}/jcc/",
                SANDBOX_CREDENTIALS["SANDBOX_JCC_CLIENT_ID"],
                SANDBOX_CREDENTIALS["SANDBOX_JCC_SECRET"],
                session=session,
            )
        )
        appointment = await agenda.details(reference)
    assert appointment.product.name == "Paspoort aanvragen"
    assert appointment.customer is not None
    assert appointment.customer.email == email

    goodbye = await call.say("tot ziens")
    assert goodbye.hangs_up, transcript(call)
    assert goodbye.gather is None
    assert "tot ziens" in goodbye.said.lower()
