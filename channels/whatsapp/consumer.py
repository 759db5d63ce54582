"""One consumer per Rasa process: takes messages off the work queue and has them handled.

Several residents are served at once (up to CONCURRENCY jobs), but the messages of one
conversation in the order they were taken, so an answer never overtakes the question before it.
A job is removed from the queue once handled, also when handling failed: a message that makes
the handler fail would fail again, and the resident is better served by the next one. Only a
process that dies leaves its jobs on the queue, for another process to take (queue.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

from channels.whatsapp.queue import Job, WorkQueue

logger = logging.getLogger(__name__)

CONCURRENCY = 8
# Well under the queue's idle time after which another process takes an entry over.
HEARTBEAT_SECONDS = 20.0
WAIT_SECONDS = 5.0
# After the queue failed (Redis down): a pause before the next try, so the log is not flooded.
RETRY_SECONDS = 2.0


class Consumer:
    def __init__(
        self,
        queue: WorkQueue,
        handle: Callable[[dict[str, Any]], Awaitable[None]],
        key_of: Callable[[dict[str, Any]], str],
        *,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self._queue = queue
        self._handle = handle
        self._key_of = key_of
        self._concurrency = concurrency
        # Per conversation: its lock and how many taken jobs use it (removed at zero).
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="whatsapp-consumer")

    async def stop(self) -> None:
        """Stop taking jobs and cancel those in progress (a Redis queue gives them to
        another process later)."""
        tasks = [t for t in (self._task, *self._running) if t is not None]
        self._task = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def idle(self) -> None:
        """Wait until the jobs taken so far are handled (for tests and orderly stops)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            free = self._concurrency - len(self._running)
            if free <= 0:
                await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                jobs = await self._queue.take(free, WAIT_SECONDS)
            except (RedisError, OSError) as error:
                logger.error("whatsapp: the work queue failed (%s); trying again", error)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            for job in jobs:
                task = asyncio.create_task(self._work(job, self._key(job)))
                self._running.add(task)
                task.add_done_callback(self._running.discard)

    async def _keep(self, job: Job) -> None:
        """Tell the queue now and then that this job is alive (a turn can take a minute)."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)  # an interval, not a wait for a result
            try:
                await self._queue.touch(job)
            except (RedisError, OSError) as error:
                logger.warning(
                    "whatsapp: could not mark a queued message as in progress: %s", error
                )

    def _key(self, job: Job) -> str:
        try:
            key = self._key_of(job.item)
        except Exception:
            key = job.id
        # Taken here, in queue order: asyncio locks are fair, so jobs of one conversation run
        # in the order they were taken.
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        return key

    async def _work(self, job: Job, key: str) -> None:
        lock = self._locks[key][0]
        try:
            async with lock:
                heartbeat = asyncio.create_task(self._keep(job))
                try:
                    await self._handle(job.item)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("whatsapp: handling a queued message failed")
                finally:
                    heartbeat.cancel()
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
        try:
            await self._queue.done(job)
        except (RedisError, OSError) as error:
            # Handled already; another process may take it again after the idle time and
            # answer twice, which beats not answering.
            logger.error("whatsapp: a handled message stayed on the queue: %s", error)
