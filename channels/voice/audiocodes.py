"""Phone calls through AudioCodes VoiceAI Connect (bot API, HTTP mode): Rasa's ``audiocodes``
input channel.

Enable it in ``credentials.yml`` (no options; configuration comes from the environment, see
channels/voice/config.py)::

    channels.voice.audiocodes.AudioCodesInput:

and give VoiceAI Connect the bot URL ``<public URL>/webhooks/audiocodes/webhook`` and the token
AUDIOCODES_TOKEN. Routes under ``/webhooks/audiocodes/`` (wire format: audiocodes_wire.py):

======================================  ===========================================================
``GET /webhook``                        validation: ``{"type": "ac-bot-api", "success": true}``
``POST /webhook``                       opens a conversation, answers its URLs
``POST /conversation/<id>/activities``  the caller's turns, answered with the bot's activities
``POST /conversation/<id>/refresh``     keep-alive
``POST /conversation/<id>/disconnect``  the call ended: its state is removed
======================================  ===========================================================

Every request must carry ``Authorization: Bearer <AUDIOCODES_TOKEN>`` (compared in constant
time), else 401. Errors are ``{"error": "<code>", "message": "<reason>"}``: 400 for a malformed
request, 404 for a conversation we do not know, 413 for a body over RASA_MAX_REQUEST_BYTES.
The conversation id is "audiocodes-" + VoiceAI Connect's id, never the caller's number; the
number, sent only with the start event, is kept encrypted in the call state (VOICE_CALLER_KEY).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from assistant.handoff.runtime import run_with_server
from channels.limits import limit_request_size
from channels.voice import prompts
from channels.voice.audiocodes_wire import (
    MalformedRequest,
    activities_for,
    conversation_id,
    json_object,
    read_activities,
    session_config,
    stamped,
)
from channels.voice.config import audiocodes_token
from channels.voice.connector import VoiceConnector
from channels.voice.state import CallState
from channels.voice.turns import Call, CallStarted, HangUp, Say
from channels.voice.urls import public_base

logger = logging.getLogger(__name__)

CHANNEL = "audiocodes"
NAMESPACE = "audiocodes-"
# VoiceAI Connect refreshes a conversation before this many seconds pass.
EXPIRES_SECONDS = 120


def error(code: str, message: str, status: int) -> HTTPResponse:
    return response.json({"error": code, "message": message}, status=status)


class AudioCodesInput(VoiceConnector):
    """Rasa input channel for AudioCodes VoiceAI Connect (see the module docstring)."""

    TOKEN_VARIABLE = "AUDIOCODES_TOKEN"
    PLATFORM = "AudioCodes phone"

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @staticmethod
    def read_token() -> str:
        return audiocodes_token()

    def serve(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        audiocodes = Blueprint("audiocodes_input", __name__)
        limit_request_size(audiocodes, self.settings.max_request_bytes)
        run_with_server(audiocodes, self.settings)
        self.runtime.close_with_server(audiocodes)
        store = self.runtime.store

        @audiocodes.middleware("request")
        async def authorise(request: Request) -> HTTPResponse | None:
            # Blueprint middleware runs for this blueprint's routes only.
            if not self._authorised(request):
                return error("unauthorized", "missing or wrong bearer token", 401)
            return None

        @audiocodes.route("/webhook", methods=["GET"])
        async def validate(_: Request) -> HTTPResponse:
            return response.json({"type": "ac-bot-api", "success": True})

        @audiocodes.route("/webhook", methods=["POST"])
        async def open_conversation(request: Request) -> HTTPResponse:
            try:
                cid = conversation_id(json_object(request.body).get("conversation"))
            except MalformedRequest as problem:
                return error("bad_request", str(problem), 400)
            key = NAMESPACE + cid
            # A repeated request (a retry) gets the same URLs and keeps the call's state.
            if await store.load(key) is None:
                await store.save(key, CallState(municipality=self.config.default_municipality))
            base = f"{public_base(request, self.config.public_url)}{_prefix(request)}"
            return response.json(
                {
                    "activitiesURL": f"{base}/conversation/{cid}/activities",
                    "refreshURL": f"{base}/conversation/{cid}/refresh",
                    "disconnectURL": f"{base}/conversation/{cid}/disconnect",
                    "expiresSeconds": EXPIRES_SECONDS,
                }
            )

        @audiocodes.route("/conversation/<cid>/activities", methods=["POST"])
        async def activities(request: Request, cid: str) -> HTTPResponse:
            try:
                key = NAMESPACE + conversation_id(cid)
                incoming = read_activities(json_object(request.body), cid)
            except MalformedRequest as problem:
                return error("bad_request", str(problem), 400)
            if await store.load(key) is None:
                return error("not_found", "unknown conversation", 404)
            core = self.runtime.core(request, on_new_message, CHANNEL)
            call = Call(key, CHANNEL)
            answer: list[dict[str, Any]] = []
            for activity in incoming:
                # Claimed before it is handled: a repeated delivery gets nothing, not a
                # second answer (also when it reaches another process).
                if not await store.claim_activity(key, activity.id) or activity.turn is None:
                    continue
                try:
                    steps = await core.handle(call, activity.turn)
                except Exception:
                    logger.exception("audiocodes: a turn of conversation %s failed", _log_id(key))
                    steps = [Say(prompts.UNAVAILABLE), HangUp()]
                if isinstance(activity.turn, CallStarted):
                    answer.extend(stamped([session_config()]))
                answer.extend(activities_for(steps))
            return response.json({"activities": answer})

        @audiocodes.route("/conversation/<cid>/refresh", methods=["POST"])
        async def refresh(_: Request, cid: str) -> HTTPResponse:
            try:
                key = NAMESPACE + conversation_id(cid)
            except MalformedRequest as problem:
                return error("bad_request", str(problem), 400)
            if not await store.touch(key):
                return error("not_found", "unknown conversation", 404)
            return response.json({"expiresSeconds": EXPIRES_SECONDS})

        @audiocodes.route("/conversation/<cid>/disconnect", methods=["POST"])
        async def disconnect(request: Request, cid: str) -> HTTPResponse:
            try:
                key = NAMESPACE + conversation_id(cid)
                if request.body:
                    json_object(request.body)  # {"reason": ...}: only checked, not kept
            except MalformedRequest as problem:
                return error("bad_request", str(problem), 400)
            if await store.load(key) is None:
                return error("not_found", "unknown conversation", 404)
            await store.delete(key)
            return response.json({})

        return audiocodes

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, provided = header.partition(" ")
        if scheme.lower() != "bearer" or not provided:
            return False
        return hmac.compare_digest(provided.strip().encode(), self.token.encode())


def _prefix(request: Request) -> str:
    # "/webhooks/audiocodes/webhook" -> "/webhooks/audiocodes"
    return request.path.rsplit("/", 1)[0]


def _log_id(conversation: str) -> str:
    return hashlib.sha256(conversation.encode()).hexdigest()[:10]
