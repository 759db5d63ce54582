"""Conversation locks in Redis for every Rasa process: atomic, and without stalling the worker.

Rasa holds a conversation's lock for a whole turn, so that two messages of one resident are
answered one after the other even when they reach different processes. Its RedisLockStore keeps
the queue of a conversation's tickets as one JSON value that it reads, changes and writes back
with Redis' blocking client: about six round trips a turn during which the worker's event loop
stands still (`make profile`), and two processes taking a ticket at the same moment can both
read the old queue and both believe they hold the lock.

This store keeps Rasa's rules and does each step as one atomic Redis script, on the asyncio
client:

- taking a ticket numbers it with the conversation's counter, queues it in number order and
  notes when it expires (by Redis' clock, the same for every process);
- a ticket holds the lock while it is the first unexpired one in the queue, so tickets are
  served in the order they were taken; a ticket expires after the lock lifetime
  (TICKET_LOCK_LIFETIME), so the conversations of a killed process are free again by then;
- the holder removes its ticket when the turn is over, however it ended.

Configured in deploy/endpoints.production.yml as `type: assistant.lock_store.RedisTicketLockStore`
with the settings of Rasa's `type: redis` (url, port, db, username, password, use_ssl, ssl_*,
key_prefix, socket_timeout). Its keys differ from those of Rasa's store: during an upgrade, stop
the old Rasa processes before the new ones take conversations.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from rasa.core.lock_store import (
    DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX,
    DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
    LOCK_LIFETIME,
    LockError,
    LockStore,
)
from rasa.utils.endpoints import EndpointConfig

# Seconds between two looks at the queue while an earlier ticket of the conversation is served.
# Rasa's store waits a whole second; a resident's second message should not.
POLL_SECONDS = 0.02

# Each script reads Redis' clock: the same for every process, whatever their own clocks say.
_NOW = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
"""
# KEYS: counter, queue (ticket numbers, in order), expiry (ticket -> ms). ARGV: lifetime in ms.
# Returns the new ticket. The keys live as long as their longest ticket.
_TAKE = (
    _NOW
    + """
local ticket = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], ticket, ticket)
redis.call('HSET', KEYS[3], ticket, now + ARGV[1])
for _, key in ipairs(KEYS) do
  if redis.call('PTTL', key) < tonumber(ARGV[1]) then redis.call('PEXPIRE', key, ARGV[1]) end
end
return ticket
"""
)
# KEYS: queue, expiry. ARGV: ticket. Drops expired tickets from the front; returns 1 when the
# ticket holds the lock, 0 when it waits for an earlier one, -1 when it expired itself.
_TURN = (
    _NOW
    + """
local mine = tonumber(redis.call('HGET', KEYS[2], ARGV[1]))
if not mine or mine <= now then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return -1
end
while true do
  local first = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if first == ARGV[1] then return 1 end
  local expires = tonumber(redis.call('HGET', KEYS[2], first))
  if expires and expires > now then return 0 end
  redis.call('ZREM', KEYS[1], first)
  redis.call('HDEL', KEYS[2], first)
end
"""
)


class RedisTicketLockStore(LockStore):
    """Rasa's ticket lock on Redis, each step one atomic script on the asyncio client."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        settings: dict[str, Any] = endpoint_config.kwargs
        self._redis = aioredis.Redis(
            host=endpoint_config.url or "localhost",
            port=int(settings.get("port") or 6379),
            db=int(settings.get("db") or 1),
            username=settings.get("username") or None,
            password=settings.get("password") or None,
            ssl=bool(settings.get("use_ssl", False)),
            ssl_certfile=settings.get("ssl_certfile"),
            ssl_keyfile=settings.get("ssl_keyfile"),
            ssl_ca_certs=settings.get("ssl_ca_certs"),
            socket_timeout=float(settings.get("socket_timeout", DEFAULT_SOCKET_TIMEOUT_IN_SECONDS)),
        )
        prefix = settings.get("key_prefix")
        # Alphanumeric only, as Rasa's store requires of the same setting.
        base = f"{prefix}:" if isinstance(prefix, str) and prefix.isalnum() else ""
        self._prefix = f"{base}{DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX}"
        self._take = self._redis.register_script(_TAKE)
        self._turn = self._redis.register_script(_TURN)
        super().__init__()

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncIterator[None]:
        """Hold the conversation's lock for the body; raise LockError if the ticket expired
        before its turn came (an earlier turn held the conversation for a whole lifetime)."""
        counter, queue, expiry = self.keys(conversation_id)
        lifetime_ms = max(1, int(lock_lifetime * 1000))
        ticket = int(await self._take(keys=[counter, queue, expiry], args=[lifetime_ms]))
        try:
            while (state := int(await self._turn(keys=[queue, expiry], args=[ticket]))) == 0:
                await asyncio.sleep(min(wait_time_in_seconds, POLL_SECONDS))
            if state < 0:
                raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
            yield
        finally:
            async with self._redis.pipeline(transaction=True) as release:
                await release.zrem(queue, ticket).hdel(expiry, ticket).execute()

    def keys(self, conversation_id: str) -> tuple[str, str, str]:
        """The conversation's ticket counter, queue and expiry times."""
        key = f"{self._prefix}{conversation_id}"
        return f"{key}:tickets", f"{key}:queue", f"{key}:expiry"

    async def close(self) -> None:
        await self._redis.close()
