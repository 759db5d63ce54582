"""The REST door (channels/rest.py) of the running assistant: checks, limits and namespace."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from typing import Any

import aiohttp
import pytest

from assistant.stack import Stack
from tests.residents import resident_headers

TIMEOUT = aiohttp.ClientTimeout(total=60)


async def post(
    stack: Stack, body: bytes | str | Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """Status and decoded answer; status 0 when the server cut the connection while the body was
    sent (how Sanic refuses a body whose announced size is over the limit)."""
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as http,
            http.post(
                stack.rest_webhook_url,
                data=data,
                headers={"Content-Type": "application/json", **(headers or resident_headers())},
            ) as response,
        ):
            text = await response.text()
    except (aiohttp.ClientError, ConnectionError):
        return 0, None
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


def question(text: str, sender: str | None = None) -> dict[str, Any]:
    return {
        "sender": sender or f"rest-test-{uuid.uuid4().hex}",
        "message": text,
        "metadata": {"municipality": "utrecht"},
    }


def answer_text(replies: list[dict[str, Any]]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


async def test_a_question_is_answered_for_its_sender(assistant_stack: Stack) -> None:
    body = question("wat kost een paspoort")
    status, replies = await post(assistant_stack, body)
    assert status == 200
    assert "€" in answer_text(replies)
    assert {reply["recipient_id"] for reply in replies} == {body["sender"]}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "bad_json"),
        (b"{not json", "bad_json"),
        ([], "bad_json"),
        (json.dumps("just a string"), "bad_json"),
        (json.dumps({"sender": {"nested": [[[[]]]]}, "message": "x"}), "bad_sender"),
        ({"message": "hallo"}, "bad_sender"),
        ({"sender": "", "message": "hallo"}, "bad_sender"),
        ({"sender": "a/b", "message": "hallo"}, "bad_sender"),
        ({"sender": "x" * 65, "message": "hallo"}, "bad_sender"),
        ({"sender": 12, "message": "hallo"}, "bad_sender"),
        ({"sender": "abc", "message": None}, "bad_message"),
        ({"sender": "abc", "message": ["hallo"]}, "bad_message"),
        ({"sender": "abc", "message": "hallo", "metadata": "utrecht"}, "bad_metadata"),
        ({"sender": "abc", "message": "   "}, "empty"),
        ({"sender": "abc", "message": "x" * 1001}, "too_long"),
        ({"sender": "abc", "message": "paspoort \ud800"}, "surrogate"),
    ],
)
async def test_a_malformed_request_gets_400_with_a_reason(
    assistant_stack: Stack, body: Any, code: str
) -> None:
    status, answer = await post(assistant_stack, body)
    assert status == 400, answer
    assert answer["error"] == code
    assert answer["message"] and "Traceback" not in answer["message"]


async def test_the_rest_door_cannot_reach_a_web_chat_conversation(assistant_stack: Stack) -> None:
    session = secrets.token_urlsafe(16)
    ws_url = assistant_stack.rasa_url.replace("http://", "ws://") + "/webhooks/webchat/ws"
    origin = assistant_stack.demo_url.rstrip("/")
    status, _ = await post(assistant_stack, question("ik wil een medewerker", f"webchat-{session}"))
    assert status == 200
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT) as http,
        http.ws_connect(ws_url, headers={"Origin": origin, **resident_headers()}) as ws,
    ):
        await ws.send_json({"type": "hello", "session_id": session, "municipality": "utrecht"})
        history = await ws.receive_json(timeout=60)
    assert history["type"] == "history"
    assert history["messages"] == [], "the web chat conversation was not touched"


@pytest.mark.timeout(120)
async def test_a_one_megabyte_request_is_refused_while_another_resident_is_answered(
    assistant_stack: Stack,
) -> None:
    huge = question("a." * 500_000 + "@")
    results = await asyncio.gather(
        post(assistant_stack, huge),
        post(assistant_stack, question("wat kost een rijbewijs")),
    )
    (huge_status, _), (status, replies) = results
    assert huge_status in (413, 0), "refused by its size"
    assert status == 200 and "€" in answer_text(replies)


async def test_a_conversation_over_its_message_limit_gets_429_in_dutch(
    assistant_stack: Stack,
) -> None:
    limit = assistant_stack.settings.messages_per_minute_per_conversation
    sender = f"rest-test-{uuid.uuid4().hex}"
    statuses = []
    for _ in range(limit + 1):
        # A new address for each message: only the conversation's own budget runs out.
        status, answer = await post(assistant_stack, question("hallo", sender))
        statuses.append(status)
    assert statuses[:limit] == [200] * limit
    assert statuses[limit] == 429
    assert "Wacht een minuut" in answer["message"]
    status, _ = await post(assistant_stack, question("hallo"))
    assert status == 200, "other residents are still answered"
