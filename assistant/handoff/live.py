"""Live handoff events for the residents connected to this process.

One reader per process follows the console stream (every handoff event of every conversation)
and hands each event to the connections of its conversation held here. However many residents
are connected, the process keeps one blocking read on the bus; and an event published by any
process (an employee's console, a timeout swept elsewhere) reaches the process that holds the
resident's connection, which is the only one that can deliver it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator

from assistant.handoff.bus import CONSOLE_STREAM, BusUnavailable, LiveEvent, MessageBus

logger = logging.getLogger(__name__)

READ_BLOCK_MS = 5_000
# After the bus failed: wait this long before reading again, doubling up to the maximum.
RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 10.0
# A connection that does not keep up (a stuck socket) loses its oldest events, not the process
# its memory; the chat's history after a reload still has every message.
QUEUE_SIZE = 200


class LiveDispatcher:
    def __init__(self, bus: MessageBus) -> None:
        self._bus = bus
        self._subscribers: dict[str, set[asyncio.Queue[LiveEvent]]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Event()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="handoff-live-dispatcher")
        await self._started.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextlib.asynccontextmanager
    async def subscribe(self, conversation_id: str) -> AsyncIterator[asyncio.Queue[LiveEvent]]:
        """The live events of one conversation from now on, while the context lasts."""
        await self.start()
        queue: asyncio.Queue[LiveEvent] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers[conversation_id].add(queue)
        try:
            yield queue
        finally:
            subscribers = self._subscribers.get(conversation_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[conversation_id]

    async def _run(self) -> None:
        after: str | None = None
        delay = RETRY_SECONDS
        while True:
            try:
                if after is None:
                    after = await self._bus.tail(CONSOLE_STREAM)
                    self._started.set()
                events = await self._bus.read(CONSOLE_STREAM, after=after, block_ms=READ_BLOCK_MS)
                delay = RETRY_SECONDS
            except BusUnavailable as error:
                logger.error("handoff: live events not readable, retrying: %s", error)
                self._started.set()  # connections go on without live events meanwhile
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)
                continue
            for event in events:
                after = event.id
                for queue in self._subscribers.get(event.conversation_id, ()):
                    if queue.full():
                        queue.get_nowait()
                    queue.put_nowait(event)
