"""A channel that is not set up here: it says so instead of failing the server.

WhatsApp and the phone are optional per deployment: one credentials file lists them, and a
municipality that has no WhatsApp number or phone platform sets none of their secrets
(`assistant.settings.channel_configured`). The channel then serves only this: its health check
answers `{"status": "off"}` and its webhooks 404 with the variables that switch it on.
"""

from __future__ import annotations

import logging
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)


def off_blueprint(name: str, channel: str, variables: tuple[str, ...]) -> Blueprint:
    """The blueprint of channel `channel` (for people: "WhatsApp") without its `variables`."""
    off = Blueprint(name, __name__)
    switch_on = ", ".join(variables)

    @off.listener("after_server_start")
    async def tell(_app: Any, _loop: Any) -> None:
        logger.info("%s channel is off: set %s to switch it on", channel, switch_on)

    @off.route("/<path:path>", methods=["GET", "POST"])
    async def anything(_: Request, path: str) -> HTTPResponse:
        if not path:  # the channel's health check
            return response.json({"status": "off"})
        return response.json(
            {"error": "not_configured", "message": f"{channel} is off here: set {switch_on}."},
            status=404,
        )

    return off
