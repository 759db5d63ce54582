"""Registering a completed transaction as a klantcontact, so the KCC sees what was done.

Best effort: the resident has their answer already, so a failure is logged, never shown. Only a
short subject, a summary without personal data and the reference go to Open Klant.
"""

from __future__ import annotations

import logging

from rasa_sdk import Tracker

from actions.municipality import municipality_for
from assistant.backends.errors import BackendError
from assistant.backends.services import SERVICES

logger = logging.getLogger(__name__)

# Rasa's input channel name -> Open Klant's `kanaal` as the KCC names it.
CHANNELS = {"webchat": "Webchat", "rest": "Webchat", "whatsapp": "WhatsApp", "voice": "Telefoon"}


async def register_contact(tracker: Tracker, subject: str, summary: str, reference: str) -> None:
    channel = CHANNELS.get(tracker.get_latest_input_channel() or "", "Webchat")
    try:
        registry = SERVICES.contacts(municipality_for(tracker))
        await registry.register_contact(channel, subject, summary, reference)
    except (BackendError, ValueError) as error:
        logger.warning("klantcontact not registered: %s", type(error).__name__)
