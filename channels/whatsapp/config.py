"""The WhatsApp channel's configuration, read from the environment once, at start-up.

Variables (the general ones, REDIS_URL, HANDOFF_DATABASE_URL, ASSISTANT_RETENTION_DAYS and
RASA_MAX_REQUEST_BYTES, come from `assistant.settings.load_settings`):

- WHATSAPP_VERIFY_TOKEN  the token Meta sends in the webhook verification handshake (secret)
- WHATSAPP_APP_SECRET    the Meta app's secret: signs every webhook call (secret)
- WHATSAPP_ACCESS_TOKEN  the bearer token for the Graph API (secret)
- WHATSAPP_API_URL       the Graph API, default https://graph.facebook.com/v19.0/
- WHATSAPP_NUMBERS       optional: `<phone_number_id>=<municipality>[,...]`; a number not listed
                         answers for ASSISTANT_MUNICIPALITY
- WHATSAPP_REDIS_PREFIX  optional: key prefix in REDIS_URL, default "whatsapp:" (apart per
                         installation sharing one Redis)

A missing secret stops the channel's start-up with a ConfigError naming the variable. The
secrets are kept out of `repr`, so a logged configuration never shows them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from assistant.content import known_municipality
from assistant.settings import ConfigError, Settings, load_settings

DEFAULT_API_URL = "https://graph.facebook.com/v19.0/"
DEFAULT_REDIS_PREFIX = "whatsapp:"
SECRETS = ("WHATSAPP_VERIFY_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_ACCESS_TOKEN")
# Meta's phone number ids are numeric; the sandbox uses the same shape.
_PHONE_NUMBER_ID = re.compile(r"[0-9]{1,32}")
_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


@dataclass(frozen=True)
class WhatsAppConfig:
    verify_token: str = field(repr=False)
    app_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    api_url: str
    default_municipality: str
    # phone_number_id -> municipality id
    numbers: Mapping[str, str] = field(default_factory=dict)
    redis_prefix: str = DEFAULT_REDIS_PREFIX

    def municipality_for(self, phone_number_id: str) -> str:
        """The municipality a resident reaches on this WhatsApp number."""
        return self.numbers.get(phone_number_id, self.default_municipality)


def load_config(
    env: Mapping[str, str] | None = None, settings: Settings | None = None
) -> WhatsAppConfig:
    """The configuration from `env` (os.environ by default); raises ConfigError."""
    env = os.environ if env is None else env
    settings = settings or load_settings(env)
    secrets = {}
    for name in SECRETS:
        value = env.get(name, "").strip()
        if not value:
            raise ConfigError(f"{name} must be set for the WhatsApp channel")
        secrets[name] = value
    prefix = env.get("WHATSAPP_REDIS_PREFIX", "").strip() or DEFAULT_REDIS_PREFIX
    if not _PREFIX.fullmatch(prefix):
        raise ConfigError(
            f"WHATSAPP_REDIS_PREFIX must be 1-64 of A-Z a-z 0-9 _ . : -, got {prefix!r}"
        )
    return WhatsAppConfig(
        verify_token=secrets["WHATSAPP_VERIFY_TOKEN"],
        app_secret=secrets["WHATSAPP_APP_SECRET"],
        access_token=secrets["WHATSAPP_ACCESS_TOKEN"],
        api_url=_api_url(env.get("WHATSAPP_API_URL", "")),
        default_municipality=settings.default_municipality,
        numbers=_numbers(env.get("WHATSAPP_NUMBERS", "")),
        redis_prefix=prefix,
    )


def _api_url(raw: str) -> str:
    url = raw.strip() or DEFAULT_API_URL
    if not url.startswith(("https://", "http://")):
        raise ConfigError(f"WHATSAPP_API_URL must start with https:// or http://, got {url!r}")
    return url if url.endswith("/") else url + "/"


def _numbers(raw: str) -> dict[str, str]:
    numbers: dict[str, str] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        number, separator, requested = (part.strip() for part in item.partition("="))
        if not separator or not _PHONE_NUMBER_ID.fullmatch(number):
            raise ConfigError(
                "WHATSAPP_NUMBERS must be <phone_number_id>=<municipality>[,...] "
                f"with a numeric phone number id, got {item!r}"
            )
        municipality = known_municipality(requested)
        if municipality is None:
            raise ConfigError(f"WHATSAPP_NUMBERS names an unknown municipality {requested!r}")
        if number in numbers:
            raise ConfigError(f"WHATSAPP_NUMBERS lists phone number id {number} twice")
        numbers[number] = municipality
    return numbers
