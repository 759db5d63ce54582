"""The live message bus in this process: `make run`'s default, with Redis streams' semantics.

Ids are "<ms>-<seq>" strings like Redis's (milliseconds of the clock, a sequence within the same
millisecond, never going backwards when the clock does), so callers store and pass them alike.
Trimming is exact where Redis's is approximate (Redis may keep up to one internal node more);
both keep at least the newest `max_len` entries, which is all callers may count on.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from assistant.handoff.bus import (
    DEFAULT_CONSOLE_MAX_LEN,
    DEFAULT_MAX_LEN,
    DEFAULT_TTL,
    RawEntry,
    StreamBus,
    format_id,
    parse_id,
)

# Streams that went quiet are forgotten at most this often (a sweep walks every stream).
_SWEEP_SECONDS = 60.0


@dataclass
class _Stream:
    entries: list[tuple[tuple[int, int], str]] = field(default_factory=list)
    expires_at: float = 0.0


class MemoryMessageBus(StreamBus):
    """Streams in a dict; a blocked reader waits on a condition that every publish notifies."""

    def __init__(
        self,
        *,
        max_len: int = DEFAULT_MAX_LEN,
        console_max_len: int = DEFAULT_CONSOLE_MAX_LEN,
        ttl: timedelta = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(max_len=max_len, console_max_len=console_max_len, ttl=ttl)
        self._clock = clock
        self._streams: dict[str, _Stream] = {}
        self._last_key = (0, 0)
        self._next_sweep = 0.0
        self._published = asyncio.Condition()
        self._waiting = 0

    @property
    def readers_waiting(self) -> int:
        """How many reads are blocked for new events right now (diagnostics and tests)."""
        return self._waiting

    async def _append(self, streams: Sequence[str], payload: str) -> list[str]:
        now = self._clock()
        self._sweep(now)
        key = self._next_key(now)
        for name in streams:
            stream = self._live(name, now) or self._streams.setdefault(name, _Stream())
            stream.entries.append((key, payload))
            self._trim(stream, self._cap(name), now)
            stream.expires_at = now + self._ttl.total_seconds()
        async with self._published:
            self._published.notify_all()
        return [format_id(key)] * len(streams)

    async def _read_raw(self, stream: str, after: str, block_ms: int, count: int) -> list[RawEntry]:
        after_key = parse_id(after)
        found = self._after(stream, after_key, count)
        if found or block_ms <= 0:
            return found
        self._waiting += 1
        try:
            await asyncio.wait_for(self._new_entry(stream, after_key), block_ms / 1000)
        except asyncio.TimeoutError:
            return []
        finally:
            self._waiting -= 1
        return self._after(stream, after_key, count)

    async def _last_id(self, stream: str) -> str | None:
        found = self._live(stream, self._clock())
        return format_id(found.entries[-1][0]) if found and found.entries else None

    async def close(self) -> None:
        self._streams.clear()

    async def _new_entry(self, stream: str, after_key: tuple[int, int]) -> None:
        async with self._published:
            await self._published.wait_for(lambda: bool(self._after(stream, after_key, 1)))

    def _after(self, name: str, after_key: tuple[int, int], count: int) -> list[RawEntry]:
        stream = self._live(name, self._clock())
        if stream is None:
            return []
        start = bisect.bisect_right(stream.entries, after_key, key=lambda entry: entry[0])
        return [(format_id(key), payload) for key, payload in stream.entries[start : start + count]]

    def _live(self, name: str, now: float) -> _Stream | None:
        """The stream, unless it expired (then it is dropped, as Redis drops an expired key)."""
        stream = self._streams.get(name)
        if stream is not None and stream.expires_at <= now:
            del self._streams[name]
            return None
        return stream

    def _trim(self, stream: _Stream, cap: int, now: float) -> None:
        """Keep the newest `cap` entries, none older than the retention period."""
        oldest_ms = int((now - self._ttl.total_seconds()) * 1000)
        start = bisect.bisect_left(stream.entries, (oldest_ms, 0), key=lambda entry: entry[0])
        del stream.entries[: max(start, len(stream.entries) - cap)]

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_SECONDS
        for name in [n for n, s in self._streams.items() if s.expires_at <= now]:
            del self._streams[name]

    def _next_key(self, now: float) -> tuple[int, int]:
        ms = int(now * 1000)
        last_ms, last_seq = self._last_key
        self._last_key = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        return self._last_key
