"""A person takes over a WhatsApp conversation, against the running assistant: the queue with its
"Niet meer wachten" button, and an employee in the staff console whose words, and the notices
of joining and handing back, reach the resident through the router's push hook.

The test stack's KCC is open round the clock (tests/conftest.py), so these run at any hour.
"""

from __future__ import annotations

import asyncio
import random
import string
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from assistant.handoff import notices
from assistant.stack import Stack
from channels.whatsapp import texts
from channels.whatsapp.render import STOP_WAITING_ID
from tests.channels import whatsapp_phone as wa
from tests.channels.whatsapp_phone import Phone, button_ids, new_phone, shown_text, webhook_url
from tests.test_scale_out import Console

__all__ = ["new_phone", "webhook_url"]  # the fixtures (tests/channels/whatsapp_phone.py)

pytestmark = pytest.mark.timeout(300)


async def ask_for_a_person(phone: Phone) -> dict:
    """Up to the queue; returns the assistant's "you wait" message."""
    (offer,) = [
        a for a in await phone.answer_containing("Wilt u dat?") if a["type"] == "interactive"
    ]
    yes = button_ids(offer)["Ja, graag"]
    await phone.send(wa.button_reply(phone.wa_id, yes, "Ja, graag"))
    waiting = [a for a in await phone.answer_containing("wachtrij") if "wachtrij" in shown_text(a)]
    return waiting[-1]


async def test_a_waiting_resident_can_stop_waiting_with_a_button(
    new_phone: Callable[[], Phone],
) -> None:
    phone = new_phone()
    await phone.say("ik wil een medewerker spreken")
    waiting = await ask_for_a_person(phone)
    assert button_ids(waiting) == {"Niet meer wachten": STOP_WAITING_ID}

    # While waiting, the assistant does not answer a message and refuses a button.
    await phone.say("Het gaat om mijn gestolen paspoort")
    await phone.send(wa.button_reply(phone.wa_id, "/affirm", "Ja, graag"))
    refused = await phone.answer_containing("doorgezet naar een medewerker")
    assert [shown_text(a) for a in refused] == [texts.WITH_PERSON]

    await phone.send(wa.button_reply(phone.wa_id, STOP_WAITING_ID, "Niet meer wachten"))
    stopped = await phone.answer_containing("U wacht niet meer")
    assert [shown_text(a) for a in stopped] == [notices.STOPPED_WAITING]
    await phone.say("wat kost een paspoort")
    assert await phone.answer_containing("€")

    await phone.send(wa.button_reply(phone.wa_id, STOP_WAITING_ID, "Niet meer wachten"))
    again = await phone.answer_containing("wachtrij")
    assert [shown_text(a) for a in again] == [texts.NOT_WAITING]


@pytest.fixture
async def console(assistant_stack: Stack, employee: tuple[str, str]) -> AsyncIterator[Console]:
    jar = aiohttp.CookieJar(unsafe=True)  # the console is on 127.0.0.1
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=60), cookie_jar=jar
    ) as http:
        desk = Console(http, assistant_stack.console_url)
        await desk.log_in(*employee)
        yield desk


async def test_an_employee_takes_over_and_hands_back_a_whatsapp_conversation(
    new_phone: Callable[[], Phone], console: Console
) -> None:
    phone = new_phone()
    marker = "".join(random.choices(string.ascii_lowercase, k=10))
    await phone.say(f"Mijn paspoort is gestolen in de wijk {marker}")
    await phone.answers_until(lambda new: len(new) > 0)
    await phone.say("ik wil een medewerker spreken")
    await ask_for_a_person(phone)

    queue = (await console.get("/api/state"))["queue"]
    (waiting,) = [w for w in queue if marker in w["summary"]]
    assert waiting["channel_name"] == "WhatsApp"
    conversation = f"/api/conversations/{waiting['id']}"
    await console.post(f"{conversation}/take")
    joined = await phone.answer_containing("neemt het gesprek over")
    assert shown_text(joined[-1]) == notices.joined("Sanne")

    await console.post(f"{conversation}/messages", {"text": "Goedemiddag, ik help u."})
    said = await phone.answer_containing("ik help u")
    assert shown_text(said[-1]) == "*Sanne (gemeente):* Goedemiddag, ik help u."

    await phone.say("Moet ik eerst naar de politie?")
    await _transcript_ends_with(console, conversation, "Moet ik eerst naar de politie?")

    await console.post(f"{conversation}/hand-back")
    back = await phone.answer_containing("teruggegeven")
    # Nothing from the assistant about the message meant for the employee.
    assert [shown_text(a) for a in back] == [notices.handed_back("Sanne")]
    await phone.say("wat kost een paspoort")
    assert await phone.answer_containing("€")


async def _transcript_ends_with(console: Console, conversation: str, text: str) -> None:
    """The resident's message reaches the employee's transcript (recorded, so polled)."""
    for _ in range(300):
        transcript = await console.get(f"{conversation}/transcript")
        if transcript["lines"] and transcript["lines"][-1]["text"] == text:
            return
        await asyncio.sleep(0.1)  # polling interval
    raise AssertionError(f"not in the transcript: {transcript['lines'][-3:]}")
