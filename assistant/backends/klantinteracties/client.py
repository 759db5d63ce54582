"""HTTP client for the Klantinteracties API (Open Klant 2): one method per endpoint.

`base_url` is the Open Klant root, under which `klantinteracties/api/v1/` lives. Open Klant
authenticates applications with a static key, `Authorization: Token <key>` (DRF's
TokenAuthentication), not with the ZGW JWT; a missing or wrong key is answered 401 and reaches
the caller as BackendRejected with code "not_authenticated" or "authentication_failed".
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import aiohttp

from assistant.backends.errors import NotConfigured, NotFound
from assistant.backends.http import DEFAULT_TIMEOUT_SECONDS, JsonClient
from assistant.backends.klantinteracties.types import (
    Klantcontact,
    KlantcontactPage,
    MaakKlantcontactCreate,
    MaakKlantcontactResponse,
)

API_PATH = "klantinteracties/api/v1/"


class KlantinteractiesClient(JsonClient):
    """Klantcontacten in Open Klant. Raises the `assistant.backends.errors` tree only."""

    system = "klantinteracties"

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        # Refuse a half-configured client now rather than send requests that can only get 401.
        if not base_url.strip():
            raise NotConfigured(self.system, "no Open Klant address configured")
        if not token.strip():
            raise NotConfigured(self.system, "no Open Klant API token configured")
        super().__init__(base_url, session=session, timeout=timeout)
        self._token = token.strip()

    async def request_headers(self, method: str) -> Mapping[str, str]:
        return {"Authorization": f"Token {self._token}"}

    async def maak_klantcontact(self, body: MaakKlantcontactCreate) -> MaakKlantcontactResponse:
        """`POST maak-klantcontact` (201): klantcontact, betrokkene and onderwerpobject in one
        transaction, so a failure leaves nothing half-registered. Never retried."""
        return await self.request("POST", API_PATH + "maak-klantcontact", json=body)

    async def get_klantcontact(self, klantcontact_id: str) -> Klantcontact:
        """`GET klantcontacten/{uuid}`; anything that is not a uuid raises NotFound unsent."""
        try:
            canonical = str(uuid.UUID(klantcontact_id))
        except (ValueError, AttributeError, TypeError):
            raise NotFound(self.system, "a klantcontact id is a uuid") from None
        return await self.request("GET", f"{API_PATH}klantcontacten/{canonical}")

    async def list_klantcontacten(
        self, *, page: int = 1, page_size: int | None = None
    ) -> KlantcontactPage:
        """`GET klantcontacten?page=N&pageSize=M`: one page, newest first."""
        params: dict[str, str] = {"page": str(page)}
        if page_size is not None:
            params["pageSize"] = str(page_size)
        return await self.request("GET", API_PATH + "klantcontacten", params=params)
