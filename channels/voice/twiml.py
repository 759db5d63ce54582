"""Phone calls through Twilio (and TwiML-compatible platforms): Rasa's ``voice`` input channel.

Enable it in ``credentials.yml`` (no options; configuration comes from the environment, see
channels/voice/config.py)::

    channels.voice.twiml.TwilioVoiceInput:

and point the phone number's voice webhook and status callback at
``<public URL>/webhooks/voice/webhook`` (POST). Routes under ``/webhooks/voice/``:

=========================  =======================================================================
``GET /``                  health check
``POST /webhook``          every turn of a call: answered with TwiML (``<Gather>`` around the
                           spoken answer, ``<Dial>`` to transfer, ``<Hangup/>``); a status callback
                           (CallStatus "completed", ...) ends the call's state
``POST /whisper?topic=``   said to the employee before a transferred call connects
=========================  =======================================================================

Every request must carry a valid ``X-Twilio-Signature`` (TWILIO_AUTH_TOKEN) over the URL Twilio
called (VOICE_PUBLIC_URL + path and query behind a proxy): else 403. A form that is no call's
webhook gets 400, a body over RASA_MAX_REQUEST_BYTES 413. The conversation id is "voice-" +
CallSid: a new conversation per call, and never the caller's number.

No rate limit per address here: every request is signed by Twilio and comes from Twilio's few
addresses, so counting per address would limit all callers together; a caller's own pace is
set by the turn-taking.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from assistant.handoff.runtime import run_with_server
from channels.limits import limit_request_size
from channels.voice import prompts
from channels.voice.answer import TOPIC
from channels.voice.config import twilio_auth_token
from channels.voice.connector import VoiceConnector
from channels.voice.turns import (
    Call,
    CallEnded,
    CallStarted,
    Digits,
    HangUp,
    Say,
    Silence,
    Speech,
    Step,
    TransferEnded,
    Turn,
)
from channels.voice.twiml_wire import (
    FormParams,
    MalformedWebhook,
    TwilioWebhook,
    empty_twiml,
    parse_form,
    read_webhook,
    signature_valid,
    twiml,
    whisper_twiml,
)
from channels.voice.urls import public_request_url, sibling_url

logger = logging.getLogger(__name__)

CHANNEL = "voice"
NAMESPACE = "voice-"
XML = "text/xml; charset=utf-8"
FORM = "application/x-www-form-urlencoded"


class TwilioVoiceInput(VoiceConnector):
    """Rasa input channel for TwiML phone calls (see the module docstring)."""

    TOKEN_VARIABLE = "TWILIO_AUTH_TOKEN"
    PLATFORM = "TwiML phone"

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @staticmethod
    def read_token() -> str:
        return twilio_auth_token()

    def serve(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        voice = Blueprint("voice_input", __name__)
        limit_request_size(voice, self.settings.max_request_bytes)
        run_with_server(voice, self.settings)
        self.runtime.close_with_server(voice)

        @voice.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @voice.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            checked = self._checked_form(request)
            if isinstance(checked, HTTPResponse):
                return checked
            try:
                hook = read_webhook(checked)
            except MalformedWebhook as problem:
                return response.text(f"bad_request: {problem}", status=400)
            try:
                steps = await self._turn(request, on_new_message, hook)
            except Exception:
                logger.exception("voice: a turn of call %s failed", _log_id(hook.call_sid))
                steps = [Say(prompts.UNAVAILABLE), HangUp()]
            return self._twiml(request, steps)

        @voice.route("/whisper", methods=["POST"])
        async def whisper(request: Request) -> HTTPResponse:
            checked = self._checked_form(request)
            if isinstance(checked, HTTPResponse):
                return checked
            topic = request.args.get("topic", "")
            if not TOPIC.fullmatch(topic):
                return response.text("bad_request: topic", status=400)
            return response.text(whisper_twiml(topic, self.config.tts_voice), content_type=XML)

        return voice

    def _checked_form(self, request: Request) -> FormParams | HTTPResponse:
        """The signed form of the request, or the error response (400, 403) to send instead."""
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type != FORM:
            return response.text("bad_request: expected a form", status=400)
        try:
            params = parse_form(request.body)
        except MalformedWebhook as problem:
            return response.text(f"bad_request: {problem}", status=400)
        url = public_request_url(request, self.config.public_url)
        if not signature_valid(self.token, url, params, request.headers.get("X-Twilio-Signature")):
            return response.text("forbidden: missing or wrong X-Twilio-Signature", status=403)
        return params

    async def _turn(
        self,
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        hook: TwilioWebhook,
    ) -> list[Step]:
        core = self.runtime.core(request, on_new_message, CHANNEL)
        # The caller's number is used from this request only (Twilio sends it every time).
        call = Call(NAMESPACE + hook.call_sid, CHANNEL, caller=hook.caller)
        turn: Turn
        if hook.finished:
            turn = CallEnded()
        elif hook.dial_status:
            turn = TransferEnded(answered=hook.transfer_answered)
        elif await core.store.load(call.conversation_id) is None:
            turn = CallStarted(called=hook.called, caller=hook.caller)
        elif hook.digits:
            turn = Digits(hook.digits)
        elif hook.speech and hook.speech.strip():
            turn = Speech(hook.speech, hook.confidence)
        else:
            turn = Silence()
        return await core.handle(call, turn)

    def _twiml(self, request: Request, steps: list[Step]) -> HTTPResponse:
        if not steps:
            return response.text(empty_twiml(), content_type=XML)
        public = self.config.public_url
        whisper = sibling_url(request, public, "whisper")
        document = twiml(
            steps,
            action_url=sibling_url(request, public, "webhook"),
            whisper_url=lambda topic: f"{whisper}?{urlencode({'topic': topic})}",
            voice=self.config.tts_voice,
        )
        return response.text(document, content_type=XML)


def _log_id(call_sid: str) -> str:
    return hashlib.sha256(call_sid.encode()).hexdigest()[:10]
