"""End to end over WhatsApp: a resident reports a problem in public space and shares its place
as a WhatsApp location; the Signalen sandbox gets the melding at that point and the resident
gets its number. Runs against the running assistant, its sandbox and the Graph API stand-in.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from assistant.stack import Stack
from tests.actions.test_reports import meldingen, sandbox_database, unique_description
from tests.channels import whatsapp_phone as wa
from tests.channels.whatsapp_phone import Phone, button_ids, new_phone, shown_text, webhook_url

__all__ = ["new_phone", "webhook_url"]  # the fixtures (tests/channels/whatsapp_phone.py)

pytestmark = pytest.mark.timeout(300)

REPORT_NUMBER = re.compile(r"SIG-\d+")
# The Domplein in Utrecht.
LATITUDE, LONGITUDE = 52.090737, 5.121420


def interactive(answers: list[dict]) -> dict:
    (message,) = [a for a in answers if a["type"] == "interactive"]
    return message


async def test_a_report_with_a_shared_location_reaches_signalen_at_that_point(
    new_phone: Callable[[], Phone], assistant_stack: Stack
) -> None:
    phone = new_phone()
    await phone.say("ik wil iets melden in de openbare ruimte")
    await phone.answer_containing("wat wilt u melden")
    description = unique_description()
    await phone.say(description)
    where = await phone.answer_containing("waar is het")
    assert "Locatie" in shown_text(where[-1]), "WhatsApp's own question asks to share the place"

    await phone.send(
        wa.location_message(phone.wa_id, LATITUDE, LONGITUDE, "Domplein", "Domplein, Utrecht")
    )
    contact_question = interactive(await phone.answer_containing("bericht over uw melding"))
    no_contact = button_ids(contact_question)["Nee, liever niet"]
    await phone.send(wa.button_reply(phone.wa_id, no_contact, "Nee, liever niet"))

    summary = interactive(await phone.answer_containing("Klopt dit?"))
    assert description in shown_text(summary)
    send = button_ids(summary)["Ja, verstuur"]
    await phone.send(wa.button_reply(phone.wa_id, send, "Ja, verstuur"))
    filed = await phone.answers_until(
        lambda new: any(REPORT_NUMBER.search(shown_text(a)) for a in new)
    )
    number = next(m for a in filed if (m := REPORT_NUMBER.search(shown_text(a)))).group(0)

    (melding,) = meldingen(sandbox_database(assistant_stack), description)
    assert f"SIG-{melding['id']}" == number
    assert (melding["lat"], melding["lon"]) == pytest.approx((LATITUDE, LONGITUDE), abs=1e-6)
    assert melding["reporter_email"] is None and melding["reporter_phone"] is None
