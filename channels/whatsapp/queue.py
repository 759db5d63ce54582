"""The durable work queue between the webhook and the assistant.

Meta wants a 200 within seconds and retries otherwise, while a turn of the assistant can take
longer; so the webhook only puts each message on this queue and answers, and one consumer per
Rasa process works the queue off (channels/whatsapp/consumer.py).

- With REDIS_URL: a Redis stream with a consumer group. Every process reads with XREADGROUP;
  an entry is acknowledged (XACK) and then deleted (XDEL) once handled, so the phone numbers in
  it do not linger. An entry a consumer took but never acknowledged (its process died) is
  claimed by another consumer after RECLAIM_IDLE_MS (XAUTOCLAIM), so the resident is still
  answered (a consumer still working on an entry touches it now and then, so a slow turn is
  not taken over); an entry delivered MAX_DELIVERIES times is dropped, as it is likely what kills
  the consumers.
- Without Redis (`make run`): an asyncio queue in this process; what is on it is lost if the
  process stops, which is acceptable on a single development machine.

Callers know only `WorkQueue`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

logger = logging.getLogger(__name__)

RECLAIM_IDLE_MS = 60_000
MAX_DELIVERIES = 5
# A bound on what piles up while no consumer runs; far above any real backlog.
MAX_LENGTH = 100_000
GROUP = "consumers"


@dataclass(frozen=True)
class Job:
    id: str
    item: dict[str, Any]


class WorkQueue(Protocol):
    async def put(self, item: Mapping[str, Any]) -> None:
        """Keep `item` (JSON-serialisable) until a consumer has handled it. Raises on failure
        (then the webhook answers 500 and Meta sends the call again)."""

    async def take(self, count: int, wait_seconds: float) -> list[Job]:
        """Up to `count` jobs, waiting up to `wait_seconds` for the first; [] when none came."""

    async def done(self, job: Job) -> None:
        """The job is handled (or given up): it is removed for good."""

    async def touch(self, job: Job) -> None:
        """The job is still being worked on: not for another consumer to take over yet."""

    async def close(self) -> None: ...


class MemoryWorkQueue:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[Job] = asyncio.Queue()

    async def put(self, item: Mapping[str, Any]) -> None:
        # The same round trip as Redis, so an item that cannot be stored fails here too.
        self._queue.put_nowait(Job(uuid.uuid4().hex, json.loads(json.dumps(item))))

    async def take(self, count: int, wait_seconds: float) -> list[Job]:
        try:
            first = await asyncio.wait_for(self._queue.get(), wait_seconds)
        except asyncio.TimeoutError:
            return []
        jobs = [first]
        while len(jobs) < count and not self._queue.empty():
            jobs.append(self._queue.get_nowait())
        return jobs

    async def done(self, job: Job) -> None:
        return None

    async def touch(self, job: Job) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisWorkQueue:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "whatsapp:",
        consumer: str | None = None,
        reclaim_idle_ms: int = RECLAIM_IDLE_MS,
    ) -> None:
        self._redis = aioredis.from_url(url, decode_responses=True)
        self._stream = prefix + "inbound"
        self._consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._reclaim_idle_ms = reclaim_idle_ms
        self._group_ready = False

    async def put(self, item: Mapping[str, Any]) -> None:
        await self._redis.xadd(
            self._stream, {"job": json.dumps(item)}, maxlen=MAX_LENGTH, approximate=True
        )

    async def take(self, count: int, wait_seconds: float) -> list[Job]:
        await self._ensure_group()
        reclaimed = await self._reclaim(count)
        if reclaimed:
            return reclaimed
        try:
            answer = await self._redis.xreadgroup(
                GROUP,
                self._consumer,
                {self._stream: ">"},
                count=count,
                block=max(1, int(wait_seconds * 1000)),
            )
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            self._group_ready = False  # the stream was removed under us: make it again
            return []
        entries = answer[0][1] if answer else []
        return await self._jobs(entries)

    async def done(self, job: Job) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, GROUP, job.id)
            pipe.xdel(self._stream, job.id)
            await pipe.execute()

    async def touch(self, job: Job) -> None:
        # Claiming an entry for its own consumer resets its idle time.
        await self._redis.xclaim(self._stream, GROUP, self._consumer, 0, [job.id], justid=True)

    async def close(self) -> None:
        await self._redis.close()

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._group_ready = True

    async def _reclaim(self, count: int) -> list[Job]:
        """Entries other consumers took and left unacknowledged for too long."""
        answer = await self._redis.xautoclaim(
            self._stream, GROUP, self._consumer, self._reclaim_idle_ms, "0-0", count=count
        )
        entries = answer[1] if answer and len(answer) > 1 else []
        entries = [(entry_id, fields) for entry_id, fields in entries if fields is not None]
        if not entries:
            return []
        logger.warning("whatsapp: took over %d message(s) another process left", len(entries))
        kept = []
        for entry_id, fields in entries:
            pending = await self._redis.xpending_range(
                self._stream, GROUP, min=entry_id, max=entry_id, count=1
            )
            if pending and pending[0]["times_delivered"] > MAX_DELIVERIES:
                logger.error(
                    "whatsapp: gave up on queue entry %s after repeated failures", entry_id
                )
                await self.done(Job(entry_id, {}))
                continue
            kept.append((entry_id, fields))
        return await self._jobs(kept)

    async def _jobs(self, entries: list[tuple[str, Mapping[str, str]]]) -> list[Job]:
        jobs = []
        for entry_id, fields in entries:
            try:
                item = json.loads(fields["job"])
                if not isinstance(item, dict):
                    raise ValueError("not an object")
            except (KeyError, TypeError, ValueError):
                logger.warning("whatsapp: dropped malformed queue entry %s", entry_id)
                await self.done(Job(entry_id, {}))
                continue
            jobs.append(Job(entry_id, item))
        return jobs


def work_queue(redis_url: str | None, prefix: str = "whatsapp:") -> WorkQueue:
    """Redis when configured (shared by every process), else in this process."""
    return RedisWorkQueue(redis_url, prefix=prefix) if redis_url else MemoryWorkQueue()
