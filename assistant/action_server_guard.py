"""The action server's door: only well-formed action calls of bounded size get through.

Only Rasa calls the action server (loopback or the compose network), but a bug, a proxy mistake or
a hostile neighbour must not stall or crash it, and its errors must not leak what it was sent:
the SDK's own error handler answers 500 with the exception text and the whole request body, and
logs both. This module, attached through the SDK's plugin hook (rasa_sdk_plugins), replaces that:

- bodies over ACTION_SERVER_MAX_REQUEST_BYTES are refused with 413 before they are read whole,
  and a deflate-compressed body may not inflate past that limit either;
- a call that is not a JSON object with `next_action` (text), `tracker` (object) and `domain`
  (object) gets 400 naming what is wrong, never echoing it (an empty body gets the SDK's own 400);
- any other failure gets 500 with a fixed text; the log names the exception type and the action,
  not the request.
"""

from __future__ import annotations

import json
import logging
import zlib
from typing import Any

import pluggy
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from assistant.settings import load_settings

logger = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")

WEBHOOK_PATH = "/webhook"


class InvalidActionCall(Exception):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def inflate(body: bytes, max_bytes: int) -> bytes:
    """A deflate-compressed body, refused when it would inflate past `max_bytes`."""
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error:
        raise InvalidActionCall("body is not valid deflate data") from None
    if len(data) > max_bytes or inflater.unconsumed_tail:
        raise InvalidActionCall("body inflates past the size limit", status=413)
    return data


def check_action_call(body: bytes, *, deflated: bool, max_bytes: int) -> dict[str, Any]:
    """The action call in `body`, or InvalidActionCall saying what is wrong with it."""
    raw = inflate(body, max_bytes) if deflated else body
    try:
        call = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidActionCall("body is not JSON") from None
    if not isinstance(call, dict):
        raise InvalidActionCall("body is not a JSON object")
    if not isinstance(call.get("next_action"), str):
        raise InvalidActionCall("next_action must be text")
    tracker = call.get("tracker")
    if not isinstance(tracker, dict):
        raise InvalidActionCall("tracker must be an object")
    if not isinstance(tracker.get("sender_id"), str):
        raise InvalidActionCall("tracker.sender_id must be text")
    for key, kind in (("slots", dict), ("latest_message", dict), ("events", list)):
        if key in tracker and not isinstance(tracker[key], kind | None):
            raise InvalidActionCall(f"tracker.{key} has the wrong type")
    if not isinstance(call.get("domain", {}), dict):
        raise InvalidActionCall("domain must be an object")
    return call


@hookimpl
def attach_sanic_app_extensions(app: Sanic) -> None:
    max_bytes = load_settings().action_server_max_request_bytes
    app.config.REQUEST_MAX_SIZE = max_bytes

    @app.middleware("request")
    async def guard(request: Request) -> HTTPResponse | None:
        # Sanic also runs request middleware for a request it failed (a body over the size
        # limit), with the body not read: leave those to the error handler.
        if request.method != "POST" or request.path != WEBHOOK_PATH or not request.body:
            return None
        deflated = request.headers.get("Content-Encoding") == "deflate"
        try:
            check_action_call(request.body, deflated=deflated, max_bytes=max_bytes)
        except InvalidActionCall as problem:
            logger.warning("action call refused: %s", problem.reason)
            return response.json(
                {"error": f"invalid action call: {problem.reason}"}, problem.status
            )
        return None

    async def on_error(request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, SanicException):  # 404, 405, 413 and the like: as Sanic says
            return response.json({"error": str(exception)}, status=exception.status_code)
        logger.error(
            "action server failed on %s: %s", request.path, type(exception).__name__, exc_info=True
        )
        return response.json({"error": "internal error of the action server"}, status=500)

    # Replaces the SDK's handler for Exception, which echoes the request body.
    app.error_handler.add(Exception, on_error)
