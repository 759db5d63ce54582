"""What the voice channel remembers during one call, between the platform's webhooks.

Telephony platforms call a webhook per turn, and behind a load balancer the next turn may reach
another Rasa process. So the call's state lives in Redis (REDIS_URL) with a TTL of a few hours,
which also clears the state of calls whose end we never heard of; without Redis (``make run``)
it lives in the process. Both stores keep the same JSON document per call, and the AudioCodes
activity ids seen in a set next to it (claimed atomically, so a repeated activity is answered
once even when two processes receive it).

The caller's number is never kept in clear text: `caller` is a Fernet token (channels/voice/
caller.py). Transcripts are kept only while a doubtful one waits for the caller's "ja".
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import redis.asyncio as aioredis

from channels.voice.answer import Button

logger = logging.getLogger(__name__)

# Longer than any call; state of calls that ended unnoticed goes by itself.
CALL_TTL_SECONDS = 4 * 3600
# Activity ids remembered per call (a call has a few hundred activities at most).
MAX_ACTIVITY_IDS = 1000


@dataclass
class CallState:
    municipality: str
    # Silences in a row; the second ends the call.
    silences: int = 0
    # The last thing the caller was asked, repeated after a silence.
    prompt: str = ""
    # The menu of the last prompt: key n chooses button n.
    buttons: list[Button] = field(default_factory=list)
    # The last prompt was a yes/no question (no speech hints, one key answers).
    yes_no: bool = False
    # A doubtful transcript waiting for the caller's confirmation.
    pending_transcript: str | None = None
    # Links offered by text message, waiting for the caller's "ja".
    sms_links: list[str] = field(default_factory=list)
    # The caller's number, encrypted (AudioCodes sends it only when the call starts).
    caller: str | None = None
    # The call was ended by us (hang up, transfer); turns after it get no answer.
    ended: bool = False
    # The call was transferred to the KCC; its line may still not answer (TransferEnded).
    transferred: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> CallState:
        data: dict[str, Any] = json.loads(raw)
        data["buttons"] = [Button(**button) for button in data.get("buttons", [])]
        return cls(**data)


class CallStore(Protocol):
    async def load(self, call_id: str) -> CallState | None:
        """The call's state, None when the call is unknown (never started, ended or expired)."""

    async def save(self, call_id: str, state: CallState) -> None:
        """Store the state (and renew its expiry)."""

    async def delete(self, call_id: str) -> None: ...

    async def touch(self, call_id: str) -> bool:
        """Renew the expiry (a keep-alive); False when the call is unknown."""

    async def claim_activity(self, call_id: str, activity_id: str) -> bool:
        """True the first time `activity_id` is claimed for this call, False on a repeat."""


class MemoryCallStore:
    """In-process state, for one Rasa process (``make run``)."""

    def __init__(
        self, ttl: float = CALL_TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._states: dict[str, tuple[float, str]] = {}
        self._activities: dict[str, tuple[float, list[str]]] = {}

    def _expire(self) -> None:
        now = self._clock()
        self._states = {k: v for k, v in self._states.items() if v[0] > now}
        self._activities = {k: v for k, v in self._activities.items() if v[0] > now}

    async def load(self, call_id: str) -> CallState | None:
        self._expire()
        entry = self._states.get(call_id)
        return CallState.from_json(entry[1]) if entry else None

    async def save(self, call_id: str, state: CallState) -> None:
        self._expire()
        self._states[call_id] = (self._clock() + self._ttl, state.to_json())

    async def delete(self, call_id: str) -> None:
        self._states.pop(call_id, None)
        self._activities.pop(call_id, None)

    async def touch(self, call_id: str) -> bool:
        self._expire()
        entry = self._states.get(call_id)
        if entry is None:
            return False
        self._states[call_id] = (self._clock() + self._ttl, entry[1])
        return True

    async def claim_activity(self, call_id: str, activity_id: str) -> bool:
        self._expire()
        _, seen = self._activities.get(call_id, (0.0, []))
        if activity_id in seen:
            return False
        seen = [*seen, activity_id][-MAX_ACTIVITY_IDS:]
        self._activities[call_id] = (self._clock() + self._ttl, seen)
        return True


class RedisCallStore:
    """State shared by every Rasa process through Redis."""

    def __init__(
        self,
        url: str,
        prefix: str = "voice:call:",
        ttl: int = CALL_TTL_SECONDS,
        client: aioredis.Redis | None = None,
    ) -> None:
        self._redis = client or aioredis.from_url(url)
        self._prefix = prefix
        self._ttl = ttl

    def _key(self, call_id: str) -> str:
        return self._prefix + call_id

    def _activities_key(self, call_id: str) -> str:
        return self._prefix + call_id + ":activities"

    async def load(self, call_id: str) -> CallState | None:
        raw = await self._redis.get(self._key(call_id))
        return CallState.from_json(raw) if raw is not None else None

    async def save(self, call_id: str, state: CallState) -> None:
        await self._redis.set(self._key(call_id), state.to_json(), ex=self._ttl)

    async def delete(self, call_id: str) -> None:
        await self._redis.delete(self._key(call_id), self._activities_key(call_id))

    async def touch(self, call_id: str) -> bool:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.expire(self._key(call_id), self._ttl)
            pipe.expire(self._activities_key(call_id), self._ttl)
            renewed, _ = await pipe.execute()
        return bool(renewed)

    async def claim_activity(self, call_id: str, activity_id: str) -> bool:
        key = self._activities_key(call_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, activity_id)
            pipe.expire(key, self._ttl)
            added, _ = await pipe.execute()
        return bool(added)

    async def close(self) -> None:
        await self._redis.close()


def call_store(redis_url: str | None, prefix: str = "voice:call:") -> CallStore:
    return RedisCallStore(redis_url, prefix) if redis_url else MemoryCallStore()
