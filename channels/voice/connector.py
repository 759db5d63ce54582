"""What the two phone connectors (TwiML, AudioCodes) share as Rasa input channels.

Neither takes options in credentials.yml: both read the environment. Each is switched on by
its platform's token (TWILIO_AUTH_TOKEN, AUDIOCODES_TOKEN); a deployment without that
platform leaves the token unset and the connector serves only `channels.off`. Switched on, a
connector keeps one `VoiceRuntime` for the life of the Rasa process.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint
from typing_extensions import Self

from assistant.settings import Settings, channel_configured, load_settings
from channels.off import off_blueprint
from channels.voice.config import VoiceConfig, load_voice_config
from channels.voice.runtime import VoiceRuntime


class VoiceConnector(InputChannel):
    # The variable that switches the connector on, and the platform's name for the logs.
    TOKEN_VARIABLE: ClassVar[str]
    PLATFORM: ClassVar[str]

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> Self:
        if credentials:
            raise ValueError(
                f"{cls.__module__}.{cls.__name__} takes no options in credentials.yml; "
                f"configure it with environment variables (got {sorted(credentials)})"
            )
        return cls()

    def __init__(
        self,
        settings: Settings | None = None,
        config: VoiceConfig | None = None,
        token: str | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.on = bool(token) or channel_configured(
            os.environ, (self.TOKEN_VARIABLE,), self.PLATFORM
        )
        if self.on:
            self.config = config or load_voice_config()
            self.token = token or self.read_token()
            self.runtime = VoiceRuntime(self.config, self.settings)

    @staticmethod
    def read_token() -> str:
        """The platform's token from the environment; ConfigError when it is not usable."""
        raise NotImplementedError

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        if not self.on:
            return off_blueprint(f"{self.name()}_input", self.PLATFORM, (self.TOKEN_VARIABLE,))
        return self.serve(on_new_message)

    def serve(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The connector's routes, when it is switched on."""
        raise NotImplementedError
