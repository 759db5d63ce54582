"""What Meta posts to the webhook, read into our own types (pure functions, no I/O).

The envelope (Meta's webhook reference, `whatsapp_business_account` object)::

    {"object": "whatsapp_business_account",
     "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
         "messaging_product": "whatsapp",
         "metadata": {"display_phone_number": ..., "phone_number_id": ...},
         "contacts": [{"profile": {"name": ...}, "wa_id": ...}],
         "messages": [{"from", "id", "timestamp", "type", <type>: {...}}],
         "statuses": [{"id", "status", "timestamp", "recipient_id", "errors"?: [{"code"}]}]}}]}]}

An envelope that is not this shape is refused as a whole (`WebhookInvalid`, answered 400). One
message or status inside a good envelope that we cannot read is skipped with a warning: refusing
the call would make Meta send the whole batch again, forever. Only what answering needs is kept:
the profile name, the other contact cards of a `contacts` message and media ids are dropped here.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Any

from channels.whatsapp.messages import (
    STATUSES,
    Content,
    Ignored,
    Inbound,
    Location,
    Reply,
    StatusUpdate,
    Text,
    Unsupported,
    Webhook,
    WebhookInvalid,
)

logger = logging.getLogger(__name__)

PHONE_NUMBER_ID = re.compile(r"[0-9]{1,32}")
WA_ID = re.compile(r"[0-9]{5,20}")
MAX_ID_LENGTH = 256
MAX_TEXT_LENGTH = 4096  # WhatsApp's own limit for a text message
MAX_LOCATION_TEXT = 256
# A resident's reactions are not questions; system messages ("changed their number") are not
# written by the resident. Neither gets an answer.
IGNORED_TYPES = frozenset({"reaction", "system", "ephemeral"})


def parse_webhook(raw: bytes) -> Webhook:
    """The messages and statuses of one (already authenticated) webhook body."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise WebhookInvalid("bad_json") from None
    if not isinstance(body, dict) or body.get("object") != "whatsapp_business_account":
        raise WebhookInvalid("not_whatsapp")
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise WebhookInvalid("bad_envelope")
    messages: list[Inbound] = []
    statuses: list[StatusUpdate] = []
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            raise WebhookInvalid("bad_envelope")
        for change in changes:
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                raise WebhookInvalid("bad_envelope")
            if change.get("field") != "messages":
                continue  # account and template updates: nothing for a conversation
            value = change["value"]
            messages.extend(_messages(value))
            statuses.extend(_statuses(value))
    return Webhook(messages, statuses)


def _messages(value: Mapping[str, Any]) -> list[Inbound]:
    raw_messages = value.get("messages") or []
    if not raw_messages:
        return []
    metadata = value.get("metadata")
    number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
    if not isinstance(number, str) or not PHONE_NUMBER_ID.fullmatch(number):
        logger.warning(
            "whatsapp: skipped %d message(s) without a phone number id", len(raw_messages)
        )
        return []
    if not isinstance(raw_messages, list):
        logger.warning("whatsapp: skipped a messages field that is not a list")
        return []
    found = []
    for raw in raw_messages:
        message = parse_message(raw, number)
        if message is None:
            logger.warning("whatsapp: skipped a message that lacks an id, sender or type")
        else:
            found.append(message)
    return found


def parse_message(raw: Any, phone_number_id: str) -> Inbound | None:
    """One entry of `value.messages`, or None when it has no usable id, sender or type."""
    if not isinstance(raw, dict):
        return None
    message_id, sender, kind = raw.get("id"), raw.get("from"), raw.get("type")
    if not (
        isinstance(message_id, str)
        and 0 < len(message_id) <= MAX_ID_LENGTH
        and isinstance(sender, str)
        and WA_ID.fullmatch(sender)
        and isinstance(kind, str)
        and kind
    ):
        return None
    return Inbound(message_id, phone_number_id, sender, _timestamp(raw), _content(kind, raw))


def _content(kind: str, raw: Mapping[str, Any]) -> Content:
    if kind in IGNORED_TYPES:
        return Ignored(kind)
    details = raw.get(kind)
    if not isinstance(details, dict):
        return Unsupported(kind[:32])
    if kind == "text":
        body = details.get("body")
        if isinstance(body, str) and len(body) <= MAX_TEXT_LENGTH:
            return Text(body)
    elif kind == "interactive":
        reply = (
            details.get(details.get("type"))
            if details.get("type")
            in (
                "button_reply",
                "list_reply",
            )
            else None
        )
        if isinstance(reply, dict):
            return _reply(reply.get("id"), reply.get("title"), kind)
    elif kind == "button":
        return _reply(details.get("payload"), details.get("text"), kind)
    elif kind == "location":
        location = _location(details)
        if location is not None:
            return location
    return Unsupported(kind[:32])


def _reply(reply_id: Any, title: Any, kind: str) -> Content:
    if not (isinstance(reply_id, str) and 0 < len(reply_id) <= MAX_ID_LENGTH):
        return Unsupported(kind)
    title = title if isinstance(title, str) and len(title) <= MAX_TEXT_LENGTH else ""
    return Reply(reply_id, title)


def _location(details: Mapping[str, Any]) -> Location | None:
    latitude, longitude = _number(details.get("latitude")), _number(details.get("longitude"))
    if latitude is None or longitude is None:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return Location(
        latitude, longitude, _label(details.get("name")), _label(details.get("address"))
    )


def _number(value: Any) -> float | None:
    """Meta sends numbers; strings of numbers are accepted too (as some BSPs relay them)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _label(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text[:MAX_LOCATION_TEXT] or None


def _timestamp(raw: Mapping[str, Any]) -> int | None:
    value = raw.get("timestamp")
    if isinstance(value, str) and value.isdigit() and len(value) <= 12:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _statuses(value: Mapping[str, Any]) -> list[StatusUpdate]:
    raw_statuses = value.get("statuses") or []
    if not isinstance(raw_statuses, list):
        logger.warning("whatsapp: skipped a statuses field that is not a list")
        return []
    found = []
    for raw in raw_statuses:
        update = _status(raw)
        if update is not None:
            found.append(update)
    return found


def _status(raw: Any) -> StatusUpdate | None:
    if not isinstance(raw, dict):
        return None
    message_id, status = raw.get("id"), raw.get("status")
    if not (isinstance(message_id, str) and 0 < len(message_id) <= MAX_ID_LENGTH):
        logger.warning("whatsapp: skipped a status without a message id")
        return None
    if status not in STATUSES:
        return None  # e.g. "deleted" or "warning": nothing we track
    code = None
    errors = raw.get("errors")
    if status == "failed" and isinstance(errors, list) and errors and isinstance(errors[0], dict):
        raw_code = errors[0].get("code")
        if isinstance(raw_code, int | str) and not isinstance(raw_code, bool):
            code = str(raw_code)[:16]
    return StatusUpdate(message_id, status, _timestamp(raw), code)
