"""A resident's WhatsApp, as the assistant sees it: Meta's webhook calls, signed, and what the
Graph API stand-in in the sandbox received for them.

`payload builders` make the webhook bodies of Meta's reference (one message or status each);
`Phone` posts them to the running assistant with the app secret's signature and polls the
stand-in's `_sandbox/messages` for the answers, with a deadline (no fixed waits); the fixture
`new_phone` makes one per resident (a test module imports it with `webhook_url`).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from assistant.stack import Stack
from channels.whatsapp.security import sign
from tests.conftest import CHANNEL_SECRETS

ANSWER_TIMEOUT = 60.0
POLL_SECONDS = 0.1
PHONE_NUMBER_ID = "100200300400"


def wamid() -> str:
    return "wamid." + secrets.token_urlsafe(30)


def new_wa_id() -> str:
    """A Dutch mobile number that belongs to nobody in particular (random, per test)."""
    return "316" + "".join(secrets.choice("0123456789") for _ in range(8))


def envelope(
    phone_number_id: str = PHONE_NUMBER_ID,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    wa_id: str | None = None,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "31300000000", "phone_number_id": phone_number_id},
    }
    if messages is not None:
        value["contacts"] = [{"profile": {"name": "Inwoner"}, "wa_id": wa_id or "31600000000"}]
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-1", "changes": [{"field": "messages", "value": value}]}],
    }


def message(
    wa_id: str, kind: str, details: dict[str, Any], message_id: str | None = None
) -> dict[str, Any]:
    return {
        "from": wa_id,
        "id": message_id or wamid(),
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: details,
    }


def text_message(wa_id: str, body: str, message_id: str | None = None) -> dict[str, Any]:
    return message(wa_id, "text", {"body": body}, message_id)


def button_reply(wa_id: str, reply_id: str, title: str) -> dict[str, Any]:
    return message(
        wa_id,
        "interactive",
        {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}},
    )


def list_reply(wa_id: str, reply_id: str, title: str) -> dict[str, Any]:
    details = {
        "type": "list_reply",
        "list_reply": {"id": reply_id, "title": title, "description": ""},
    }
    return message(wa_id, "interactive", details)


def template_button(wa_id: str, payload: str, text: str) -> dict[str, Any]:
    return message(wa_id, "button", {"payload": payload, "text": text})


def location_message(
    wa_id: str,
    latitude: float,
    longitude: float,
    name: str | None = None,
    address: str | None = None,
) -> dict[str, Any]:
    details: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if name:
        details["name"] = name
    if address:
        details["address"] = address
    return message(wa_id, "location", details)


def image_message(wa_id: str) -> dict[str, Any]:
    return message(wa_id, "image", {"id": "1234567890", "mime_type": "image/jpeg", "sha256": "x"})


def status(
    message_id: str, state: str, wa_id: str, error_code: int | None = None
) -> dict[str, Any]:
    update: dict[str, Any] = {
        "id": message_id,
        "status": state,
        "timestamp": str(int(time.time())),
        "recipient_id": wa_id,
    }
    if error_code is not None:
        update["errors"] = [{"code": error_code, "title": "Message failed to send"}]
    return update


def shown_text(payload: dict[str, Any]) -> str:
    """What the resident reads of one sent message: its text or interactive body."""
    if payload.get("type") == "interactive":
        return payload["interactive"]["body"]["text"]
    return payload.get("text", {}).get("body", "")


def button_ids(payload: dict[str, Any]) -> dict[str, str]:
    """Title -> id of the reply buttons or list rows of one sent message."""
    interactive = payload.get("interactive") or {}
    action = interactive.get("action") or {}
    if interactive.get("type") == "button":
        return {b["reply"]["title"]: b["reply"]["id"] for b in action["buttons"]}
    if interactive.get("type") == "list":
        rows = [row for section in action["sections"] for row in section["rows"]]
        return {row["title"]: row["id"] for row in rows}
    return {}


class Phone:
    """One resident on one municipality number, talking to the running assistant."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        webhook_url: str,
        sandbox_url: str,
        *,
        app_secret: str,
        graph_token: str,
        phone_number_id: str = PHONE_NUMBER_ID,
        wa_id: str | None = None,
    ) -> None:
        self.http = http
        self.webhook_url = webhook_url
        self.graph = sandbox_url.rstrip("/") + "/whatsapp/"
        self.app_secret = app_secret
        self.graph_token = graph_token
        self.phone_number_id = phone_number_id
        self.wa_id = wa_id or new_wa_id()
        self.seen = 0  # answers read so far

    async def post(
        self, body: bytes | dict[str, Any], signature: str | None = "sign"
    ) -> tuple[int, Any]:
        """POST a webhook body; `signature` "sign" signs it, None leaves the header out, any
        other value is sent as the header. Status 0: the server cut the connection."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            headers["X-Hub-Signature-256"] = sign(raw, self.app_secret)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        try:
            async with self.http.post(self.webhook_url, data=raw, headers=headers) as response:
                text = await response.text()
        except (aiohttp.ClientError, ConnectionError):
            return 0, None
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text

    async def send(self, *messages: dict[str, Any]) -> None:
        """Deliver messages as Meta does; fails unless the webhook takes them."""
        status_code, answer = await self.post(
            envelope(self.phone_number_id, list(messages), wa_id=self.wa_id)
        )
        assert status_code == 200, (status_code, answer)

    async def say(self, text: str) -> None:
        await self.send(text_message(self.wa_id, text))

    async def sent_to_me(self) -> list[dict[str, Any]]:
        """Every message the Graph stand-in accepted for this resident, oldest first."""
        async with self.http.get(
            self.graph + "_sandbox/messages",
            params={"to": self.wa_id},
            headers={"Authorization": f"Bearer {self.graph_token}"},
        ) as response:
            assert response.status == 200, await response.text()
            return (await response.json())["messages"]

    async def answers_until(
        self, done: Callable[[list[dict[str, Any]]], bool], timeout: float = ANSWER_TIMEOUT
    ) -> list[dict[str, Any]]:
        """The payloads of the new answers once `done(new answers)` holds; polls the stand-in
        until then, failing after `timeout` seconds with what arrived."""
        deadline = time.monotonic() + timeout
        while True:
            new = [m["payload"] for m in (await self.sent_to_me())[self.seen :]]
            if done(new):
                self.seen += len(new)
                return new
            if time.monotonic() > deadline:
                raise AssertionError(f"no such answer within {timeout:.0f} s; got {new}")
            await asyncio.sleep(POLL_SECONDS)  # polling interval, not a wait for the answer

    async def answer_containing(
        self, fragment: str, timeout: float = ANSWER_TIMEOUT
    ) -> list[dict[str, Any]]:
        """The new answers, up to and including one whose text contains `fragment` (any case)."""
        return await self.answers_until(
            lambda new: any(fragment.lower() in shown_text(p).lower() for p in new), timeout
        )


@pytest.fixture
def webhook_url(assistant_stack: Stack) -> str:
    return f"{assistant_stack.rasa_url}/webhooks/whatsapp/webhook"


@pytest.fixture
def new_phone(
    http: aiohttp.ClientSession, webhook_url: str, assistant_stack: Stack
) -> Callable[[], Phone]:
    """`phone = new_phone()`: a resident with a number of their own, on the default number."""

    def make() -> Phone:
        return Phone(
            http,
            webhook_url,
            assistant_stack.sandbox_url,
            app_secret=CHANNEL_SECRETS["WHATSAPP_APP_SECRET"],
            graph_token=CHANNEL_SECRETS["WHATSAPP_ACCESS_TOKEN"],
        )

    return make
