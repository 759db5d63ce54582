"""Register a conversation as a klantcontact, so staff see it in the resident's contact history.

`ContactRegistry.register_contact` is the neutral call actions use; the wire format stays in
`types` and `client`. What is written:
- `kanaal` is the channel ("Chat", "WhatsApp", "Telefoon"), chosen by our code, so a value Open
  Klant would refuse (empty or over 50 characters) is a programming error: ValueError.
- `onderwerp` (max 200) and `inhoud` (max 1000) come from a summary the caller writes. Callers
  must not put a BSN, phone number or e-mail address in them, and this module masks them anyway
  with `assistant.privacy.redact`: a klantcontact is read by many staff members and kept for
  years, while the resident's contact details belong in Open Klant's partij/digitaal adres
  resources, which have their own access rules. Masking happens before shortening, so a cut
  never leaves half an e-mail address behind; a text that is still too long is shortened with
  "…" rather than refused, because a contact moment must not be lost for its length.
- `taal` "nld", `vertrouwelijk` true (a chat can touch anything), `plaatsgevondenOp` now.
- the onderwerpobject identifies the conversation by `reference` (our conversation or melding
  reference), the way Open Forms identifies a form submission.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone

from assistant.backends.errors import BackendUnavailable
from assistant.backends.klantinteracties.client import KlantinteractiesClient
from assistant.backends.klantinteracties.types import (
    MAX_IDENTIFICATOR,
    MAX_INHOUD,
    MAX_KANAAL,
    MAX_ONDERWERP,
    MaakKlantcontactCreate,
)
from assistant.privacy import redact

LANGUAGE = "nld"
REGISTER = "Gemeente-assistent"
OBJECT_TYPE = "gesprek"
OBJECT_ID_KIND = "gespreksreferentie"
WHITESPACE = re.compile(r"\s+")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class ContactRegistry:
    """Writes klantcontacten through one KlantinteractiesClient."""

    def __init__(
        self, client: KlantinteractiesClient, *, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._client = client
        self._clock = clock

    async def register_contact(
        self, channel: str, subject: str, summary: str, reference: str
    ) -> str:
        """Register one contact moment and return the klantcontact's uuid.

        Raises ValueError for a channel or reference Open Klant cannot store, BackendRejected
        when Open Klant refuses (401 with a wrong token, 400 with `invalidParams`) and
        BackendUnavailable when it cannot be reached or answers without a klantcontact.
        """
        kanaal = channel.strip()
        if not kanaal or len(kanaal) > MAX_KANAAL:
            raise ValueError(f"channel must be 1 to {MAX_KANAAL} characters, got {channel!r}")
        object_id = reference.strip()
        if not object_id or len(object_id) > MAX_IDENTIFICATOR:
            raise ValueError(f"reference must be 1 to {MAX_IDENTIFICATOR} characters")
        body: MaakKlantcontactCreate = {
            "klantcontact": {
                "kanaal": kanaal,
                "onderwerp": _masked(subject, MAX_ONDERWERP, single_line=True) or "Chatgesprek",
                "inhoud": _masked(summary, MAX_INHOUD, single_line=False),
                "taal": LANGUAGE,
                "vertrouwelijk": True,
                "indicatieContactGelukt": True,
                "plaatsgevondenOp": self._clock().isoformat(timespec="seconds"),
            },
            "betrokkene": {"rol": "klant", "initiator": True, "organisatienaam": ""},
            "onderwerpobject": {
                "onderwerpobjectidentificator": {
                    "objectId": object_id,
                    "codeObjecttype": OBJECT_TYPE,
                    "codeRegister": REGISTER,
                    "codeSoortObjectId": OBJECT_ID_KIND,
                }
            },
        }
        answer = await self._client.maak_klantcontact(body)
        try:
            return str(answer["klantcontact"]["uuid"])
        except (KeyError, TypeError):
            raise BackendUnavailable(
                self._client.system, "maak-klantcontact answered without a klantcontact uuid"
            ) from None


def _masked(text: str, limit: int, *, single_line: bool) -> str:
    """`text` with personal data masked, then shortened to `limit` characters with "…"."""
    cleaned = redact(text)
    cleaned = WHITESPACE.sub(" ", cleaned).strip() if single_line else cleaned.strip()
    if len(cleaned) <= limit:
        return cleaned
    return cleaned[: limit - 1].rstrip() + "…"
