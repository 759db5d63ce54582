"""WhatsApp Cloud API stand-in: Meta's Graph API `{version}/{phone_number_id}/messages`, over HTTP.

Follows the Cloud API (reference/channels-voice-whatsapp.md, "Meta Cloud API"; Meta's pages
`messages/send-messages`, `interactive-reply-buttons-messages`, `interactive-list-messages` and
`cloud-api/support/error-codes`):
- `POST /{version}/{phone_number_id}/messages` with `Authorization: Bearer <token>` sends a text
  or an interactive message (reply buttons or a list): 200 `{"messaging_product": "whatsapp",
  "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid...."}]}`. The same endpoint with
  `{"status": "read", "message_id": ...}` marks a received message as read: `{"success": true}`.
- Errors are Graph's: `{"error": {"message", "type": "OAuthException", "code", "error_data"?:
  {"messaging_product", "details"}, "fbtrace_id"}}`, without `error_subcode` (Meta dropped it in
  v16.0). A missing or unknown token: 401, code 190. What Graph's own parameter checks refuse
  (missing, wrong type, not one of a set): 400, code 100, the reason in `message`. A value the
  WhatsApp checks refuse (four buttons, a title too long, eleven rows): 400, code 131009
  "(#131009) Parameter value is not valid", the reason in `error_data.details`, in the words
  developers report Meta answering (e.g. "Invalid buttons count. Min allowed buttons: 1, Max
  allowed buttons: 3", "Button title length invalid. Min length: 1, Max length: 20", "Total row
  count exceed max allowed count: 10", "Row title is too long. Max length is 24").

For tests and `make run`, with the same token:
- `GET /_sandbox/messages[?to=<wa_id>]`: the messages sent, oldest first.
- `POST /_sandbox/failures` `{"status": 429|500|503|400, "times": n, "retry_after"?: 0|1}`: the
  next n calls of the messages endpoint fail in Graph's shape, before their body is read: 429
  code 130429 "Rate limit hit" with Retry-After, 500 code 131000, 503 code 2, 400 code 131047
  (outside the 24-hour window). Meta documents these as not delivered, so nothing is recorded.

Deviations, each also commented where handled: only text and interactive button and list
messages (others, which Graph sends, are refused with code 100); `to` must be a wa_id, digits
only (Graph also normalises "+31 6 ..."); a header is text only; the 24-hour window is not
modelled; a JSON body and the bearer header only (Graph also takes form fields and an
`access_token` parameter); every numeric phone number id is served; the failures to inject are
kept in memory, not in the database.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import secrets
from collections import deque
from collections.abc import Collection
from datetime import datetime, timezone
from typing import Any

from aiohttp import web
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.engine import Engine

from assistant.sandbox.db import create_tables, engine_for
from assistant.sandbox.whatsapp_rules import Invalid, check_read, check_send

MESSAGES = r"/{version:v[0-9]+\.[0-9]+}/{phone_number_id:[0-9]+}/messages"
# Injected failures: HTTP status -> Graph code and message (Cloud API error codes page).
FAILURES = {
    400: (
        131047,
        "(#131047) Re-engagement message",
        "Message failed to send because more than "
        "24 hours have passed since the customer last replied to this number.",
    ),
    429: (
        130429,
        "(#130429) Rate limit hit",
        "Message failed to send because there were too "
        "many messages sent from this phone number in a short period of time.",
    ),
    500: (
        131000,
        "(#131000) Something went wrong",
        "Message failed to send because of an unknown error.",
    ),
    503: (2, "(#2) Service temporarily unavailable", "Temporary due to downtime or overload."),
}

metadata = MetaData()

message_table = Table(
    "whatsapp_message",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("wamid", String(80), nullable=False, unique=True),
    Column("phone_number_id", String(32), nullable=False),
    Column("recipient", String(15), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("sent_at", String(40), nullable=False),  # ISO 8601, UTC
)


def create_app(database_url: str, *, tokens: Collection[str]) -> web.Application:
    """The Graph API stand-in on `database_url`, accepting the bearer tokens in `tokens`."""
    keys = tuple(token.strip() for token in tokens if token.strip())
    if not keys:
        raise ValueError("the WhatsApp sandbox needs at least one access token")
    engine = engine_for(database_url)
    create_tables(engine, metadata)
    server = _Graph(engine, keys)
    app = web.Application()
    app.router.add_post(MESSAGES, server.messages, name="messages")
    app.router.add_get("/_sandbox/messages", server.sent)
    app.router.add_post("/_sandbox/failures", server.fail)

    async def dispose(_: web.Application) -> None:
        engine.dispose()

    app.on_cleanup.append(dispose)
    return app


def graph_error(
    status: int,
    code: int,
    message: str,
    details: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An error in Graph's shape; `fbtrace_id` is random, as Meta's is to anyone outside."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)[:22]
    return web.json_response({"error": error}, status=status, headers=headers)


class _Graph:
    def __init__(self, engine: Engine, tokens: tuple[str, ...]) -> None:
        self._engine = engine
        self._tokens = tokens
        self._failures: deque[tuple[int, int]] = deque()  # (status, Retry-After seconds)

    def _refuse(self, request: web.Request) -> web.Response | None:
        """401 code 190 unless the request carries a known bearer token. Graph words a request
        without any token differently; the code, which clients act on, is the same."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        given = token.strip().encode()
        if scheme.lower() == "bearer" and any(
            hmac.compare_digest(given, key.encode()) for key in self._tokens
        ):
            return None
        text = "Invalid OAuth access token - Cannot parse access token"
        challenge = f'OAuth "Facebook Platform" "invalid_token" "{text}"'
        return graph_error(401, 190, text, headers={"WWW-Authenticate": challenge})

    async def messages(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        if self._failures:
            status, retry_after = self._failures.popleft()
            code, message, details = FAILURES[status]
            headers = {"Retry-After": str(retry_after)} if status == 429 else None
            return graph_error(status, code, message, details, headers)
        try:
            body = await request.json()
        except ValueError:
            return graph_error(400, 100, "(#100) Invalid parameter", "The body is not JSON.")
        try:
            if isinstance(body, dict) and "status" in body:
                check_read(body)
                return web.json_response({"success": True})
            to = check_send(body)
        except Invalid as invalid:
            return graph_error(400, invalid.code, invalid.message, invalid.details)
        wamid = "wamid." + base64.urlsafe_b64encode(secrets.token_bytes(30)).decode()
        row = {
            "wamid": wamid,
            "phone_number_id": request.match_info["phone_number_id"],
            "recipient": to,
            "payload": body,
            "sent_at": datetime.now(timezone.utc).isoformat(),
        }
        await asyncio.to_thread(self._store, row)
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            }
        )

    def _store(self, row: dict[str, Any]) -> None:
        with self._engine.begin() as conn:
            conn.execute(insert(message_table).values(**row))

    async def sent(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        rows = await asyncio.to_thread(self._rows, request.query.get("to"))
        messages = [
            {
                "id": row.wamid,
                "phone_number_id": row.phone_number_id,
                "to": row.recipient,
                "payload": row.payload,
                "sent_at": row.sent_at,
            }
            for row in rows
        ]
        return web.json_response({"messages": messages})

    def _rows(self, to: str | None) -> list[Any]:
        query = select(message_table).order_by(message_table.c.id)
        if to is not None:
            query = query.where(message_table.c.recipient == to)
        with self._engine.connect() as conn:
            return list(conn.execute(query))

    async def fail(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return graph_error(400, 100, "(#100) Invalid parameter", "The body is not an object.")
        status, times = body.get("status"), body.get("times", 1)
        retry_after = body.get("retry_after", 0)
        if (
            status not in FAILURES
            or type(times) is not int
            or not 1 <= times <= 100
            or retry_after not in (0, 1)
        ):
            details = f"status one of {sorted(FAILURES)}, times 1..100, retry_after 0 or 1"
            return graph_error(400, 100, "(#100) Invalid parameter", details)
        self._failures.extend([(status, retry_after)] * times)
        return web.json_response({"status": status, "times": times, "pending": len(self._failures)})
