"""Who may call the webhook, and the conversation id that stands in for a phone number.

Meta signs every webhook call: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body,
keyed with the app secret>`. The check runs on the bytes as received, before any parsing, so a
forged body never reaches the JSON parser. Comparisons are constant-time.

A resident's phone number never becomes the conversation id: the id ends up in Rasa's tracker,
the staff console, the handoff tables and (hashed) in logs. It is an HMAC of the receiving
number's id and the resident's WhatsApp id, keyed with a key derived from the app secret, so it
is stable for one resident on one municipality number, and nobody without the secret can go from
a phone number to a conversation or back.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_PREFIX = "sha256="
# A fixed label, so the conversation key is not the secret Meta signs with (key separation).
_CONVERSATION_KEY_LABEL = b"gemeente-assistent whatsapp conversation id v1"
CONVERSATION_PREFIX = "whatsapp-"


def sign(body: bytes, app_secret: str) -> str:
    """The header value Meta sends for `body`."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _SIGNATURE_PREFIX + digest


def signature_valid(body: bytes, header: str | None, app_secret: str) -> bool:
    """True when `header` is the signature of exactly these bytes."""
    if not header or not header.startswith(_SIGNATURE_PREFIX):
        return False
    expected = sign(body, app_secret).encode("ascii")
    try:
        given = header.strip().lower().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected, given)


def token_matches(given: str | None, expected: str) -> bool:
    """The verification handshake's token, compared in constant time."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def conversation_key(app_secret: str) -> bytes:
    return hmac.new(app_secret.encode("utf-8"), _CONVERSATION_KEY_LABEL, hashlib.sha256).digest()


def conversation_id(key: bytes, phone_number_id: str, wa_id: str) -> str:
    """ "whatsapp-" and 32 hex characters; the same resident on the same number, the same id."""
    mac = hmac.new(key, f"{phone_number_id}:{wa_id}".encode(), hashlib.sha256).hexdigest()
    return CONVERSATION_PREFIX + mac[:32]


def log_id(conversation: str) -> str:
    """Conversation ids give access to a conversation's history: logs get a short hash."""
    return hashlib.sha256(conversation.encode()).hexdigest()[:10]
