"""The voice channel's configuration, read once from the environment and validated.

=========================  ========================================================================
VOICE_LINES                ``<called number E.164>=<municipality>[,...]``: which municipality a
                           phone line belongs to; calls to other numbers get
                           ASSISTANT_MUNICIPALITY
VOICE_MIN_CONFIDENCE       transcripts below this (0-1, default 0.5) are read back to the caller
                           for confirmation before they reach the assistant
VOICE_TTS_VOICE            the TwiML ``<Say voice>`` (default ``Polly.Lotte``, Dutch)
VOICE_PUBLIC_URL           the public base URL Twilio and AudioCodes call (``https://host``),
                           when Rasa sits behind a proxy that changes the host or scheme;
                           default: the URL of the request itself
VOICE_CALLER_KEY           a Fernet key: the AudioCodes connector keeps the caller's number in
                           the call state encrypted with it (only needed for the SMS offer)
TWILIO_AUTH_TOKEN          checks ``X-Twilio-Signature`` (required by the TwiML connector); also
                           the password for sending text messages
TWILIO_ACCOUNT_SID         the Twilio account that sends the text messages
TWILIO_API_URL             the Messages API (default ``https://api.twilio.com/``)
VOICE_SMS_FROM             the sender of the text messages; without it no link is offered by SMS
AUDIOCODES_TOKEN           the bearer token VoiceAI Connect sends (required by its connector)
=========================  ========================================================================

A wrong or missing value raises `assistant.settings.ConfigError` naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

from assistant.content import known_municipality
from assistant.settings import ConfigError, load_settings

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_VOICE_NAME = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SENDER = re.compile(r"\+[1-9][0-9]{6,14}|[A-Za-z0-9 ]{1,11}")
# A bearer token short enough to guess is no protection.
MIN_TOKEN_LENGTH = 16
DEFAULT_VOICE = "Polly.Lotte"
DEFAULT_TWILIO_API_URL = "https://api.twilio.com/"


@dataclass(frozen=True)
class SmsSettings:
    """Where and as whom the links offered during a call are sent by text message."""

    api_url: str
    account_sid: str
    auth_token: str = field(repr=False)
    sender: str


@dataclass(frozen=True)
class VoiceConfig:
    default_municipality: str
    lines: Mapping[str, str] = field(default_factory=dict)
    min_confidence: float = 0.5
    tts_voice: str = DEFAULT_VOICE
    public_url: str | None = None
    caller_key: str | None = field(default=None, repr=False)
    sms: SmsSettings | None = None

    def municipality_for(self, called: str | None) -> str:
        """The municipality of the phone line that was called (the default for other lines)."""
        return self.lines.get(called or "", self.default_municipality)


def load_voice_config(env: Mapping[str, str] | None = None) -> VoiceConfig:
    env = os.environ if env is None else env
    return VoiceConfig(
        default_municipality=load_settings(env).default_municipality,
        lines=_lines(env.get("VOICE_LINES", "")),
        min_confidence=_confidence(env.get("VOICE_MIN_CONFIDENCE", "")),
        tts_voice=_voice(env.get("VOICE_TTS_VOICE", "")),
        public_url=_public_url(env.get("VOICE_PUBLIC_URL", "")),
        caller_key=_caller_key(env.get("VOICE_CALLER_KEY", "")),
        sms=_sms(env),
    )


def twilio_auth_token(env: Mapping[str, str] | None = None) -> str:
    """The token Twilio signs its webhooks with; the TwiML connector refuses to start without."""
    env = os.environ if env is None else env
    token = env.get("TWILIO_AUTH_TOKEN", "").strip()
    if not token:
        raise ConfigError("TWILIO_AUTH_TOKEN must be set for the TwiML voice connector")
    return token


def audiocodes_token(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    token = env.get("AUDIOCODES_TOKEN", "").strip()
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"AUDIOCODES_TOKEN must be set to a secret of at least {MIN_TOKEN_LENGTH} characters "
            "for the AudioCodes voice connector"
        )
    return token


def _lines(raw: str) -> dict[str, str]:
    lines: dict[str, str] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        number, _, name = (piece.strip() for piece in item.partition("="))
        if not E164.fullmatch(number):
            raise ConfigError(
                f"VOICE_LINES: {number!r} is not a phone number like +31302860000 "
                "(expected <number>=<municipality>, separated by commas)"
            )
        municipality = known_municipality(name)
        if municipality is None:
            raise ConfigError(f"VOICE_LINES: {name!r} is not a known municipality")
        lines[number] = municipality
    return lines


def _confidence(raw: str) -> float:
    raw = raw.strip()
    if not raw:
        return 0.5
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"VOICE_MIN_CONFIDENCE must be a number, got {raw!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"VOICE_MIN_CONFIDENCE must be between 0 and 1, got {value}")
    return value


def _voice(raw: str) -> str:
    raw = raw.strip() or DEFAULT_VOICE
    if not _VOICE_NAME.fullmatch(raw):
        raise ConfigError(f"VOICE_TTS_VOICE must be a voice name like Polly.Lotte, got {raw!r}")
    return raw


def _public_url(raw: str) -> str | None:
    raw = raw.strip().rstrip("/")
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"VOICE_PUBLIC_URL must be a base URL like https://host, got {raw!r}")
    return raw


def _caller_key(raw: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        Fernet(raw)
    except (ValueError, TypeError):
        raise ConfigError(
            "VOICE_CALLER_KEY must be a Fernet key (Fernet.generate_key(): 32 bytes, URL-safe "
            "base64)"
        ) from None
    return raw


def _sms(env: Mapping[str, str]) -> SmsSettings | None:
    sender = env.get("VOICE_SMS_FROM", "").strip()
    if not sender:
        return None
    if not _SENDER.fullmatch(sender):
        raise ConfigError(
            "VOICE_SMS_FROM must be a phone number like +3197010000000 or a name of at most 11 "
            f"letters and digits, got {sender!r}"
        )
    api_url = env.get("TWILIO_API_URL", "").strip() or DEFAULT_TWILIO_API_URL
    if urlsplit(api_url).scheme not in ("http", "https") or not urlsplit(api_url).netloc:
        raise ConfigError(f"TWILIO_API_URL must be an http(s) URL, got {api_url!r}")
    account_sid = env.get("TWILIO_ACCOUNT_SID", "").strip()
    # It becomes part of the API's path: letters and digits only (Twilio's are AC + 32 hex).
    if not re.fullmatch(r"[A-Za-z0-9_-]{2,64}", account_sid):
        raise ConfigError("TWILIO_ACCOUNT_SID must be set to an account id (letters and digits)")
    token = env.get("TWILIO_AUTH_TOKEN", "").strip()
    if not token:
        raise ConfigError("TWILIO_AUTH_TOKEN must be set to send text messages (VOICE_SMS_FROM)")
    return SmsSettings(
        api_url=api_url if api_url.endswith("/") else api_url + "/",
        account_sid=account_sid,
        auth_token=token,
        sender=sender,
    )
