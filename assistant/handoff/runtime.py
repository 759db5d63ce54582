"""The handoff parts of one Rasa process, built once from the settings and run with the server.

Every channel and the staff console of a process share one router, one live dispatcher and one
bus connection; `handoff_for(app)` builds them on first use. The listeners the web chat channel
registers start the dispatcher and the timer sweep with the server and stop them with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from assistant.handoff.bus import MessageBus, message_bus
from assistant.handoff.callbacks import CallbackStore
from assistant.handoff.conversation_log import AssistantNotReady, ConversationLog
from assistant.handoff.desk import Desk
from assistant.handoff.live import LiveDispatcher
from assistant.handoff.router import Router
from assistant.handoff.store import HandoffStore
from assistant.settings import Settings
from assistant.sql import engine_for

logger = logging.getLogger(__name__)

# Closed requests and done callbacks are removed after the retention period, checked hourly.
PURGE_SECONDS = 3600.0


@dataclass
class HandoffRuntime:
    store: HandoffStore
    callbacks: CallbackStore
    bus: MessageBus
    router: Router
    desk: Desk
    live: LiveDispatcher
    retention: dt.timedelta
    # A request expires at most this much later than its KCC's queue timeout.
    sweep_seconds: float
    _sweeper: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, app: Any) -> HandoffRuntime:
        engine = engine_for(settings.handoff_database_url)
        store, callbacks = HandoffStore(engine), CallbackStore(engine)
        retention = dt.timedelta(days=settings.retention_days)
        bus = message_bus(settings.redis_url, prefix=settings.handoff_redis_prefix, ttl=retention)
        router = Router(store, bus, ConversationLog(lambda: getattr(app.ctx, "agent", None)))
        return cls(
            store=store,
            callbacks=callbacks,
            bus=bus,
            router=router,
            desk=Desk(store, callbacks, router),
            live=LiveDispatcher(bus),
            retention=retention,
            sweep_seconds=settings.handoff_sweep_seconds,
        )

    async def start(self) -> None:
        await asyncio.to_thread(self.store.ensure_schema)  # the callbacks' table too
        await self.live.start()
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="handoff-timers")

    async def stop(self) -> None:
        """Stops what `start` started; a second call (every channel stops it) does nothing."""
        if self._sweeper is None:
            return
        self._sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sweeper
        self._sweeper = None
        await self.live.stop()
        await self.bus.close()
        self.store.dispose()

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        next_purge = loop.time()
        while True:
            await asyncio.sleep(self.sweep_seconds)
            try:
                await self.router.expire_unanswered()
                if loop.time() >= next_purge:
                    await asyncio.to_thread(self.store.purge_older_than, self.retention)
                    await asyncio.to_thread(self.callbacks.purge_older_than, self.retention)
                    next_purge = loop.time() + PURGE_SECONDS
            except AssistantNotReady:
                continue
            except Exception:
                logger.exception("handoff: the timer sweep failed; trying again")


def handoff_for(app: Any, settings: Settings) -> HandoffRuntime:
    """This process's handoff parts (built on first use, then shared by every channel)."""
    existing = getattr(app.ctx, "handoff", None)
    if existing is None:
        existing = HandoffRuntime.from_settings(settings, app)
        app.ctx.handoff = existing
    return existing


def run_with_server(blueprint: Any, settings: Settings) -> None:
    """Start this process's handoff parts with the Rasa server and stop them with it. Every
    channel blueprint calls this; the parts start and stop once."""

    @blueprint.listener("after_server_start")
    async def start_handoff(app: Any, _loop: Any) -> None:
        await handoff_for(app, settings).start()

    @blueprint.listener("before_server_stop")
    async def stop_handoff(app: Any, _loop: Any) -> None:
        await handoff_for(app, settings).stop()
