"""A resident's conversation with the running assistant over the REST channel."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
import requests

from assistant.stack import Stack
from tests.residents import resident_headers

Say = Callable[[str], list[dict]]


@pytest.fixture
def conversation(assistant_stack: Stack) -> Callable[[str], Say]:
    """`say = conversation("zwolle"); replies = say("wat kost een paspoort")`: one conversation
    per call, as a resident of that municipality on its web page."""

    def start(municipality: str) -> Say:
        sender = f"test-{uuid.uuid4().hex}"
        headers = resident_headers()

        def say(text: str) -> list[dict]:
            response = requests.post(
                assistant_stack.rest_webhook_url,
                json={
                    "sender": sender,
                    "message": text,
                    "metadata": {"municipality": municipality},
                },
                headers=headers,
                timeout=60,
            )
            response.raise_for_status()
            return response.json()

        return say

    return start


def texts(replies: list[dict]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


def button_titles(replies: list[dict]) -> list[str]:
    return [button["title"] for reply in replies for button in reply.get("buttons", [])]
