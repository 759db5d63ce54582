"""The TwiML protocol without a server: signatures, reading webhooks, writing TwiML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from channels.voice.audiocodes import AudioCodesInput
from channels.voice.turns import HangUp, Listen, Say, Transfer
from channels.voice.twiml import TwilioVoiceInput
from channels.voice.twiml_wire import (
    MalformedWebhook,
    parse_form,
    read_webhook,
    signature_valid,
    twiml,
    whisper_twiml,
)

# Twilio's documented test vector (twilio.com/docs/usage/webhooks/webhooks-security).
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
VECTOR_TOKEN = "12345"
VECTOR_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
SID = "CA" + "0123456789abcdef" * 2


def test_the_documented_signature_vector_is_accepted() -> None:
    assert signature_valid(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS, VECTOR_SIGNATURE)


def test_the_vector_read_from_a_form_body_is_accepted() -> None:
    params = parse_form(urlencode(VECTOR_PARAMS).encode())
    assert signature_valid(VECTOR_TOKEN, VECTOR_URL, params, VECTOR_SIGNATURE)


@pytest.mark.parametrize(
    ("url", "params", "token", "signature"),
    [
        (VECTOR_URL, {**VECTOR_PARAMS, "Digits": "1235"}, VECTOR_TOKEN, VECTOR_SIGNATURE),
        (
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            VECTOR_PARAMS,
            VECTOR_TOKEN,
            VECTOR_SIGNATURE,
        ),
        (VECTOR_URL, VECTOR_PARAMS, "54321", VECTOR_SIGNATURE),
        (VECTOR_URL, VECTOR_PARAMS, VECTOR_TOKEN, ""),
        (VECTOR_URL, VECTOR_PARAMS, VECTOR_TOKEN, None),
    ],
    ids=["changed-field", "changed-url", "other-token", "empty", "missing"],
)
def test_anything_changed_breaks_the_signature(url, params, token, signature) -> None:
    assert not signature_valid(token, url, params, signature)


def test_blank_fields_are_kept_because_twilio_signs_them() -> None:
    params = parse_form(b"CallSid=" + SID.encode() + b"&SpeechResult=&Digits=")
    assert params["SpeechResult"] == [""] and params["Digits"] == [""]


def test_a_webhook_is_read() -> None:
    hook = read_webhook(
        parse_form(
            urlencode(
                {
                    "CallSid": SID,
                    "From": "+31612345678",
                    "To": "+31302860000",
                    "CallStatus": "in-progress",
                    "SpeechResult": "ik bel voor mijn paspoort",
                    "Confidence": "0.91",
                }
            ).encode()
        )
    )
    assert hook.call_sid == SID and hook.called == "+31302860000"
    assert hook.speech == "ik bel voor mijn paspoort" and hook.confidence == pytest.approx(0.91)
    assert not hook.finished


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"CallSid": "CA123"},
        {"CallSid": "XX" + "0" * 32},
        {"CallSid": SID, "Confidence": "high"},
        {"CallSid": SID, "Confidence": "1.5"},
        {"CallSid": SID, "Confidence": "nan"},
        {"CallSid": SID, "Digits": "12a"},
        {"CallSid": SID, "CallStatus": "exploded"},
        {"CallSid": SID, "DialCallStatus": "maybe"},
    ],
)
def test_a_form_that_is_no_call_webhook_is_refused(fields: dict[str, str]) -> None:
    with pytest.raises(MalformedWebhook):
        read_webhook(parse_form(urlencode(fields).encode()))


def test_a_body_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(MalformedWebhook):
        parse_form(b"CallSid=\xff\xfe")


def test_what_is_said_before_listening_goes_inside_the_gather() -> None:
    document = twiml(
        [Say("Welkom."), Say("Waarvoor belt u?"), Listen(hints=("paspoort", "rijbewijs"))],
        action_url="https://voice.example.nl/webhooks/voice/webhook",
        whisper_url=lambda topic: "unused",
        voice="Polly.Lotte",
    )
    root = ET.fromstring(document)
    assert root.tag == "Response"
    (gather,) = list(root)
    assert gather.tag == "Gather"
    assert gather.get("input") == "speech dtmf"
    assert gather.get("language") == "nl-NL"
    assert gather.get("action") == "https://voice.example.nl/webhooks/voice/webhook"
    assert gather.get("method") == "POST"
    assert gather.get("actionOnEmptyResult") == "true"
    assert gather.get("speechTimeout") == "auto"
    assert gather.get("hints") == "paspoort, rijbewijs"
    assert gather.get("numDigits") is None
    says = list(gather)
    assert [say.text for say in says] == ["Welkom.", "Waarvoor belt u?"]
    assert all(say.get("voice") == "Polly.Lotte" for say in says)
    assert all(say.get("language") == "nl-NL" for say in says)


def test_a_yes_no_question_takes_one_key_and_no_hints() -> None:
    root = ET.fromstring(
        twiml(
            [Say("Klopt dat?"), Listen(single_key=True)],
            action_url="https://x/webhooks/voice/webhook",
            whisper_url=lambda topic: "unused",
            voice="Polly.Lotte",
        )
    )
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("hints") is None and gather.get("numDigits") == "1"


def test_a_transfer_dials_the_number_with_a_whisper_of_the_topic() -> None:
    root = ET.fromstring(
        twiml(
            [Say("Ik verbind u door."), Transfer("+31302860000", "Paspoort")],
            action_url="https://x/webhooks/voice/webhook",
            whisper_url=lambda topic: (
                "https://x/webhooks/voice/whisper?" + urlencode({"topic": topic})
            ),
            voice="Polly.Lotte",
        )
    )
    say, dial = list(root)
    assert say.tag == "Say" and say.text == "Ik verbind u door."
    assert dial.tag == "Dial"
    # How the KCC's line answered comes back to the webhook (a callback offer if nobody did).
    assert dial.get("action") == "https://x/webhooks/voice/webhook"
    number = dial.find("Number")
    assert number is not None and number.text == "+31302860000"
    assert parse_qs(urlsplit(number.get("url", "")).query) == {"topic": ["Paspoort"]}


def test_a_goodbye_hangs_up_after_speaking() -> None:
    root = ET.fromstring(
        twiml(
            [Say("Tot ziens."), HangUp()],
            action_url="https://x",
            whisper_url=lambda topic: "unused",
            voice="Polly.Lotte",
        )
    )
    assert [child.tag for child in root] == ["Say", "Hangup"]


def test_the_whisper_names_the_topic() -> None:
    root = ET.fromstring(whisper_twiml("Paspoort", "Polly.Lotte"))
    say = root.find("Say")
    assert say is not None and say.text == "Beller over: paspoort."


@pytest.mark.parametrize(
    ("connector", "variable"),
    [(TwilioVoiceInput, "TWILIO_AUTH_TOKEN"), (AudioCodesInput, "AUDIOCODES_TOKEN")],
)
def test_a_connector_without_its_token_is_off(
    monkeypatch: pytest.MonkeyPatch, connector: type, variable: str
) -> None:
    monkeypatch.delenv(variable, raising=False)
    assert not connector().on
    monkeypatch.setenv(variable, "a-token-long-enough-for-audiocodes")
    assert connector().on
