"""The TwiML connector against the running assistant: signatures, validation, the greeting, a
spoken answer, the whisper, the text-message offer and the end of a call."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import aiohttp
import pytest

from assistant.stack import Stack
from tests.channels.voice_call import (
    FORM,
    VoiceCall,
    a_mobile_number,
    new_call_sid,
    signed,
    texts_sent_to,
)
from tests.conftest import CHANNEL_SECRETS

TOKEN = CHANNEL_SECRETS["TWILIO_AUTH_TOKEN"]
URL_LIKE = re.compile(r"https?://|www\.|\]\(|\*\*")


@pytest.fixture
def webhook_url(assistant_stack: Stack) -> str:
    return f"{assistant_stack.rasa_url}/webhooks/voice/webhook"


@pytest.fixture
def phone(http: aiohttp.ClientSession, webhook_url: str):
    def call(caller: str | None = None) -> VoiceCall:
        return VoiceCall(http, webhook_url, TOKEN, caller=caller or a_mobile_number())

    return call


async def test_the_greeting_is_a_dutch_gather_for_speech_and_keys(phone) -> None:
    reply = await phone().start()
    gather = reply.gather
    assert gather is not None, ET.tostring(reply.root)
    assert gather.get("input") == "speech dtmf"
    assert gather.get("language") == "nl-NL"
    assert gather.get("method") == "POST"
    assert gather.get("actionOnEmptyResult") == "true"
    assert gather.get("action", "").endswith("/webhooks/voice/webhook")
    hints = [hint.strip() for hint in gather.get("hints", "").split(",")]
    assert "paspoort" in hints and len(hints) <= 100
    (say,) = gather.findall("Say")
    assert say.get("language") == "nl-NL" and say.get("voice") == "Polly.Lotte"
    assert "gemeente" in say.text.lower() and "toets" in say.text.lower()
    assert not URL_LIKE.search(say.text)


async def test_a_question_gets_a_spoken_answer_without_addresses(phone) -> None:
    call = phone()
    await call.start()
    reply = await call.say("ik bel voor mijn paspoort")
    assert reply.gather is not None and reply.said
    assert "paspoort" in reply.said.lower()
    assert not URL_LIKE.search(reply.said), reply.said


async def test_silence_is_asked_again_then_the_call_ends(phone) -> None:
    call = phone()
    greeting = await call.start()
    again = await call.silence()
    assert again.said.startswith("Ik hoorde niets.")
    assert greeting.said in again.said
    goodbye = await call.silence()
    assert goodbye.hangs_up and goodbye.gather is None


async def test_an_accepted_offer_sends_the_link_by_text_message(
    phone, http: aiohttp.ClientSession, assistant_stack: Stack
) -> None:
    call = phone()
    await call.start()
    answer = await call.say("wat kost een paspoort")
    if "sms" not in answer.said:
        answer = await call.say("hoe vraag ik een paspoort aan")
    assert "Wilt u de link per sms ontvangen?" in answer.said, answer.said
    done = await call.press("1")
    assert "sms gestuurd" in done.said
    (message,) = await texts_sent_to(http, assistant_stack.sandbox_url, call.caller)
    assert "https://" in message["body"]


async def test_key_0_asks_for_a_person(phone) -> None:
    call = phone()
    await call.start()
    reply = await call.press("0")
    assert reply.said, "the dialogue answers the request for a person"
    assert not URL_LIKE.search(reply.said), reply.said


async def test_a_transfer_nobody_answers_becomes_a_callback_offer(phone) -> None:
    call = phone()
    await call.start()
    transfer = await call.press("0")
    dial = transfer.dial
    assert dial is not None, "within the KCC's hours a person is a transfer"
    assert dial.get("action", "").endswith("/webhooks/voice/webhook")
    assert [number.text for number in dial.iter("Number")] == ["+31302860000"]
    back = await call.post(call.fields(DialCallStatus="no-answer"))
    assert "terugbelt" in back.said and back.gather is not None, back.said
    form = await call.press("1")  # "Ja, bel mij terug"
    assert "naam" in form.said.lower(), form.said


async def test_after_the_talk_with_an_employee_the_call_ends(phone) -> None:
    call = phone()
    await call.start()
    assert (await call.press("0")).dial is not None
    done = await call.post(call.fields(DialCallStatus="completed"))
    assert done.hangs_up and done.gather is None


async def test_the_status_callback_ends_the_call(phone) -> None:
    call = phone()
    await call.start()
    ended = await call.end()
    assert list(ended.root) == []
    # A later webhook of the same call id is a new call: it is greeted again.
    again = await call.say("hallo")
    assert again.gather is not None and "toets" in again.said.lower()


async def test_the_whisper_tells_the_employee_the_topic(
    http: aiohttp.ClientSession, assistant_stack: Stack
) -> None:
    url = f"{assistant_stack.rasa_url}/webhooks/voice/whisper?" + urlencode({"topic": "Paspoort"})
    fields = {"CallSid": new_call_sid(), "CallStatus": "in-progress"}
    async with http.post(url, data=urlencode(fields), headers=signed(url, fields, TOKEN)) as r:
        assert r.status == 200
        root = ET.fromstring(await r.text())
    say = root.find("Say")
    assert say is not None and say.text == "Beller over: paspoort."
    async with http.post(url, data=urlencode(fields), headers=FORM) as unsigned:
        assert unsigned.status == 403


# --- refused requests ------------------------------------------------------------------------


def call_fields(**extra: str) -> dict[str, str]:
    return {"CallSid": new_call_sid(), "From": "+31612345678", "To": "+31302860000", **extra}


async def post(http: aiohttp.ClientSession, url: str, body: str, headers: dict[str, str]):
    async with http.post(url, data=body, headers=headers) as response:
        return response.status, await response.text()


async def test_an_unsigned_webhook_is_forbidden(http, webhook_url: str) -> None:
    status, body = await post(http, webhook_url, urlencode(call_fields()), FORM)
    assert status == 403
    assert "Traceback" not in body


async def test_a_forged_signature_is_forbidden(http, webhook_url: str) -> None:
    fields = call_fields()
    headers = signed(webhook_url, fields, "not-the-token")
    status, _ = await post(http, webhook_url, urlencode(fields), headers)
    assert status == 403
    # Signed for other fields than those sent.
    headers = signed(webhook_url, {**fields, "Digits": "1"}, TOKEN)
    status, _ = await post(http, webhook_url, urlencode(fields), headers)
    assert status == 403
    # Signed for another URL.
    headers = signed(webhook_url + "?x=1", fields, TOKEN)
    status, _ = await post(http, webhook_url, urlencode(fields), headers)
    assert status == 403


@pytest.mark.parametrize(
    "fields",
    [
        {"From": "+31612345678", "To": "+31302860000"},
        {"CallSid": "CA-not-a-sid"},
        {"CallSid": "CA" + "0" * 31 + "g"},
        {"CallSid": new_call_sid(), "SpeechResult": "ja", "Confidence": "zeker"},
        {"CallSid": new_call_sid(), "SpeechResult": "ja", "Confidence": "2"},
    ],
    ids=["no-callsid", "bad-callsid", "non-hex-callsid", "word-confidence", "big-confidence"],
)
async def test_a_signed_but_malformed_webhook_is_a_bad_request(
    http, webhook_url: str, fields: dict[str, str]
) -> None:
    status, body = await post(
        http, webhook_url, urlencode(fields), signed(webhook_url, fields, TOKEN)
    )
    assert status == 400, body
    assert "Traceback" not in body


async def test_an_oversized_webhook_is_refused(
    http, webhook_url: str, assistant_stack: Stack
) -> None:
    assert assistant_stack.settings is not None
    fields = call_fields(
        SpeechResult="paspoort " * (assistant_stack.settings.max_request_bytes // 8)
    )
    status, _ = await post(http, webhook_url, urlencode(fields), signed(webhook_url, fields, TOKEN))
    assert status == 413


async def test_after_two_misunderstandings_the_topics_are_a_menu_of_keys(phone) -> None:
    call = phone()
    await call.start()
    await call.say("flurp snorkel wibbel")
    menu = await call.say("zwiebel quatsch blub")
    assert "toets 1" in menu.said, menu.said
    gather = menu.gather
    assert gather is not None and gather.get("numDigits") == "1"
    chosen = await call.press("1")
    assert chosen.said and chosen.said != menu.said, "key 1 chose the first topic"
