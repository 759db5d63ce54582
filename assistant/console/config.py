"""The staff console's configuration from the environment, validated once at start-up.

The same rules as `assistant/settings.py`: every setting is an environment variable with a
default that runs on one machine (`make run` on http://127.0.0.1), and a wrong value stops
start-up with a message naming the variable. The console shares its database with the handoff
queue (HANDOFF_DATABASE_URL), so accounts, sessions and the queue live side by side.

| variable | default | meaning |
|---|---|---|
| CONSOLE_PORT | 8070 | port the console listens on |
| HANDOFF_DATABASE_URL | sqlite:///var/handoff.sqlite | accounts, sessions and the handoff queue |
| CONSOLE_SECURE_COOKIES | false | true in production behind HTTPS: cookies only over HTTPS |
| CONSOLE_PUBLIC_ORIGIN | derived | https://kcc.example.nl when a proxy rewrites the Host header |
| CONSOLE_SESSION_IDLE_MINUTES | 30 | a session ends after this long without a request |
| CONSOLE_MAX_FAILED_LOGINS | 5 | failed attempts in a row before an account is locked |
| CONSOLE_LOCKOUT_MINUTES | 15 | how long a locked account stays locked |
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# `_int` is settings.py's parser for whole numbers in a range; shared so both speak alike.
from assistant.settings import ConfigError
from assistant.settings import _int as whole_number

DEFAULT_DATABASE_URL = "sqlite:///var/handoff.sqlite"
_TRUE = ("1", "true", "yes", "on", "ja")
_FALSE = ("0", "false", "no", "off", "nee")


@dataclass(frozen=True)
class ConsoleConfig:
    """What the console needs to run; `load_console_config` reads it from the environment."""

    port: int = 8070
    database_url: str = DEFAULT_DATABASE_URL
    # Production runs behind HTTPS: the session cookie gets `Secure` and the `__Host-` prefix.
    secure_cookies: bool = False
    # The address employees type in the browser, for the Origin check; None: taken from the
    # request (its Host header, with https when secure_cookies is set).
    public_origin: str | None = None
    session_idle_minutes: int = 30
    max_failed_logins: int = 5
    lockout_minutes: int = 15

    @property
    def session_idle(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.session_idle_minutes)

    @property
    def lockout(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.lockout_minutes)


def load_console_config(env: Mapping[str, str] | None = None) -> ConsoleConfig:
    """The configuration from `env` (default: the process environment); ConfigError naming the
    variable when a value is unusable."""
    env = os.environ if env is None else env
    return ConsoleConfig(
        port=whole_number(env, "CONSOLE_PORT", 8070, 1, 65535),
        database_url=_database_url(env),
        secure_cookies=_boolean(env, "CONSOLE_SECURE_COOKIES", False),
        public_origin=_origin(env, "CONSOLE_PUBLIC_ORIGIN"),
        session_idle_minutes=whole_number(env, "CONSOLE_SESSION_IDLE_MINUTES", 30, 1, 24 * 60),
        max_failed_logins=whole_number(env, "CONSOLE_MAX_FAILED_LOGINS", 5, 1, 100),
        lockout_minutes=whole_number(env, "CONSOLE_LOCKOUT_MINUTES", 15, 1, 24 * 60),
    )


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _database_url(env: Mapping[str, str]) -> str:
    raw = env.get("HANDOFF_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    try:
        backend = make_url(raw).get_backend_name()
    except ArgumentError:
        backend = ""
    if backend not in ("sqlite", "postgresql"):
        # The URL may carry a password: name the variable, not the value.
        raise ConfigError(
            "HANDOFF_DATABASE_URL must be an SQLAlchemy URL like sqlite:///var/handoff.sqlite "
            "or postgresql://user:password@host/database"
        )
    return raw


def _origin(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip().rstrip("/")
    if not raw:
        return None
    parts = urlsplit(raw)
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = urlsplit("")
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.path
        or parts.query
        or parts.fragment
    ):
        raise ConfigError(f"{name} must be an origin like https://kcc.example.nl, got {raw!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()
