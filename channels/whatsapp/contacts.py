"""The contact book: which WhatsApp number answers a conversation, for as long as we may.

The conversation id hides the resident's phone number (channels/whatsapp/security.py), but a
reply must be addressed to it. So the number is kept here, next to the conversation id, for 24
hours after the resident's last message: WhatsApp's customer-service window, outside which only
pre-approved templates may be sent, which this assistant does not send. After that the entry is
gone, and nothing else of ours holds the number.

With REDIS_URL entries are shared by every process (a key with the window's remaining time as
its TTL), else they live in this process. Keys are a hash of the conversation id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio as aioredis

WINDOW = dt.timedelta(hours=24)

# Keep the newest last-message time: a late redelivery of an older message must not shorten
# the window another process just extended. ARGV: entry, its time (ms), TTL (ms).
_REMEMBER = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, entry = pcall(cjson.decode, current)
  if ok and tonumber(entry['at_ms']) and tonumber(entry['at_ms']) >= tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class Contact:
    wa_id: str = field(repr=False)  # the phone number never reaches a log through a repr
    phone_number_id: str
    last_inbound: dt.datetime

    @property
    def reply_until(self) -> dt.datetime:
        return self.last_inbound + WINDOW


class ContactBook(Protocol):
    async def remember(
        self, conversation_id: str, wa_id: str, phone_number_id: str, at: dt.datetime
    ) -> None:
        """The resident wrote at `at` (aware): they may be answered until `at` + 24 hours."""

    async def get(self, conversation_id: str) -> Contact | None:
        """The contact while the window is open, else None."""

    async def reply_until(self, conversation_id: str) -> dt.datetime | None:
        """When the customer-service window of a conversation closes; None when it is closed."""

    async def forget(self, conversation_id: str) -> None: ...

    async def close(self) -> None: ...


class _Window:
    """`reply_until` from `get`, for both books."""

    async def get(self, conversation_id: str) -> Contact | None:
        raise NotImplementedError

    async def reply_until(self, conversation_id: str) -> dt.datetime | None:
        contact = await self.get(conversation_id)
        return contact.reply_until if contact else None


def _key(conversation_id: str) -> str:
    return hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:32]


class MemoryContactBook(_Window):
    def __init__(self, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self._clock = clock
        self._contacts: dict[str, Contact] = {}

    async def remember(
        self, conversation_id: str, wa_id: str, phone_number_id: str, at: dt.datetime
    ) -> None:
        now = self._clock()
        # Entries past their window go whenever a resident writes, so the book stays small.
        self._contacts = {k: c for k, c in self._contacts.items() if c.reply_until > now}
        key = _key(conversation_id)
        current = self._contacts.get(key)
        if current is not None and current.last_inbound >= at:
            return
        if at + WINDOW > now:
            self._contacts[key] = Contact(wa_id, phone_number_id, at)

    async def get(self, conversation_id: str) -> Contact | None:
        contact = self._contacts.get(_key(conversation_id))
        if contact is None or contact.reply_until <= self._clock():
            return None
        return contact

    async def forget(self, conversation_id: str) -> None:
        self._contacts.pop(_key(conversation_id), None)

    async def close(self) -> None:
        return None


class RedisContactBook(_Window):
    def __init__(
        self, url: str, prefix: str = "whatsapp:", clock: Callable[[], dt.datetime] = utc_now
    ) -> None:
        self._redis = aioredis.from_url(url, decode_responses=True)
        self._prefix = prefix + "contact:"
        self._clock = clock
        self._remember = self._redis.register_script(_REMEMBER)

    async def remember(
        self, conversation_id: str, wa_id: str, phone_number_id: str, at: dt.datetime
    ) -> None:
        ttl_ms = int((at + WINDOW - self._clock()).total_seconds() * 1000)
        if ttl_ms <= 0:
            return
        at_ms = int(at.timestamp() * 1000)
        entry = json.dumps({"wa_id": wa_id, "phone_number_id": phone_number_id, "at_ms": at_ms})
        await self._remember(
            keys=[self._prefix + _key(conversation_id)], args=[entry, at_ms, ttl_ms]
        )

    async def get(self, conversation_id: str) -> Contact | None:
        raw = await self._redis.get(self._prefix + _key(conversation_id))
        if raw is None:
            return None
        try:
            entry = json.loads(raw)
            contact = Contact(
                str(entry["wa_id"]),
                str(entry["phone_number_id"]),
                dt.datetime.fromtimestamp(int(entry["at_ms"]) / 1000, dt.timezone.utc),
            )
        except (ValueError, KeyError, TypeError):
            return None
        return contact if contact.reply_until > self._clock() else None

    async def forget(self, conversation_id: str) -> None:
        await self._redis.delete(self._prefix + _key(conversation_id))

    async def close(self) -> None:
        await self._redis.close()


def contact_book(redis_url: str | None, prefix: str = "whatsapp:") -> ContactBook:
    return RedisContactBook(redis_url, prefix) if redis_url else MemoryContactBook()
