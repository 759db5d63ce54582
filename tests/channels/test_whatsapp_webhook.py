"""The WhatsApp webhook of the running assistant (channels/whatsapp/), as Meta calls it.

Each test is a resident with a phone number of their own; what the assistant sends them is read
from the Graph API stand-in in the sandbox (`_sandbox/messages`), polled until the expected
answer arrives or a deadline passes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import aiohttp
import pytest

from assistant.sql import engine_for
from assistant.stack import Stack
from channels.whatsapp import texts
from channels.whatsapp.security import sign
from channels.whatsapp.statuses import DeliveryStore
from tests.channels import whatsapp_phone as wa
from tests.channels.whatsapp_phone import Phone, button_ids, new_phone, shown_text, webhook_url
from tests.conftest import CHANNEL_SECRETS

__all__ = ["new_phone", "webhook_url"]  # the fixtures (tests/channels/whatsapp_phone.py)

pytestmark = pytest.mark.timeout(300)


# --- the verification handshake -------------------------------------------------------------


async def test_the_handshake_returns_the_challenge_for_the_right_token(
    http: aiohttp.ClientSession, webhook_url: str
) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": CHANNEL_SECRETS["WHATSAPP_VERIFY_TOKEN"],
        "hub.challenge": "1158201444",
    }
    async with http.get(webhook_url, params=params) as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        assert await response.text() == "1158201444"


@pytest.mark.parametrize(
    "wrong",
    [
        {"hub.verify_token": "raden"},
        {"hub.mode": "unsubscribe"},
        {"hub.challenge": ""},
        {"hub.verify_token": None},
    ],
)
async def test_the_handshake_is_refused_otherwise(
    http: aiohttp.ClientSession, webhook_url: str, wrong: dict
) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": CHANNEL_SECRETS["WHATSAPP_VERIFY_TOKEN"],
        "hub.challenge": "1158201444",
        **wrong,
    }
    params = {name: value for name, value in params.items() if value is not None}
    async with http.get(webhook_url, params=params) as response:
        assert response.status == 403
        assert "1158201444" not in await response.text()


# --- who may post -----------------------------------------------------------------------------


async def test_an_unsigned_or_forged_call_is_refused_before_it_is_read(
    new_phone: Callable[[], Phone],
) -> None:
    phone = new_phone()
    body = wa.envelope(messages=[wa.text_message(phone.wa_id, "hallo")], wa_id=phone.wa_id)
    raw = json.dumps(body).encode()
    status, answer = await phone.post(raw, signature=None)
    assert (status, answer["error"]) == (401, "no_signature")
    status, answer = await phone.post(raw, signature=sign(raw, "not the app secret"))
    assert (status, answer["error"]) == (403, "bad_signature")
    status, answer = await phone.post(raw, signature=sign(raw + b" ", phone.app_secret))
    assert (status, answer["error"]) == (403, "bad_signature")
    # Refused before parsing: a forged body that is not even JSON gets the same answer.
    status, answer = await phone.post(b"{not json", signature="sha256=" + "0" * 64)
    assert (status, answer["error"]) == (403, "bad_signature")
    await phone.say("hallo")  # a message that does arrive, after the refused ones
    first = await phone.answers_until(lambda new: len(new) > 0)
    assert "Hallo" in shown_text(first[0])


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "bad_json"),
        (b"", "bad_json"),
        (b'{"object": "page", "entry": []}', "not_whatsapp"),
        (b'{"object": "whatsapp_business_account", "entry": "x"}', "bad_envelope"),
    ],
)
async def test_a_signed_malformed_body_gets_a_clear_400(
    new_phone: Callable[[], Phone], raw: bytes, code: str
) -> None:
    status, answer = await new_phone().post(raw)
    assert status == 400
    assert answer["error"] == code and answer["message"]
    assert "Traceback" not in json.dumps(answer)


async def test_an_oversized_body_is_refused(new_phone: Callable[[], Phone]) -> None:
    phone = new_phone()
    huge = wa.text_message(phone.wa_id, "x" * 70_000)
    status, _ = await phone.post(wa.envelope(messages=[huge], wa_id=phone.wa_id))
    assert status in (413, 0)  # 0: Sanic cut the connection while the body was sent


# --- messages -------------------------------------------------------------------------------


async def test_a_text_message_is_answered_through_the_graph_api(
    new_phone: Callable[[], Phone],
) -> None:
    phone = new_phone()
    await phone.say("wat kost een paspoort")
    answers = await phone.answer_containing("€")
    assert all(answer["to"] == phone.wa_id for answer in answers)
    assert all(answer["type"] in ("text", "interactive") for answer in answers)
    sent = await phone.sent_to_me()
    assert {message["phone_number_id"] for message in sent} == {wa.PHONE_NUMBER_ID}


async def test_a_message_delivered_twice_is_answered_once(
    new_phone: Callable[[], Phone],
) -> None:
    # The same two turns in a conversation without the repeat, for the count of answers.
    baseline = new_phone()
    await baseline.say("wat kost een paspoort")
    await baseline.say("hallo")
    expected = await baseline.answer_containing("Hallo!")

    phone = new_phone()
    question = wa.text_message(phone.wa_id, "wat kost een paspoort")
    await phone.send(question)
    await phone.send(question)  # Meta's retry: the same message id
    await phone.say("hallo")
    # The conversation's messages are handled in order: once the greeting is there, an answer
    # to a second copy of the question would be there too.
    answers = await phone.answer_containing("Hallo!")
    assert len(answers) == len(expected), [shown_text(a) for a in answers]


async def test_buttons_are_native_reply_buttons_and_a_tap_sends_their_payload(
    new_phone: Callable[[], Phone],
) -> None:
    phone = new_phone()
    await phone.say("hallo")
    (greeting,) = [a for a in await phone.answer_containing("Hallo!") if a["type"] == "interactive"]
    assert greeting["interactive"]["type"] == "button"
    ids = button_ids(greeting)
    assert ids["Paspoort of ID-kaart"].startswith("/")
    await phone.send(
        wa.button_reply(phone.wa_id, ids["Paspoort of ID-kaart"], "Paspoort of ID-kaart")
    )
    # The payload was "/document_apply": the assistant asks which document.
    assert await phone.answer_containing("welk document")


async def test_a_tapped_id_that_was_not_offered_is_read_as_its_title(
    new_phone: Callable[[], Phone],
) -> None:
    phone = new_phone()
    await phone.send(wa.button_reply(phone.wa_id, "/restart", "wat kost een paspoort"))
    answers = await phone.answer_containing("€")
    assert answers


async def test_an_image_gets_the_dutch_answer_of_what_the_assistant_can_read(
    new_phone: Callable[[], Phone],
) -> None:
    phone = new_phone()
    await phone.send(wa.image_message(phone.wa_id))
    (answer,) = await phone.answer_containing("kan ik niet lezen")
    assert shown_text(answer) == texts.UNSUPPORTED


async def test_a_reaction_is_not_answered(new_phone: Callable[[], Phone]) -> None:
    phone = new_phone()
    reaction = wa.message(phone.wa_id, "reaction", {"message_id": wa.wamid(), "emoji": "👍"})
    await phone.send(reaction, wa.image_message(phone.wa_id))
    answers = await phone.answer_containing("kan ik niet lezen")
    assert len(answers) == 1  # the image's answer only


async def test_too_many_messages_are_told_to_slow_down(new_phone: Callable[[], Phone]) -> None:
    phone = new_phone()
    # Images, so the assistant is not asked; the stack allows 30 messages a minute.
    await phone.send(*(wa.image_message(phone.wa_id) for _ in range(32)))
    answers = await phone.answer_containing("U stuurt veel berichten")
    assert [shown_text(a) for a in answers] == [texts.UNSUPPORTED] * 30 + [texts.TOO_FAST]


async def test_a_status_callback_is_accepted_and_recorded(
    new_phone: Callable[[], Phone], assistant_stack: Stack
) -> None:
    phone = new_phone()
    await phone.send(wa.image_message(phone.wa_id))
    await phone.answer_containing("kan ik niet lezen")
    (sent,) = await phone.sent_to_me()
    status, _ = await phone.post(wa.envelope(statuses=[wa.status(sent["id"], "read", phone.wa_id)]))
    assert status == 200
    status, _ = await phone.post(
        wa.envelope(statuses=[wa.status(sent["id"], "delivered", phone.wa_id)])
    )
    assert status == 200
    assert assistant_stack.settings is not None
    store = DeliveryStore(engine_for(assistant_stack.settings.handoff_database_url))
    try:
        deadline = time.monotonic() + 30
        while (delivery := store.get(sent["id"])) is None or delivery.status != "read":
            assert time.monotonic() < deadline, delivery
            await asyncio.sleep(0.1)  # polling interval
        assert delivery.conversation_id and delivery.conversation_id.startswith("whatsapp-")
        assert phone.wa_id not in delivery.conversation_id
    finally:
        store.dispose()
