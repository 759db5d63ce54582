"""Configuration from the environment, validated once, with defaults that run on one machine.

Every setting is an environment variable (documented in the README). Secrets are never read
from files in the repository. A wrong value stops start-up with a message naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

# Days a conversation is kept after its last message (ASSISTANT_RETENTION_DAYS).
MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 3650

# The web chat, WhatsApp and the REST door give the assistant this long for one turn, then
# cancel it (Rasa then stores nothing of it and frees the conversation's lock); the phone has a
# shorter limit of its own. A turn is the NLU, the actions with their back-office calls (at most
# 2.5 s each, assistant/backends/http.py) and, on WhatsApp, the Graph API's sends (usually well
# under a second, at most 10 s each): seconds normally, 20 only when something is broken.
TURN_TIMEOUT_SECONDS = 20.0
# Rasa's conversation lock (TICKET_LOCK_LIFETIME), and the web chat's claim of a message id that
# lives as long, must outlive every turn by this much: the claim also covers the steps around
# the turn (rate limits, the handoff check, recording the answer).
LOCK_MARGIN_SECONDS = 5
# Rasa's own default when TICKET_LOCK_LIFETIME is not set (rasa.core.constants).
RASA_LOCK_LIFETIME = 60


class ConfigError(ValueError):
    """A setting in the environment has a value the assistant cannot use."""


@dataclass(frozen=True)
class Settings:
    default_municipality: str
    retention_days: int
    rasa_port: int
    action_server_port: int
    demo_site_port: int
    webchat_allowed_origins: tuple[str, ...]
    feedback_database_url: str
    # The handoff queue, callback requests and staff accounts (PostgreSQL in production).
    handoff_database_url: str = "sqlite:///var/handoff.sqlite"
    # How often each Rasa process looks for queued conversations nobody took in time.
    handoff_sweep_seconds: int = 15
    # Keys of the live handoff streams in REDIS_URL: apart per installation sharing one Redis.
    handoff_redis_prefix: str = "handoff:"
    # Shared state between processes (rate limits; later handoff streams). None: in-process.
    redis_url: str | None = None
    messages_per_minute_per_conversation: int = 30
    messages_per_minute_per_address: int = 120
    max_request_bytes: int = 64 * 1024
    action_server_max_request_bytes: int = 4 * 1024 * 1024
    sandbox_port: int = 8090
    # Seconds a Rasa process's conversation lock lives (Rasa reads TICKET_LOCK_LIFETIME itself):
    # the longest a killed process keeps its conversations waiting.
    ticket_lock_lifetime: int = RASA_LOCK_LIFETIME

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def demo_site_url(self) -> str:
        return f"http://127.0.0.1:{self.demo_site_port}/"


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    demo_port = _int(env, "DEMO_SITE_PORT", 8080, 1, 65535)
    origins = env.get("WEBCHAT_ALLOWED_ORIGINS", "").strip()
    allowed = (
        tuple(o.strip().rstrip("/") for o in origins.split(",") if o.strip())
        if origins
        else (f"http://127.0.0.1:{demo_port}", f"http://localhost:{demo_port}")
    )
    return Settings(
        default_municipality=env.get("ASSISTANT_MUNICIPALITY", "utrecht").strip().lower(),
        retention_days=_int(
            env, "ASSISTANT_RETENTION_DAYS", 30, MIN_RETENTION_DAYS, MAX_RETENTION_DAYS
        ),
        rasa_port=_int(env, "RASA_PORT", 5005, 1, 65535),
        action_server_port=_int(env, "ACTION_SERVER_PORT", 5055, 1, 65535),
        demo_site_port=demo_port,
        webchat_allowed_origins=allowed,
        feedback_database_url=env.get("FEEDBACK_DATABASE_URL", "sqlite:///var/feedback.sqlite"),
        handoff_database_url=env.get("HANDOFF_DATABASE_URL", "sqlite:///var/handoff.sqlite"),
        handoff_sweep_seconds=_int(env, "HANDOFF_SWEEP_SECONDS", 15, 1, 300),
        handoff_redis_prefix=_prefix(env, "HANDOFF_REDIS_PREFIX", "handoff:"),
        redis_url=_redis_url(env),
        sandbox_port=_int(env, "SANDBOX_PORT", 8090, 1, 65535),
        messages_per_minute_per_conversation=_int(env, "CHAT_MESSAGES_PER_MINUTE", 30, 1, 100_000),
        messages_per_minute_per_address=_int(
            env, "CHAT_MESSAGES_PER_MINUTE_PER_ADDRESS", 120, 1, 1_000_000
        ),
        # A resident's message is at most 1000 characters; the rest is headroom for metadata and
        # the webhooks of later channels (WhatsApp, telephony).
        max_request_bytes=_int(env, "RASA_MAX_REQUEST_BYTES", 64 * 1024, 1024, 16 * 1024 * 1024),
        # Rasa sends the whole conversation with every action call.
        action_server_max_request_bytes=_int(
            env, "ACTION_SERVER_MAX_REQUEST_BYTES", 4 * 1024 * 1024, 64 * 1024, 256 * 1024 * 1024
        ),
        ticket_lock_lifetime=_int(
            env,
            "TICKET_LOCK_LIFETIME",
            RASA_LOCK_LIFETIME,
            int(TURN_TIMEOUT_SECONDS) + LOCK_MARGIN_SECONDS,
            3600,
        ),
    )


def _prefix(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", raw):
        raise ConfigError(f"{name} must be 1-64 of A-Z a-z 0-9 _ . : -, got {raw!r}")
    return raw


def _redis_url(env: Mapping[str, str]) -> str | None:
    url = env.get("REDIS_URL", "").strip()
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"REDIS_URL must start with redis://, rediss:// or unix://, got {url!r}")
    return url or None


def channel_configured(env: Mapping[str, str], names: tuple[str, ...], channel: str) -> bool:
    """Whether an optional channel (WhatsApp, the phone) is set up: True when every secret in
    `names` is set, False when none is (the channel stays off). Some but not all is a mistake,
    not a choice: ConfigError naming the missing ones."""
    missing = [name for name in names if not env.get(name, "").strip()]
    if not missing:
        return True
    if len(missing) == len(names):
        return False
    raise ConfigError(f"{', '.join(missing)} must be set for the {channel} channel")
