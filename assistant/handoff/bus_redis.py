"""The live message bus on Redis streams: shared by every Rasa process and staff console.

Each event is one XADD to the conversation's stream and one to the console stream, in one
MULTI/EXEC with their trimming and expiry, so the two streams never disagree. Per stream:

- MAXLEN ~ cap: approximate, so Redis trims whole internal nodes (cheap; a stream may hold up to
  one node, 100 entries by default, more than the cap);
- XTRIM MINID exact: no entry older than the retention period stays, even in a stream that never
  goes quiet (the console's);
- PEXPIRE retention: a stream that went quiet disappears, like the conversation it belongs to.

Reads are XREAD, with BLOCK when the caller waits. The client has no socket timeout (it would cut
a long BLOCK short); every command is bounded by asyncio instead: `timeout` plus the time the read
may block. A command cancelled that way closes its connection, so no late reply is ever read as
the answer to the next command. Every Redis failure leaves this module as `BusUnavailable`.
Payloads are read as bytes and decoded per entry, so one entry that is not UTF-8 is skipped
instead of breaking every read of its stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from assistant.handoff.bus import (
    DEFAULT_CONSOLE_MAX_LEN,
    DEFAULT_MAX_LEN,
    DEFAULT_TTL,
    BusUnavailable,
    RawEntry,
    StreamBus,
)

T = TypeVar("T")

# The field of a stream entry that holds the event's JSON.
EVENT_FIELD = b"event"


class RedisMessageBus(StreamBus):
    """Streams under `prefix` in the Redis at `url` (the same prefix in every process)."""

    def __init__(
        self,
        url: str,
        prefix: str = "handoff:",
        *,
        max_len: int = DEFAULT_MAX_LEN,
        console_max_len: int = DEFAULT_CONSOLE_MAX_LEN,
        ttl: timedelta = DEFAULT_TTL,
        timeout: float = 2.0,
        client_name: str = "handoff-bus",
    ) -> None:
        super().__init__(max_len=max_len, console_max_len=console_max_len, ttl=ttl)
        self._prefix = prefix
        self._timeout = timeout
        # The name shows which connections are the bus's in CLIENT LIST.
        self._redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=timeout, client_name=client_name
        )

    async def _append(self, streams: Sequence[str], payload: str) -> list[str]:
        ttl_ms = int(self._ttl.total_seconds() * 1000)
        oldest_ms = int(time.time() * 1000) - ttl_ms
        pipe = self._redis.pipeline(transaction=True)
        for stream in streams:
            key = self._prefix + stream
            pipe.xadd(key, {EVENT_FIELD: payload}, maxlen=self._cap(stream), approximate=True)
            pipe.xtrim(key, minid=f"{max(oldest_ms, 0)}-0", approximate=False)
            pipe.pexpire(key, ttl_ms)
        replies = await self._guarded(pipe.execute(), self._timeout)
        return [_text(entry_id) for entry_id in replies[::3]]

    async def _read_raw(self, stream: str, after: str, block_ms: int, count: int) -> list[RawEntry]:
        key = self._prefix + stream
        reply = await self._guarded(
            self._redis.xread({key: after}, count=count, block=block_ms or None),
            self._timeout + block_ms / 1000,
        )
        if not reply:  # nothing new (None after a BLOCK that timed out)
            return []
        _name, entries = reply[0]
        return [(_text(entry_id), fields.get(EVENT_FIELD)) for entry_id, fields in entries]

    async def _last_id(self, stream: str) -> str | None:
        newest = await self._guarded(
            self._redis.xrevrange(self._prefix + stream, count=1), self._timeout
        )
        return _text(newest[0][0]) if newest else None

    async def close(self) -> None:
        await self._redis.close(close_connection_pool=True)

    async def _guarded(self, command: Awaitable[T], seconds: float) -> T:
        try:
            return await asyncio.wait_for(command, seconds)
        except asyncio.TimeoutError:
            raise BusUnavailable(f"Redis did not answer within {seconds:.1f} s") from None
        except (RedisError, OSError) as error:
            raise BusUnavailable(f"Redis is not available: {error}") from error


def _text(value: Any) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else str(value)
