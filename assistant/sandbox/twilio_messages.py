"""Twilio Messages API stand-in: the SMS the phone channel offers to send, over real HTTP.

Follows Twilio's REST API 2010-04-01 (twilio.com/docs/messaging/api/message-resource and the
error pages twilio.com/docs/errors/<code>):
- `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To` (E.164), `From`
  (E.164 or an alphanumeric sender id) and `Body`: 201 with the message resource, status
  "queued", dates in RFC 2822 and `uri` relative to the API root, as Twilio's are.
- `GET` on the same path lists the account's messages, newest first, filtered by `To` and
  `From`, one page (`PageSize`, default 50, at most 1000; `Page`) with Twilio's paging fields.
- `GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`: one message.
- HTTP Basic auth with AccountSid:AuthToken; the AccountSid in the path must be that account.
  Without credentials, with wrong ones or for another account: 401 code 20003 with
  `WWW-Authenticate: Basic realm="Twilio API"`.
- Errors are Twilio's `{"code", "message", "more_info", "status"}`: 21604 no To, 21211 a To
  that is not E.164, 21603 no From, 21212 a From that is neither, 21602 no Body, 21617 a Body
  over 1600 characters, 20404 an unknown message.

Deviations: only SMS with a Body (no MediaUrl, ContentSid, MessagingServiceSid or
StatusCallback); a message stays "queued" (nothing is delivered); To must already be E.164
(Twilio also normalises national numbers with a country of its own choosing); any AccountSid
configured is accepted, also one not shaped "AC" + 32 hex digits.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import math
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, func, insert, select
from sqlalchemy.engine import Engine

from assistant.sandbox.db import create_tables, engine_for

API = "/2010-04-01/Accounts/{account_sid}"
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
# Up to 11 of A-Z, a-z, 0-9 and space, with at least one letter (Twilio's alphanumeric sender ID).
ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
MAX_BODY = 1600
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 1000
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

metadata = MetaData()

message_table = Table(
    "twilio_message",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("account_sid", String(64), nullable=False),
    Column("recipient", String(16), nullable=False),
    Column("sender", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("date_created", String(40), nullable=False),  # RFC 2822, as Twilio renders it
)


def create_app(database_url: str, *, accounts: Mapping[str, str]) -> web.Application:
    """The Messages API stand-in on `database_url`; `accounts` maps AccountSid to AuthToken."""
    known = {sid.strip(): token.strip() for sid, token in accounts.items()}
    if not known or not all(known) or not all(known.values()):
        raise ValueError("the Twilio sandbox needs an AccountSid and AuthToken")
    engine = engine_for(database_url)
    create_tables(engine, metadata)
    server = _Twilio(engine, known)
    app = web.Application()
    app.router.add_post(API + "/Messages.json", server.create, name="messages")
    app.router.add_get(API + "/Messages.json", server.listing)
    app.router.add_get(API + "/Messages/{sid}.json", server.fetch)

    async def dispose(_: web.Application) -> None:
        engine.dispose()

    app.on_cleanup.append(dispose)
    return app


def twilio_error(status: int, code: int, message: str, **extra: Any) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
        **extra,
    }
    return web.json_response(body, status=status)


class _Twilio:
    def __init__(self, engine: Engine, accounts: dict[str, str]) -> None:
        self._engine = engine
        self._accounts = accounts

    def _refuse(self, request: web.Request) -> web.Response | None:
        """401 code 20003 unless Basic auth names the path's account with its AuthToken."""
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        token = self._accounts.get(user, "")
        if (
            scheme.lower() == "basic"
            and token
            and hmac.compare_digest(password.encode(), token.encode())
            and user == request.match_info["account_sid"]
        ):
            return None
        message = "Authenticate" if encoded else "Authentication Error - No credentials provided"
        response = twilio_error(
            401, 20003, message, detail="Your AccountSid or AuthToken was incorrect."
        )
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        return response

    async def create(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        form = await request.post()
        to, sender, body = (str(form.get(name, "")) for name in ("To", "From", "Body"))
        problem = _check(to, sender, body)
        if problem is not None:
            return twilio_error(400, *problem)
        row = {
            "sid": "SM" + secrets.token_hex(16),
            "account_sid": request.match_info["account_sid"],
            "recipient": to,
            "sender": sender,
            "body": body,
            "date_created": format_datetime(datetime.now(timezone.utc).replace(microsecond=0)),
        }
        await asyncio.to_thread(self._store, row)
        return web.json_response(_resource(row), status=201)

    def _store(self, row: dict[str, Any]) -> None:
        with self._engine.begin() as conn:
            conn.execute(insert(message_table).values(**row))

    async def listing(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        account = request.match_info["account_sid"]
        try:
            size = int(request.query.get("PageSize", DEFAULT_PAGE_SIZE))
            page = int(request.query.get("Page", 0))
            if not 1 <= size <= MAX_PAGE_SIZE or page < 0:
                raise ValueError
        except ValueError:
            return twilio_error(400, 20001, "Invalid paging parameters")
        filters = {key: request.query[key] for key in ("To", "From") if key in request.query}
        rows, total = await asyncio.to_thread(self._page, account, filters, page, size)
        path = f"/2010-04-01/Accounts/{account}/Messages.json"

        def uri(number: int) -> str:
            return f"{path}?{urlencode({**filters, 'PageSize': size, 'Page': number})}"

        start = page * size
        return web.json_response(
            {
                "messages": [_resource(row._asdict()) for row in rows],
                "end": start + max(len(rows) - 1, 0),
                "first_page_uri": uri(0),
                "next_page_uri": uri(page + 1) if start + size < total else None,
                "page": page,
                "page_size": size,
                "previous_page_uri": uri(page - 1) if page else None,
                "start": start,
                "uri": uri(page),
            }
        )

    def _page(
        self, account: str, filters: dict[str, str], page: int, size: int
    ) -> tuple[list[Any], int]:
        condition = message_table.c.account_sid == account
        if "To" in filters:
            condition &= message_table.c.recipient == filters["To"]
        if "From" in filters:
            condition &= message_table.c.sender == filters["From"]
        with self._engine.connect() as conn:
            total = conn.execute(select(func.count()).where(condition)).scalar_one()
            rows = conn.execute(
                select(message_table)
                .where(condition)
                .order_by(message_table.c.id.desc())
                .offset(page * size)
                .limit(size)
            ).all()
        return rows, total

    async def fetch(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        account, sid = request.match_info["account_sid"], request.match_info["sid"]
        row = await asyncio.to_thread(self._one, account, sid)
        if row is None:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        return web.json_response(_resource(row._asdict()))

    def _one(self, account: str, sid: str) -> Any:
        with self._engine.connect() as conn:
            return conn.execute(
                select(message_table).where(
                    message_table.c.account_sid == account, message_table.c.sid == sid
                )
            ).one_or_none()


def _check(to: str, sender: str, body: str) -> tuple[int, str] | None:
    """Twilio's code and message for the first field it would refuse, or None."""
    if not to:
        return 21604, "A 'To' phone number is required."
    if not E164.fullmatch(to):
        return 21211, f"The 'To' number {to} is not a valid phone number."
    if not sender:
        return 21603, "A 'From' phone number is required."
    if not (E164.fullmatch(sender) or ALPHANUMERIC_SENDER.fullmatch(sender)):
        return 21212, (
            f"The 'From' number {sender} is not a valid phone number, shortcode, "
            "or alphanumeric sender ID."
        )
    if not body:
        return 21602, "Message body is required."
    if len(body) > MAX_BODY:
        return 21617, "The concatenated message body exceeds the 1600 character limit."
    return None


def _segments(body: str) -> int:
    """SMS parts: 160 GSM-7 characters alone, 153 each when split; 70 and 67 in UCS-2."""
    single, part = (160, 153) if set(body) <= GSM_BASIC else (70, 67)
    return 1 if len(body) <= single else math.ceil(len(body) / part)


def _resource(row: Mapping[str, Any]) -> dict[str, Any]:
    """Twilio's message resource (API version 2010-04-01) for a stored message."""
    uri = f"/2010-04-01/Accounts/{row['account_sid']}/Messages/{row['sid']}"
    return {
        "account_sid": row["account_sid"],
        "api_version": "2010-04-01",
        "body": row["body"],
        "date_created": row["date_created"],
        "date_sent": None,
        "date_updated": row["date_created"],
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": row["sender"],
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": str(_segments(row["body"])),
        "price": None,
        "price_unit": "USD",
        "sid": row["sid"],
        "status": "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": row["recipient"],
        "uri": f"{uri}.json",
    }
