"""A thin client of the web chat protocol (channels/webchat.py) for tests against the stack."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from typing import Any

import aiohttp

FRAME_TIMEOUT = 60.0  # a first answer on a cold 2-core machine can take a while


def new_session_id() -> str:
    return secrets.token_urlsafe(16)  # 22 characters, like the widget's ids


class Chat:
    """A thin client for the protocol: send frames, read frames, ask a question."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.handoff: dict[str, Any] = {}  # the handoff state sent after the last history

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def receive(self) -> dict[str, Any]:
        message = await asyncio.wait_for(self.ws.receive(), FRAME_TIMEOUT)
        assert message.type == aiohttp.WSMsgType.TEXT, f"connection ended: {message!r}"
        frame = json.loads(message.data)
        assert isinstance(frame, dict) and isinstance(frame.get("type"), str)
        return frame

    async def receive_until(self, done: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        frames = []
        while True:
            frame = await self.receive()
            frames.append(frame)
            if done(frame):
                return frames

    async def hello(self, session_id: str, municipality: str | None = "utrecht") -> dict:
        await self.send({"type": "hello", "session_id": session_id, "municipality": municipality})
        history = await self.receive()
        assert history["type"] == "history", history
        self.handoff = await self.receive()
        assert self.handoff["type"] == "handoff", self.handoff
        return history

    async def ask(self, text: str | None = None, payload: str | None = None) -> list[dict]:
        """Send one message; return the bot frames of the answer."""
        await self.send(
            {"type": "message", "text": text}
            if payload is None
            else {"type": "message", "payload": payload}
        )
        frames = await self.receive_until(lambda f: f == {"type": "typing", "active": False})
        assert frames[0] == {"type": "typing", "active": True}, frames
        errors = [f for f in frames if f["type"] == "error"]
        assert not errors, errors
        bots = [f for f in frames if f["type"] == "bot"]
        assert bots, f"no answer to {text or payload!r}: {frames}"
        return bots

    async def send_once(self, text: str, message_id: str) -> list[dict]:
        """Send a message with the widget's id; return every frame up to its `ack`."""
        await self.send({"type": "message", "text": text, "id": message_id})
        return await self.receive_until(lambda f: f["type"] == "ack" or f["type"] == "error")


def bot_text(bots: list[dict]) -> str:
    return "\n".join(b["text"] for b in bots)
