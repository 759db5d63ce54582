"""The links of a spoken answer, sent to the caller by text message (Twilio's Messages API).

A link cannot be read aloud, so the voice channel offers to send it; this module sends it. A
failure is reported (False) and never raised: the caller then hears where else to find the
information. Numbers never appear in a log line; only that a message failed and the backend's
error, which names no number (assistant/backends/sms.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from assistant.backends.errors import BackendError
from assistant.backends.sms import SmsClient
from assistant.content import UnknownMunicipality, load_municipality
from channels.voice.config import SmsSettings
from channels.voice.prompts import SMS_BODY

logger = logging.getLogger(__name__)

# A text message of at most a few segments (Twilio refuses more than 1600 characters).
MAX_LINKS = 3


class LinkTexter(Protocol):
    async def send_links(self, to: str, municipality: str, links: Sequence[str]) -> bool:
        """Send `links` to the number `to` (E.164); False when it did not work."""


def link_message(municipality: str, links: Sequence[str]) -> str:
    try:
        name = load_municipality(municipality).name
    except UnknownMunicipality:
        name = municipality.capitalize()
    return SMS_BODY.format(name=name, links="\n".join(links[:MAX_LINKS]))


class TwilioLinkTexter:
    """Sends through one `SmsClient` (its own aiohttp session, closed with the server)."""

    def __init__(self, settings: SmsSettings) -> None:
        self._settings = settings
        self._client: SmsClient | None = None

    async def send_links(self, to: str, municipality: str, links: Sequence[str]) -> bool:
        if self._client is None:
            self._client = SmsClient(
                self._settings.api_url, self._settings.account_sid, self._settings.auth_token
            )
        try:
            await self._client.send(to, self._settings.sender, link_message(municipality, links))
        except BackendError as error:
            logger.error("voice: the link message was not sent: %s", error)
            return False
        return True

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
