"""The channel's own types for what a resident sent and what became of what we sent.

`inbound.py` reads Meta's webhook bodies into these; the work queue carries them as JSON
(`to_json` / `from_json`), so they hold only what answering needs: never a profile name, a
contact card or a media id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

DeliveryStatus = Literal["sent", "delivered", "read", "failed"]
STATUSES: frozenset[str] = frozenset({"sent", "delivered", "read", "failed"})


class WebhookInvalid(ValueError):
    """The call is not a WhatsApp webhook we can read; `code` is for the JSON error."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Text:
    body: str
    kind: Literal["text"] = "text"


@dataclass(frozen=True)
class Reply:
    """A tapped reply button or list row (`interactive`), or a template's quick reply
    (`button`): `reply_id` is the id or payload we sent, `title` what the resident saw."""

    reply_id: str
    title: str
    kind: Literal["reply"] = "reply"


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    kind: Literal["location"] = "location"


@dataclass(frozen=True)
class Unsupported:
    """Media, contact cards, stickers and the like: answered without the assistant."""

    message_type: str
    kind: Literal["unsupported"] = "unsupported"


@dataclass(frozen=True)
class Ignored:
    message_type: str
    kind: Literal["ignored"] = "ignored"


Content = Text | Reply | Location | Unsupported | Ignored
_CONTENT_TYPES: dict[str, type[Content]] = {
    "text": Text,
    "reply": Reply,
    "location": Location,
    "unsupported": Unsupported,
    "ignored": Ignored,
}


@dataclass(frozen=True)
class Inbound:
    """One resident message. `timestamp`: when WhatsApp received it (Unix seconds)."""

    message_id: str
    phone_number_id: str
    wa_id: str
    timestamp: int | None
    content: Content

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "content": asdict(self.content)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Inbound:
        """Back from `to_json` (a work queue entry); raises ValueError when it is not one."""
        try:
            content = dict(data["content"])
            content_type = _CONTENT_TYPES[content.pop("kind")]
            return cls(
                message_id=str(data["message_id"]),
                phone_number_id=str(data["phone_number_id"]),
                wa_id=str(data["wa_id"]),
                timestamp=data["timestamp"],
                content=content_type(**content),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"not an inbound message: {type(error).__name__}") from None


@dataclass(frozen=True)
class StatusUpdate:
    """What became of a message we sent. `error_code` only for "failed"."""

    message_id: str
    status: DeliveryStatus
    timestamp: int | None
    error_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StatusUpdate:
        """Back from `to_json` (a work queue entry); raises ValueError when it is not one."""
        try:
            update = cls(**data)
        except TypeError as error:
            raise ValueError(f"not a status update: {error}") from None
        if update.status not in STATUSES:
            raise ValueError("not a status update: unknown status")
        return update


@dataclass(frozen=True)
class Webhook:
    messages: list[Inbound]
    statuses: list[StatusUpdate]
