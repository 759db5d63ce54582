"""The WhatsApp channel's parts in one Rasa process, started and stopped with the server.

One aiohttp session for the Graph API client, the work queue and its consumer, the
de-duplication marks, the contact book, the delivery statuses (with an hourly purge after the
retention period), and the router's push hook for "whatsapp-" conversations.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from rasa.core.channels.channel import UserMessage

from assistant.backends.whatsapp import WhatsAppClient
from assistant.handoff.runtime import handoff_for
from assistant.settings import Settings
from assistant.sql import engine_for
from channels.limits import MessageLimits
from channels.whatsapp.config import WhatsAppConfig
from channels.whatsapp.consumer import Consumer
from channels.whatsapp.contacts import ContactBook, contact_book
from channels.whatsapp.dedup import SeenStore, seen_store
from channels.whatsapp.handler import Handler, item_conversation
from channels.whatsapp.messages import Webhook
from channels.whatsapp.outbound import Sender, WhatsAppPush
from channels.whatsapp.queue import WorkQueue, work_queue
from channels.whatsapp.security import CONVERSATION_PREFIX, conversation_key
from channels.whatsapp.statuses import DeliveryStore

logger = logging.getLogger(__name__)

PURGE_SECONDS = 3600.0


@dataclass
class WhatsAppRuntime:
    config: WhatsAppConfig
    settings: Settings
    queue: WorkQueue
    seen: SeenStore
    contacts: ContactBook
    deliveries: DeliveryStore
    session: aiohttp.ClientSession
    consumer: Consumer
    _purger: asyncio.Task[None] | None = field(default=None)

    @classmethod
    async def start(
        cls,
        config: WhatsAppConfig,
        settings: Settings,
        app: Any,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> WhatsAppRuntime:
        prefix = config.redis_prefix
        queue = work_queue(settings.redis_url, prefix)
        seen = seen_store(settings.redis_url, prefix)
        contacts = contact_book(settings.redis_url, prefix)
        deliveries = DeliveryStore(engine_for(settings.handoff_database_url))
        await asyncio.to_thread(deliveries.ensure_schema)
        session = aiohttp.ClientSession()
        client = WhatsAppClient(config.api_url, config.access_token, session=session)
        sender = Sender(client, contacts, deliveries)
        key = conversation_key(config.app_secret)
        handler = Handler(
            config=config,
            settings=settings,
            key=key,
            app=app,
            on_new_message=on_new_message,
            client=client,
            sender=sender,
            contacts=contacts,
            seen=seen,
            deliveries=deliveries,
            limits=MessageLimits(settings),
        )
        consumer = Consumer(queue, handler, lambda item: item_conversation(key, item))
        handoff_for(app, settings).router.register_push(
            CONVERSATION_PREFIX, WhatsAppPush(sender, contacts)
        )
        runtime = cls(config, settings, queue, seen, contacts, deliveries, session, consumer)
        consumer.start()
        runtime._purger = asyncio.create_task(runtime._purge(), name="whatsapp-purge")
        return runtime

    async def accept(self, webhook: Webhook) -> int:
        """Queue what a webhook call brought; returns how many messages were new.

        A message is marked as seen before it is queued, so a repeat that races it is dropped;
        when queueing fails the mark is taken back, so Meta's retry is not mistaken for one.
        """
        new = 0
        for message in webhook.messages:
            mark = "message:" + message.message_id
            if not await self.seen.first(mark):
                continue
            try:
                await self.queue.put({"kind": "message", "message": message.to_json()})
            except BaseException:
                with contextlib.suppress(Exception):
                    await self.seen.forget(mark)
                raise
            new += 1
        for status in webhook.statuses:
            await self.queue.put({"kind": "status", "status": status.to_json()})
        return new

    async def stop(self) -> None:
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger
            self._purger = None
        await self.consumer.stop()
        for closing in (self.queue.close(), self.seen.close(), self.contacts.close()):
            with contextlib.suppress(Exception):
                await closing
        await self.session.close()
        self.deliveries.dispose()

    async def _purge(self) -> None:
        retention = dt.timedelta(days=self.settings.retention_days)
        while True:
            try:
                removed = await asyncio.to_thread(self.deliveries.purge_older_than, retention)
                if removed:
                    logger.info("whatsapp: removed %d delivery statuses past retention", removed)
            except Exception:
                logger.exception("whatsapp: purging delivery statuses failed; trying again later")
            await asyncio.sleep(PURGE_SECONDS)
