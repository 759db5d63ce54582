"""The caller's phone number: normalised, judged fit for a text message, and kept only encrypted.

A number identifies a person, so it never becomes a conversation id, never reaches a log line
and is never stored in clear text. When it is needed later in the call (AudioCodes sends it
only when the call starts), the call state holds a Fernet token made with VOICE_CALLER_KEY;
the token expires with the call's state, and Fernet's own timestamp bounds it too.
"""

from __future__ import annotations

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken

from channels.voice.state import CALL_TTL_SECONDS

# Numbers without a country code are Dutch (the platforms usually send E.164 anyway).
DEFAULT_REGION = "NL"


def normalised_number(raw: str | None) -> str | None:
    """`raw` as E.164 ("+31612345678"), or None for a withheld, SIP-only or invalid number."""
    if not raw:
        return None
    candidate = raw.strip()
    if candidate.lower().startswith(("tel:", "sip:")):
        candidate = candidate[4:].split("@", 1)[0]
    try:
        number = phonenumbers.parse(candidate, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def can_receive_sms(number: str | None) -> bool:
    """Only mobile numbers get a text message (a landline would get nothing, or a voice call)."""
    if not number:
        return False
    try:
        parsed = phonenumbers.parse(number, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(parsed) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


class CallerCipher:
    """Encrypts a caller's number for the call state, and decrypts it while the call lasts."""

    def __init__(self, key: str, ttl: int = CALL_TTL_SECONDS) -> None:
        self._fernet = Fernet(key)
        self._ttl = ttl

    def seal(self, number: str) -> str:
        return self._fernet.encrypt(number.encode()).decode("ascii")

    def open(self, token: str | None) -> str | None:
        """The number, or None when there is none, it has expired, or the key changed."""
        if not token:
            return None
        try:
            return self._fernet.decrypt(token.encode("ascii"), ttl=self._ttl).decode()
        except (InvalidToken, ValueError):
            return None
