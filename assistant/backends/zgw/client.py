"""HTTP client for the ZGW Zaken and Catalogi APIs (Open Zaak): one method per endpoint.

Everything goes through `JsonClient.request`, so timeouts, retries of reads and the mapping of
failures onto `assistant.backends.errors` live in one place; `request_headers` adds what ZGW
asks of every call (`shared/reference/back-office-apis.md`, section 1, and the specs'
"Autorisatie"):

- `Authorization: Bearer <JWT>`, HS256 with the client's secret, `client_id` in the *payload*
  (the old header form of gemma-zds-client is refused by current servers). A token is made for
  every request, so one never outlives Open Zaak's `JWT_EXPIRY` (3600 s after `iat`).
- `Accept-Crs: EPSG:4326` on every request (Open Zaak answers 412 without it, 406 for another
  CRS) and `Content-Crs: EPSG:4326` on every write (412 without it on `POST /zaken`).
- Lists are paginated (`count/next/previous/results`); `next` is followed for at most
  `max_pages` pages.

The Zaken API is the base URL; Catalogi has its own root because municipalities may run it
elsewhere. References between resources are absolute URLs, so the `get_*` methods take one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import jwt

from assistant.backends.errors import BackendUnavailable, NotConfigured
from assistant.backends.http import DEFAULT_TIMEOUT_SECONDS, JsonClient
from assistant.backends.zgw.types import (
    PaginatedList,
    Rol,
    RolRequest,
    RolType,
    Status,
    StatusRequest,
    StatusType,
    Zaak,
    ZaakRequest,
    ZaakType,
)

log = logging.getLogger(__name__)

SYSTEM = "zgw"
CRS = "EPSG:4326"
MAX_PAGES = 20  # 20 pages of Open Zaak's default 100: more than any lookup here needs
WRITES = frozenset({"POST", "PUT", "PATCH"})


def is_valid_rsin(value: str) -> bool:
    """The 11-proef Open Zaak applies to `bronorganisatie` and `verantwoordelijkeOrganisatie`."""
    if len(value) != 9 or not value.isdigit():
        return False
    weighted = sum(
        int(digit) * weight for digit, weight in zip(value[:8], range(9, 1, -1), strict=True)
    )
    return (weighted - int(value[8])) % 11 == 0


@dataclass(frozen=True)
class ZgwConfig:
    """Where the municipality's Open Zaak lives and who we are to it.

    Built once at start-up (from `assistant.settings`); a missing value or an RSIN that fails
    the 11-proef stops start-up with `NotConfigured` instead of failing on a resident's request.
    """

    zaken_url: str
    catalogi_url: str
    client_id: str
    secret: str = field(repr=False)
    rsin: str
    user_id: str = "gemeente-assistent"
    user_representation: str = "Digitale assistent van de gemeente"

    def __post_init__(self) -> None:
        required = ("zaken_url", "catalogi_url", "client_id", "secret", "rsin")
        missing = [name for name in required if not str(getattr(self, name)).strip()]
        if missing:
            raise NotConfigured(SYSTEM, f"missing {', '.join(missing)}")
        if not is_valid_rsin(self.rsin):
            raise NotConfigured(SYSTEM, f"RSIN {self.rsin!r} fails the 11-proef")


class ZgwClient(JsonClient):
    """The Zaken and Catalogi endpoints the assistant uses, with ZGW's auth and CRS headers."""

    system = SYSTEM

    def __init__(
        self,
        config: ZgwConfig,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_pages: int = MAX_PAGES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(config.zaken_url, session=session, timeout=timeout)
        self.catalogi_url = config.catalogi_url.rstrip("/") + "/"
        self._config = config
        self._max_pages = max_pages
        self._clock = clock

    def token(self) -> str:
        """A new JWT with the payload the ZGW specs require (`client_id` in the payload)."""
        config = self._config
        payload = {
            "iss": config.client_id,
            "iat": int(self._clock()),
            "client_id": config.client_id,
            "user_id": config.user_id,
            "user_representation": config.user_representation,
        }
        return jwt.encode(payload, config.secret, algorithm="HS256")

    async def request_headers(self, method: str) -> Mapping[str, str]:
        """A new token on every attempt, `Accept-Crs` always and `Content-Crs` on writes."""
        headers = {"Authorization": f"Bearer {self.token()}", "Accept-Crs": CRS}
        if method in WRITES:
            headers["Content-Crs"] = CRS
        return headers

    # Zaken API

    async def list_zaken(self, filters: Mapping[str, str] | None = None) -> list[Zaak]:
        """`GET /zaken` with query filters (`identificatie`, `pageSize`, ...), all pages."""
        return cast(list[Zaak], await self._all_pages(self.base_url + "zaken", filters))

    async def get_zaak(self, url: str) -> Zaak:
        """`GET /zaken/{uuid}`, by the zaak's URL."""
        return cast(Zaak, await self._object("GET", url))

    async def create_zaak(self, body: ZaakRequest) -> Zaak:
        """`POST /zaken`. Never retried, so a zaak is not registered twice."""
        return cast(Zaak, await self._object("POST", self.base_url + "zaken", body))

    async def list_statussen(self, zaak_url: str) -> list[Status]:
        """`GET /statussen?zaak=<url>`: the status history of one zaak."""
        statussen = await self._all_pages(self.base_url + "statussen", {"zaak": zaak_url})
        return cast(list[Status], statussen)

    async def get_status(self, url: str) -> Status:
        """`GET /statussen/{uuid}`, by the status's URL (a zaak's `status`)."""
        return cast(Status, await self._object("GET", url))

    async def create_status(self, body: StatusRequest) -> Status:
        """`POST /statussen`: the zaak reaches a statustype."""
        return cast(Status, await self._object("POST", self.base_url + "statussen", body))

    async def list_rollen(self, filters: Mapping[str, str] | None = None) -> list[Rol]:
        """`GET /rollen` with filters (`zaak`, `omschrijvingGeneriek`, `betrokkeneType`)."""
        return cast(list[Rol], await self._all_pages(self.base_url + "rollen", filters))

    async def create_rol(self, body: RolRequest) -> Rol:
        """`POST /rollen`: someone (the initiator, ...) is involved in the zaak."""
        return cast(Rol, await self._object("POST", self.base_url + "rollen", body))

    # Catalogi API

    async def list_zaaktypen(self, filters: Mapping[str, str] | None = None) -> list[ZaakType]:
        """`GET /zaaktypen` with filters (`identificatie`, `datumGeldigheid`, `status`)."""
        zaaktypen = await self._all_pages(self.catalogi_url + "zaaktypen", filters)
        return cast(list[ZaakType], zaaktypen)

    async def get_zaaktype(self, url: str) -> ZaakType:
        """`GET /zaaktypen/{uuid}`, by the zaaktype's URL (a zaak's `zaaktype`)."""
        return cast(ZaakType, await self._object("GET", url))

    async def list_statustypen(self, zaaktype_url: str) -> list[StatusType]:
        """`GET /statustypen?zaaktype=<url>`: the statuses a zaak of this type can reach."""
        statustypen = await self._all_pages(
            self.catalogi_url + "statustypen", {"zaaktype": zaaktype_url}
        )
        return cast(list[StatusType], statustypen)

    async def get_statustype(self, url: str) -> StatusType:
        """`GET /statustypen/{uuid}`, by the statustype's URL (a status's `statustype`)."""
        return cast(StatusType, await self._object("GET", url))

    async def list_roltypen(self, filters: Mapping[str, str] | None = None) -> list[RolType]:
        """`GET /roltypen` with filters (`zaaktype`, `omschrijvingGeneriek`)."""
        return cast(list[RolType], await self._all_pages(self.catalogi_url + "roltypen", filters))

    # Shared

    async def _object(self, method: str, url: str, body: Any = None) -> dict[str, Any]:
        answer = await self.request(method, url, json=body, absolute=True)
        if not isinstance(answer, dict):
            raise BackendUnavailable(SYSTEM, f"{method} {url} answered no JSON object")
        return answer

    async def _all_pages(self, url: str, filters: Mapping[str, str] | None) -> list[dict[str, Any]]:
        """Every result of a list endpoint, following `next` for at most `max_pages` pages.

        Only the query of `next` is used, on our own configured URL: the token never goes to
        another host, and a `next` built with an internal host name (a proxy in front of Open
        Zaak without the forwarded-host setting) still works.
        """
        results: list[dict[str, Any]] = []
        params = dict(filters or {})
        for _ in range(self._max_pages):
            page = await self.request("GET", url, params=params, absolute=True)
            if not _is_page(page):
                raise BackendUnavailable(SYSTEM, f"GET {url} answered no paginated list")
            page = cast(PaginatedList, page)
            results.extend(page["results"])
            if not page.get("next"):
                return results
            params = dict(parse_qsl(urlsplit(page["next"] or "").query))
        log.warning("%s: stopped after %d pages of %s", SYSTEM, self._max_pages, url)
        return results


def _is_page(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("results"), list)
