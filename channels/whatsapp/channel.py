"""The Rasa input channel for WhatsApp (Meta's Cloud API): the webhook Meta calls.

Enable it in ``credentials.yml`` with ``channels.whatsapp.WhatsAppInput:`` (no options; it reads
the environment, see channels/whatsapp/config.py). Rasa then serves, under
``/webhooks/whatsapp/``:

``GET /``          health check: ``{"status": "ok"}``
``GET /webhook``   Meta's verification handshake: ``hub.mode=subscribe`` with the right
                   ``hub.verify_token`` gets the raw ``hub.challenge`` back (text/plain), else 403
``POST /webhook``  messages and status callbacks. The ``X-Hub-Signature-256`` header is checked
                   on the raw body before anything is parsed: missing 401, wrong 403. A body
                   that is not a WhatsApp Business Account webhook: 400; over
                   RASA_MAX_REQUEST_BYTES: 413. Otherwise 200 at once: the messages are queued
                   (queue.py) and answered by the consumer through the Graph API.

Errors are ``{"error": "<code>", "message": "<English text>"}``: their reader is Meta or the
operator setting up the webhook, not a resident.

A municipality without WhatsApp sets none of the channel's secrets: the channel is then off
(``GET /`` says so, the webhook answers 404), so one credentials file serves every deployment.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from redis.exceptions import RedisError
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from assistant.handoff.runtime import run_with_server
from assistant.settings import Settings, channel_configured, load_settings
from channels.limits import limit_request_size
from channels.off import off_blueprint
from channels.whatsapp.config import SECRETS, WhatsAppConfig, load_config
from channels.whatsapp.inbound import parse_webhook
from channels.whatsapp.messages import WebhookInvalid
from channels.whatsapp.runtime import WhatsAppRuntime
from channels.whatsapp.security import SIGNATURE_HEADER, signature_valid, token_matches

logger = logging.getLogger(__name__)

MAX_CHALLENGE_LENGTH = 256
ERRORS = {
    "no_signature": f"The {SIGNATURE_HEADER} header is missing.",
    "bad_signature": f"The {SIGNATURE_HEADER} header does not match the body.",
    "bad_json": "The body is not valid JSON.",
    "not_whatsapp": 'The body is not a webhook of object "whatsapp_business_account".',
    "bad_envelope": "The webhook's entry or changes are not in the documented shape.",
    "not_ready": "The WhatsApp channel is starting; try again shortly.",
    "unavailable": "The message could not be queued; try again later.",
}


def error_response(code: str, status: int) -> HTTPResponse:
    return response.json({"error": code, "message": ERRORS[code]}, status=status)


class WhatsAppInput(InputChannel):
    """Rasa input channel for the WhatsApp Cloud API (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> WhatsAppInput:
        if credentials:
            raise ValueError(
                "channels.whatsapp.WhatsAppInput takes no options in credentials.yml; "
                f"configure it with environment variables (got {sorted(credentials)})"
            )
        return cls()

    def __init__(
        self, settings: Settings | None = None, config: WhatsAppConfig | None = None
    ) -> None:
        self.settings = settings or load_settings()
        # Off without secrets; some but not all stops start-up here, naming the variables.
        if config is None and channel_configured(os.environ, SECRETS, "WhatsApp"):
            config = load_config(settings=self.settings)
        self.config = config
        self.runtime: WhatsAppRuntime | None = None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        if self.config is None:
            return off_blueprint("whatsapp_input", "WhatsApp", SECRETS)
        config = self.config
        whatsapp = Blueprint("whatsapp_input", __name__)
        limit_request_size(whatsapp, self.settings.max_request_bytes)
        run_with_server(whatsapp, self.settings)

        @whatsapp.listener("after_server_start")
        async def start(app: Any, _loop: Any) -> None:
            self.runtime = await WhatsAppRuntime.start(config, self.settings, app, on_new_message)

        @whatsapp.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            runtime, self.runtime = self.runtime, None
            if runtime is not None:
                await runtime.stop()

        @whatsapp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @whatsapp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            challenge = request.args.get("hub.challenge", "")
            if (
                request.args.get("hub.mode") == "subscribe"
                and token_matches(request.args.get("hub.verify_token"), config.verify_token)
                and 0 < len(challenge) <= MAX_CHALLENGE_LENGTH
            ):
                return response.text(challenge, content_type="text/plain; charset=utf-8")
            logger.warning("whatsapp: webhook verification refused")
            return response.text("Forbidden", status=403)

        @whatsapp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.body or b""
            header = request.headers.get(SIGNATURE_HEADER)
            if not header:
                return error_response("no_signature", 401)
            if not signature_valid(body, header, config.app_secret):
                logger.warning("whatsapp: webhook call with a wrong signature refused")
                return error_response("bad_signature", 403)
            try:
                webhook = parse_webhook(body)
            except WebhookInvalid as problem:
                return error_response(problem.code, 400)
            runtime = self.runtime
            if runtime is None:
                return error_response("not_ready", 503)
            try:
                await runtime.accept(webhook)
            except (RedisError, OSError) as error:
                # Meta sends the call again later; the marks of what was queued keep it once.
                logger.error("whatsapp: webhook not queued: %s", type(error).__name__)
                return error_response("unavailable", 503)
            return response.json({"status": "ok"})

        return whatsapp
