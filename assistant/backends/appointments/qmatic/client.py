"""HTTP to Qmatic Orchestra Calendar: one method per endpoint, nothing translated (see `plugin.py`).

Qmatic authenticates with an `X-Api-Key` header and takes its filters as matrix parameters in
the path (`dates;servicePublicId=A;servicePublicId=B`), not as a query string. The base URL is the
API root (`.../calendar-backend/public/api/`); every path starts with its version (`v1/`, `v2/`).

A 500 from Qmatic says what went wrong only in its `error_message` header (Open Forms' client
reads it there); `error_detail` adds that text to the BackendUnavailable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from assistant.backends.appointments.qmatic.types import (
    Appointment,
    AppointmentDetail,
    BookingRequest,
    BranchDetail,
    BranchList,
    DateList,
    ServiceList,
    TimeList,
)
from assistant.backends.errors import NotConfigured
from assistant.backends.http import DEFAULT_TIMEOUT_SECONDS, JsonClient


class QmaticClient(JsonClient):
    """A client for one Qmatic Calendar installation."""

    system = "qmatic"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        missing = [
            name for name, value in (("base URL", base_url), ("API key", api_key)) if not value
        ]
        if missing:
            raise NotConfigured(self.system, f"Qmatic needs a {' and '.join(missing)}")
        super().__init__(base_url, session=session, timeout=timeout)
        self._api_key = api_key

    async def request_headers(self, method: str) -> Mapping[str, str]:
        return {"X-Api-Key": self._api_key}

    def error_code(self, status: int, body: Any, headers: Mapping[str, str]) -> str | None:
        """Qmatic sends no error codes, only text (`error_message` header, `msg` in the body)."""
        return None

    def error_detail(self, status: int, body: Any, headers: Mapping[str, str]) -> str | None:
        """The `error_message` header, Qmatic's only explanation of a 500."""
        return headers.get("error_message") or None

    async def services(self, branch_id: str = "") -> ServiceList:
        """`GET v1/services` or `GET v1/branches/{b}/services`."""
        path = f"v1/branches/{_segment(branch_id)}/services" if branch_id else "v1/services"
        return await self.request("GET", path)

    async def branches(self, service_id: str = "") -> BranchList:
        """`GET v1/branches` or `GET v1/services/{s}/branches` (the branches offering it)."""
        path = f"v1/services/{_segment(service_id)}/branches" if service_id else "v1/branches"
        return await self.request("GET", path)

    async def branch(self, branch_id: str) -> BranchDetail:
        """`GET v1/branches/{b}`."""
        return await self.request("GET", f"v1/branches/{_segment(branch_id)}")

    async def dates(
        self, branch_id: str, service_ids: Sequence[str], customers: int = 1
    ) -> DateList:
        """`GET v2/branches/{b}/dates;servicePublicId=...`. The API takes no date range."""
        path = f"v2/branches/{_segment(branch_id)}/dates{_matrix(service_ids, customers)}"
        return await self.request("GET", path)

    async def times(
        self, branch_id: str, day: date, service_ids: Sequence[str], customers: int = 1
    ) -> TimeList:
        """`GET v2/branches/{b}/dates/{YYYY-MM-DD}/times;servicePublicId=...`."""
        path = (
            f"v2/branches/{_segment(branch_id)}/dates/{day.isoformat()}"
            f"/times{_matrix(service_ids, customers)}"
        )
        return await self.request("GET", path)

    async def book(self, branch_id: str, start: datetime, booking: BookingRequest) -> Appointment:
        """`POST v2/branches/{b}/dates/{day}/times/{HH:MM}/book`; `start` in branch time."""
        path = (
            f"v2/branches/{_segment(branch_id)}/dates/{start.date().isoformat()}"
            f"/times/{start.strftime('%H:%M')}/book"
        )
        return await self.request("POST", path, json=booking)

    async def appointment(self, public_id: str) -> AppointmentDetail:
        """`GET v1/appointments/{publicId}`."""
        return await self.request("GET", f"v1/appointments/{_segment(public_id)}")

    async def delete_appointment(self, public_id: str) -> None:
        """`DELETE v1/appointments/{publicId}`: 404 (NotFound) when there is no such appointment."""
        await self.request("DELETE", f"v1/appointments/{_segment(public_id)}")


def _matrix(service_ids: Sequence[str], customers: int) -> str:
    """`;servicePublicId=A;servicePublicId=B[;numberOfCustomers=N]`.

    Qmatic counts the *additional* customers: numberOfCustomers is the total minus one, and is
    left out for a single person (as Open Forms does).
    """
    parameters = [f"servicePublicId={_segment(service_id)}" for service_id in service_ids]
    if customers > 1:
        parameters.append(f"numberOfCustomers={customers - 1}")
    return "".join(f";{parameter}" for parameter in parameters)


def _segment(value: str) -> str:
    """One path segment (or matrix value): an id can never add a segment or a parameter."""
    return quote(value, safe="")
