"""The parts a voice connector keeps for the life of the Rasa process, and the core per turn.

Each connector holds one call store (Redis when REDIS_URL is set), one text-message sender
(when VOICE_SMS_FROM is set), the cipher for callers' numbers (when VOICE_CALLER_KEY is set)
and the speech hints of the loaded model; the core is built per request around Rasa's
`on_new_message` for that request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint
from sanic.request import Request

from assistant.settings import Settings
from channels.voice.caller import CallerCipher
from channels.voice.config import VoiceConfig
from channels.voice.core import VoiceCore
from channels.voice.dialogue import RasaDialogue
from channels.voice.hints import HintCache
from channels.voice.sms import TwilioLinkTexter
from channels.voice.state import CallStore, RedisCallStore, call_store


class VoiceRuntime:
    def __init__(
        self, config: VoiceConfig, settings: Settings, store: CallStore | None = None
    ) -> None:
        self.config = config
        self.settings = settings
        self.store = store or call_store(settings.redis_url)
        self.texter = TwilioLinkTexter(config.sms) if config.sms else None
        self.cipher = CallerCipher(config.caller_key) if config.caller_key else None
        self._hints = HintCache()

    def core(
        self,
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        input_channel: str,
    ) -> VoiceCore:
        agent = getattr(request.app.ctx, "agent", None)
        return VoiceCore(
            store=self.store,
            dialogue=RasaDialogue(request.app, self.settings, on_new_message, input_channel),
            config=self.config,
            texter=self.texter,
            cipher=self.cipher,
            hints=self._hints.hints_for(getattr(agent, "domain", None)),
        )

    def close_with_server(self, blueprint: Blueprint) -> None:
        @blueprint.listener("before_server_stop")
        async def close(_app: Any, _loop: Any) -> None:
            if self.texter is not None:
                await self.texter.close()
            if isinstance(self.store, RedisCallStore):
                await self.store.close()
