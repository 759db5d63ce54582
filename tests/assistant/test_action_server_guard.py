"""The action server's door (assistant/action_server_guard.py), unit by unit and on the running
action server: bounded size, well-formed calls only, errors that never echo what was sent."""

from __future__ import annotations

import asyncio
import json
import zlib
from typing import Any

import aiohttp
import pytest

from assistant.action_server_guard import InvalidActionCall, check_action_call, inflate
from assistant.stack import Stack
from tests.residents import resident_headers

SECRET = "geheim-0612345678"


def call(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "next_action": "action_answer_greet",
        "sender_id": "guard-test",
        "tracker": {
            "sender_id": "guard-test",
            "slots": {},
            "latest_message": {"text": "hoi"},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": {"responses": {"utter_greet": [{"text": "Hallo"}]}},
        "version": "3.6.21",
    }
    body.update(overrides)
    return body


def test_a_well_formed_call_passes() -> None:
    assert check_action_call(json.dumps(call()).encode(), deflated=False, max_bytes=10_000)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'"text"',
        b"{",
        json.dumps(call(next_action=7)).encode(),
        json.dumps(call(tracker=[])).encode(),
        json.dumps(call(tracker={"slots": {}})).encode(),
        json.dumps(call(tracker={"sender_id": "x", "events": "many"})).encode(),
        json.dumps(call(domain="utrecht")).encode(),
    ],
)
def test_a_malformed_call_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidActionCall) as problem:
        check_action_call(body, deflated=False, max_bytes=10_000)
    assert problem.value.status == 400


@pytest.mark.timeout(20)
def test_a_deflate_bomb_is_refused_without_inflating_it() -> None:
    bomb = zlib.compress(b"{" + b" " * 200_000_000 + b"}", 9)  # 200 MB from about 200 kB
    with pytest.raises(InvalidActionCall) as problem:
        inflate(bomb, max_bytes=1_000_000)
    assert problem.value.status == 413


async def _post(url: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """Status and body. Refusing a body by its announced size, Sanic answers 413 and closes the
    connection while the body is still being sent: the status arrives, the rest may not, or the
    connection is reset first (status 0)."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http,
            http.post(
                url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
            ) as response,
        ):
            try:
                return response.status, await response.text()
            except (aiohttp.ClientError, ConnectionError):
                return response.status, ""
    except (aiohttp.ClientError, ConnectionError):
        return 0, ""


@pytest.mark.parametrize(
    "body",
    [b"", b"[1, 2]", b"{bad json " + SECRET.encode(), json.dumps({"next_action": SECRET}).encode()],
)
async def test_the_action_server_answers_bad_calls_with_400_and_no_echo(
    assistant_stack: Stack, body: bytes
) -> None:
    status, text = await _post(f"{assistant_stack.action_url}/webhook", body)
    assert status == 400
    assert SECRET not in text
    log = assistant_stack.log_path("actions").read_text(encoding="utf-8", errors="replace")
    assert SECRET not in log


async def test_a_failing_action_gets_500_without_the_request(assistant_stack: Stack) -> None:
    # Slots of the wrong shape make the action itself fail inside the SDK.
    body = call(tracker={**call()["tracker"], "slots": [SECRET]}, next_action="action_fallback")
    body["tracker"]["slots"] = None
    body["tracker"]["events"] = [{"event": "user", "text": SECRET, "parse_data": SECRET}]
    status, text = await _post(f"{assistant_stack.action_url}/webhook", json.dumps(body).encode())
    assert status in (400, 500)
    assert SECRET not in text
    assert "request_body" not in text


@pytest.mark.timeout(120)
async def test_a_huge_call_is_refused_while_residents_are_answered(assistant_stack: Stack) -> None:
    huge = json.dumps(call(domain={"x": "a." * 3_000_000 + "@"})).encode()  # 6 MB
    resident = {"sender": "guard-resident", "message": "wat kost een paspoort"}
    refused, answered = await asyncio.gather(
        _post(f"{assistant_stack.action_url}/webhook", huge),
        _post(assistant_stack.rest_webhook_url, json.dumps(resident).encode(), resident_headers()),
    )
    assert refused[0] in (413, 0), refused
    assert answered[0] == 200
    assert "€" in " ".join(reply.get("text", "") for reply in json.loads(answered[1]))
