"""The TwiML protocol (Twilio, and SignalWire and Telnyx TeXML, which accept the same verbs):
reading a webhook, checking its signature, and writing the answer (pure functions, no I/O).

Twilio posts ``application/x-www-form-urlencoded`` forms (twilio.com/docs/voice/twiml/gather,
twilio.com/docs/usage/webhooks/webhooks-security):

- ``CallSid`` ("CA" + 32 hex digits), ``From`` (the caller), ``To`` (the number called),
  ``CallStatus`` ("ringing", "in-progress", ... "completed" on a status callback);
- after a ``<Gather>``: ``SpeechResult`` and ``Confidence`` (0-1), or ``Digits``; with
  ``actionOnEmptyResult`` an empty form means the caller said nothing.

``X-Twilio-Signature`` is base64(HMAC-SHA1(auth token, URL + each parameter name and value,
sorted)); `twilio.request_validator.RequestValidator` computes it. Blank values are signed
too, so the body is parsed keeping them (Sanic's own form parsing drops them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs

from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from channels.text import MAX_TEXT_LENGTH
from channels.voice.turns import HangUp, Listen, Say, Step, Transfer

LANGUAGE = "nl-NL"
CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
DIGITS = re.compile(r"[0-9*#]{1,32}")
# A status callback: the call is over, whatever the reason.
FINAL_STATUSES = frozenset({"completed", "canceled", "busy", "failed", "no-answer"})
KNOWN_STATUSES = FINAL_STATUSES | {"queued", "initiated", "ringing", "in-progress"}
# DialCallStatus, posted to the <Dial action> when the transferred call ends.
DIAL_ANSWERED = frozenset({"completed", "answered"})
DIAL_STATUSES = DIAL_ANSWERED | {"busy", "no-answer", "failed", "canceled"}
MAX_FIELDS = 200
MAX_NUMBER_LENGTH = 64


class MalformedWebhook(ValueError):
    """The form is not a TwiML webhook we can act on; the message says which field."""


class FormParams(dict[str, list[str]]):
    """Form fields with all their values, as RequestValidator reads multi-value forms."""

    def getlist(self, name: str) -> list[str]:
        return self[name]

    def first(self, name: str) -> str | None:
        values = self.get(name)
        return values[0] if values else None


@dataclass(frozen=True)
class TwilioWebhook:
    call_sid: str
    caller: str | None
    called: str | None
    status: str | None
    speech: str | None
    confidence: float | None
    digits: str | None
    # After a <Dial>: how the KCC's line answered (DialCallStatus), else None.
    dial_status: str | None = None

    @property
    def transfer_answered(self) -> bool:
        return self.dial_status in DIAL_ANSWERED

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES


def parse_form(body: bytes) -> FormParams:
    try:
        text = body.decode("utf-8")
        fields = parse_qs(
            text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise MalformedWebhook("the body is not a UTF-8 form") from None
    return FormParams(fields)


def signature_valid(
    auth_token: str, url: str, params: Mapping[str, str | Sequence[str]], signature: str | None
) -> bool:
    """Whether `signature` (X-Twilio-Signature) signs this URL and these form fields."""
    if not signature:
        return False
    form = FormParams(
        {name: [value] if isinstance(value, str) else list(value) for name, value in params.items()}
    )
    return RequestValidator(auth_token).validate(url, form, signature)


def read_webhook(params: FormParams) -> TwilioWebhook:
    call_sid = params.first("CallSid")
    if call_sid is None or not CALL_SID.fullmatch(call_sid):
        raise MalformedWebhook("CallSid must be CA followed by 32 hexadecimal digits")
    status = params.first("CallStatus") or None
    if status is not None and status not in KNOWN_STATUSES:
        raise MalformedWebhook("CallStatus is not a call status")
    digits = params.first("Digits") or None
    if digits is not None and not DIGITS.fullmatch(digits):
        raise MalformedWebhook("Digits may hold only 0-9, * and #")
    dial_status = params.first("DialCallStatus") or None
    if dial_status is not None and dial_status not in DIAL_STATUSES:
        raise MalformedWebhook("DialCallStatus is not a dial status")
    speech = params.first("SpeechResult") or None
    if speech is not None and len(speech) > MAX_TEXT_LENGTH:
        raise MalformedWebhook("SpeechResult is too long")
    return TwilioWebhook(
        call_sid=call_sid,
        caller=_number(params, "From"),
        called=_number(params, "To"),
        status=status,
        speech=speech,
        confidence=_confidence(params.first("Confidence")),
        digits=digits,
        dial_status=dial_status,
    )


def _number(params: FormParams, name: str) -> str | None:
    value = (params.first(name) or "").strip()
    if len(value) > MAX_NUMBER_LENGTH:
        raise MalformedWebhook(f"{name} is too long")
    return value or None


def _confidence(raw: str | None) -> float | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        raise MalformedWebhook("Confidence must be a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise MalformedWebhook("Confidence must be a number between 0 and 1")
    return value


# --- answers ---------------------------------------------------------------------------------


def twiml(
    steps: Sequence[Step],
    *,
    action_url: str,
    whisper_url: Callable[[str], str],
    voice: str,
) -> str:
    """The TwiML document for the core's steps.

    What is said before a `Listen` goes inside its ``<Gather>``, so the caller may answer (or
    press a key) while it is still being said.
    """
    response = VoiceResponse()
    said: list[str] = []

    def say_all(target: VoiceResponse) -> None:
        for text in said:
            target.say(text, voice=voice, language=LANGUAGE)
        said.clear()

    for step in steps:
        if isinstance(step, Say):
            said.append(step.text)
        elif isinstance(step, Listen):
            options = {"hints": ", ".join(step.hints)} if step.hints else {}
            if step.single_key:
                options["num_digits"] = "1"
            gather = response.gather(
                input="speech dtmf" if step.dtmf else "speech",
                language=LANGUAGE,
                action=action_url,
                method="POST",
                action_on_empty_result=True,
                speech_timeout="auto",
                **options,
            )
            say_all(gather)
        elif isinstance(step, Transfer):
            say_all(response)
            # Twilio posts how the KCC's line answered to the action: unanswered, the
            # dialogue offers a callback instead of the call just ending.
            dial = response.dial(action=action_url, method="POST")
            if step.topic:
                dial.number(step.number, url=whisper_url(step.topic), method="POST")
            else:
                dial.number(step.number)
        elif isinstance(step, HangUp):
            say_all(response)
            response.hangup()
    say_all(response)
    return response.to_xml()


def whisper_twiml(topic: str, voice: str) -> str:
    """What the employee hears before the caller is connected."""
    response = VoiceResponse()
    response.say(f"Beller over: {topic.lower()}.", voice=voice, language=LANGUAGE)
    return response.to_xml()


def empty_twiml() -> str:
    return VoiceResponse().to_xml()
