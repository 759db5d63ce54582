"""HTTP to JCC-Afspraken REST: one method per endpoint, nothing translated (see `plugin.py`).

Authentication is OAuth2 client credentials: `POST {base}connect/token` with HTTP Basic client
authentication and the form body `grant_type=client_credentials&scope=warp-api`. The token is
kept until shortly before it expires and shared by concurrent calls; when JCC still answers 401
(a token revoked or forgotten after a restart) it is fetched once more and the call repeated,
which is safe even for a POST because a 401 means the request was not processed.
Every call also sends `language: nl`, which selects the language of JCC's descriptions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from datetime import date
from typing import Any
from urllib.parse import quote

import aiohttp

from assistant.backends.appointments.jcc.types import (
    AcknowledgeResult,
    Activity,
    AppointmentData,
    AvailableTimes,
    DateRange,
    ExistingAppointment,
    Location,
    TokenResponse,
    Version,
)
from assistant.backends.errors import BackendRejected, BackendUnavailable, NotConfigured
from assistant.backends.http import DEFAULT_TIMEOUT_SECONDS, JsonClient

TOKEN_PATH = "connect/token"
SCOPE = "warp-api"
# Assumed lifetime when the token response has no `expires_in` (IdentityServer's default is 3600).
FALLBACK_TOKEN_SECONDS = 300

# True while the token itself is requested, so that request does not ask for a token first.
_fetching_token: ContextVar[bool] = ContextVar("jcc_fetching_token", default=False)


class JccClient(JsonClient):
    """A client for one JCC tenant, e.g. `https://host/JCC/<tenant>/G-Plan/api/api/warp/v1/`."""

    system = "jcc"

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        missing = [
            name
            for name, value in (
                ("base URL", base_url),
                ("client id", client_id),
                ("client secret", client_secret),
            )
            if not value or not value.strip()
        ]
        if missing:
            raise NotConfigured(self.system, f"JCC needs a {', '.join(missing)}")
        super().__init__(base_url, session=session, timeout=timeout)
        self._basic = aiohttp.BasicAuth(client_id, client_secret).encode()
        self._token: str | None = None
        self._token_valid_until = 0.0
        self._token_lock = asyncio.Lock()

    def error_code(self, status: int, body: Any, headers: Mapping[str, str]) -> str | None:
        """JCC's `code` (an integer in its failure bodies), or OAuth's `error` (token call)."""
        if not isinstance(body, dict):
            return None
        code = body.get("code", body.get("error"))
        return None if code is None else str(code)

    async def request_headers(self, method: str) -> Mapping[str, str]:
        """The bearer token (none on the token request itself) and `language: nl`."""
        if _fetching_token.get():
            return {"language": "nl"}
        return {"Authorization": f"Bearer {await self._access_token()}", "language": "nl"}

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token is None or time.monotonic() >= self._token_valid_until:
                self._token = None
                answer: TokenResponse = await self.token()
                token = answer.get("access_token") if isinstance(answer, dict) else None
                if not token:
                    raise BackendUnavailable(self.system, "token answer without access_token")
                lifetime = int(answer.get("expires_in") or FALLBACK_TOKEN_SECONDS)
                # Renew a little early, so a token never expires between sending and arriving.
                self._token_valid_until = time.monotonic() + lifetime - min(60, lifetime / 10)
                self._token = token
            return self._token

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """`request` with one new token when JCC refuses the current one."""
        had_token = self._token is not None
        try:
            return await self.request(method, path, **kwargs)
        except BackendRejected as error:
            if error.status != 401 or not had_token:
                raise
            async with self._token_lock:
                self._token = None
            return await self.request(method, path, **kwargs)

    async def token(self) -> TokenResponse:
        """`POST connect/token`. A refused client answers 400 `invalid_client` (BackendRejected)."""
        reset = _fetching_token.set(True)
        try:
            return await self.request(
                "POST",
                TOKEN_PATH,
                data={"grant_type": "client_credentials", "scope": SCOPE},
                headers={"Authorization": self._basic},
            )
        finally:
            _fetching_token.reset(reset)

    async def version(self) -> Version:
        """`GET version`: a cheap call to check configuration and credentials."""
        return await self._call("GET", "version")

    async def activities(self, location_id: str = "") -> list[Activity]:
        """`GET activity/listforappointment[?locationId=]`."""
        params = {"locationId": location_id} if location_id else None
        return await self._call("GET", "activity/listforappointment", params=params)

    async def locations(self) -> list[Location]:
        """`GET location`."""
        return await self._call("GET", "location")

    async def location(self, location_id: str) -> Location:
        """`GET location/{id}`."""
        return await self._call("GET", f"location/{_segment(location_id)}")

    async def locations_for_activities(self, activity_ids: Sequence[str]) -> list[Location]:
        """`GET location/forappointment?selectedActivityId=...` (repeated per activity)."""
        params = [("selectedActivityId", activity_id) for activity_id in activity_ids]
        return await self._call("GET", "location/forappointment", params=params)

    async def date_range(self, activity_ids: Sequence[str]) -> DateRange:
        """`GET activity/appointmentdaterange?activityId=...`."""
        params = [("activityId", activity_id) for activity_id in activity_ids]
        return await self._call("GET", "activity/appointmentdaterange", params=params)

    async def available_times(
        self,
        location_id: str,
        from_date: date,
        to_date: date,
        activities: Sequence[tuple[str, int]],
    ) -> AvailableTimes:
        """`GET appointment/availabletimelist`; `to_date` is exclusive (equal dates give nothing).

        Activities and amounts are repeated parameters in pairs: `activityId=a&amount=1&...`.
        """
        params: list[tuple[str, str]] = [
            ("locationId", location_id),
            ("fromDate", from_date.isoformat()),
            ("toDate", to_date.isoformat()),
        ]
        for activity_id, amount in activities:
            params += [("activityId", activity_id), ("amount", str(amount))]
        return await self._call("GET", "appointment/availabletimelist", params=params)

    async def calculate_duration(self, day: date, activities: Sequence[tuple[str, int]]) -> int:
        """`GET appointment/calculateduration`: the length of an appointment in minutes."""
        params: list[tuple[str, str]] = []
        for activity_id, amount in activities:
            params += [("activityId", activity_id), ("amount", str(amount))]
        params.append(("dateTime", day.isoformat()))
        return await self._call("GET", "appointment/calculateduration", params=params)

    async def add_appointment(self, appointment: AppointmentData) -> AcknowledgeResult:
        """`POST appointment`. A refusal may come as 200 with `acknowledgeIsSuccess: false`."""
        return await self._call("POST", "appointment", json=appointment)

    async def appointment(self, appointment_id: str) -> ExistingAppointment:
        """`GET appointment?id=`."""
        return await self._call("GET", "appointment", params={"id": appointment_id})

    async def cancel_appointment(self, appointment_id: str) -> AcknowledgeResult:
        """`DELETE appointment?id=`; answers `{id}` when the appointment was cancelled."""
        return await self._call("DELETE", "appointment", params={"id": appointment_id})


def _segment(value: str) -> str:
    """One path segment, so an id can never reach another path."""
    return quote(value, safe="")
