"""REST channel: a development and test door to the assistant (`make run`, tests, `make bench`).

Production leaves it off (deploy/credentials.production.yml): it has no caller check.

``POST /webhooks/rest/webhook`` with ``{"sender": "<id>", "message": "<text>", "metadata":
{"municipality": "<id>"}}`` answers ``[{"recipient_id", "text", "buttons"?, ...}]``, like Rasa's
own REST channel, with these differences:

- ``sender`` is required (1-64 of A-Z a-z 0-9 _ - . :); conversations live in their own namespace
  ("rest-<sender>"), so this door cannot reach a web chat's conversation;
- ``message`` is cleaned like every channel's (channels/text.py); a button payload starting with
  "/" is passed on as it is, since tests and the load test press buttons through this door, except
  Rasa's own commands ("/restart", "/session_start", "/back"), which are read as text;
- only ``municipality`` is taken from ``metadata``;
- a body that is not such an object gets 400 with a reason; too many messages 429; a body over
  RASA_MAX_REQUEST_BYTES 413. Errors are ``{"error": "<code>", "message": "<Dutch text>"}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from assistant.content import known_municipality
from assistant.handoff.runtime import handoff_for, run_with_server
from assistant.settings import TURN_TIMEOUT_SECONDS, Settings, load_settings
from channels.limits import MessageLimits, client_address, limit_request_size
from channels.text import MAX_TEXT_LENGTH, InvalidText, normalise, resident_text

logger = logging.getLogger(__name__)

SENDER = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
PAYLOAD_INTENT = re.compile(r"/(\w*)")
# Rasa's own commands: a resident never sends these, whatever door they use.
CONTROL_INTENTS = frozenset({"restart", "session_start", "back"})
NAMESPACE = "rest-"
MAX_PAYLOAD_LENGTH = 500

ERRORS = {
    "bad_json": "Dit verzoek is geen geldig JSON-object.",
    "bad_sender": "Geef een afzender (sender): 1 tot 64 letters, cijfers of _ - . :",
    "bad_message": "Geef een bericht (message) als tekst.",
    "bad_metadata": "metadata moet een object zijn.",
    "surrogate": "Uw bericht bevat tekens die wij niet kunnen lezen. Typ uw vraag opnieuw.",
    "empty": "Uw bericht is leeg. Typ eerst uw vraag.",
    "too_long": f"Uw bericht is te lang. Gebruik maximaal {MAX_TEXT_LENGTH} tekens.",
    "too_fast": "U stuurt veel berichten kort na elkaar. Wacht een minuut en probeer het opnieuw.",
    "not_ready": "De assistent is nog niet klaar. Probeer het over een paar minuten opnieuw.",
    "unavailable": "Het lukt nu niet om uw vraag te beantwoorden. Probeer het later opnieuw.",
}


class BadRequest(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class RestMessage:
    sender: str
    text: str
    municipality: str | None


def parse_body(raw: bytes) -> RestMessage:
    """Validate one request body; raises BadRequest with the reason."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("bad_json") from None
    if not isinstance(body, dict):
        raise BadRequest("bad_json")
    sender = body.get("sender")
    if not isinstance(sender, str) or not SENDER.fullmatch(sender):
        raise BadRequest("bad_sender")
    message = body.get("message")
    if not isinstance(message, str):
        raise BadRequest("bad_message")
    metadata = body.get("metadata", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, Mapping):
        raise BadRequest("bad_metadata")
    municipality = metadata.get("municipality")
    return RestMessage(
        sender=sender,
        text=_text(message),
        municipality=municipality if isinstance(municipality, str) else None,
    )


def _text(message: str) -> str:
    try:
        stripped = normalise(message)
        payload = PAYLOAD_INTENT.match(stripped)
        if payload and payload.group(1) not in CONTROL_INTENTS:  # a button, e.g. "/human_handoff"
            if len(stripped) > MAX_PAYLOAD_LENGTH:
                raise InvalidText("too_long")
            return stripped
        return resident_text(message)
    except InvalidText as problem:
        raise BadRequest(problem.reason) from None


def error_response(code: str, status: int) -> HTTPResponse:
    return response.json({"error": code, "message": ERRORS[code]}, status=status)


class RestInput(InputChannel):
    """Rasa input channel for the REST door (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> RestInput:
        if credentials:
            raise ValueError(
                "channels.rest.RestInput takes no options in credentials.yml; "
                f"configure it with environment variables (got {sorted(credentials)})"
            )
        return cls()

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self.limits = MessageLimits(self.settings)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        rest = Blueprint("rest_input", __name__)
        limit_request_size(rest, self.settings.max_request_bytes)
        run_with_server(rest, self.settings)

        @rest.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @rest.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                message = parse_body(request.body)
            except BadRequest as problem:
                return error_response(problem.code, 400)
            conversation = NAMESPACE + message.sender
            if not await self.limits.allow_message(conversation, client_address(request)):
                return error_response("too_fast", 429)
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return error_response("not_ready", 503)
            collector = CollectingOutputChannel()
            user_message = UserMessage(
                text=message.text,
                output_channel=collector,
                sender_id=conversation,
                input_channel=self.name(),
                metadata={
                    "municipality": known_municipality(message.municipality)
                    or self.settings.default_municipality
                },
            )
            try:
                # The router answers with the assistant, or records the message for the person
                # who has the conversation (then there is no reply here).
                router = handoff_for(request.app, self.settings).router
                await asyncio.wait_for(
                    router.route(user_message, on_new_message), TURN_TIMEOUT_SECONDS
                )
            except Exception:
                logger.exception("rest: the assistant failed on a message")
                return error_response("unavailable", 503)
            return response.json(
                [{**reply, "recipient_id": message.sender} for reply in collector.messages]
            )

        return rest
