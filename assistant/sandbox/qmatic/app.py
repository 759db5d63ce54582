"""The Qmatic sandbox's HTTP side: Qmatic's paths with matrix parameters, status codes and bodies.

Shapes follow `reference/back-office-apis.md` and Open Forms' Qmatic mocks (`tests/mock/*.json`):
lists wrapped as `{notifications, meta, <key>}`, naive dates and "HH:MM" times in branch time,
appointment `start`/`end` in UTC ("+0000" when booking, "+00:00" when read, as in the mocks).
Errors: an unexpected failure (including a malformed date in the path, which the real Java
service does not catch either) is a 500 whose text is in the `error_message` header; a slot that
is not (or no longer) free is a 409 (our choice: the documentation we have shows no such case).
"""

from __future__ import annotations

import hmac
import time as clock
import uuid
from collections.abc import Collection, Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from aiohttp import web

from assistant.sandbox.agenda_api import AgendaApi, Handler, dispose_on_cleanup
from assistant.sandbox.db import engine_for
from assistant.sandbox.qmatic.store import HORIZON_DAYS, QmaticStore

MATRIX = r"{matrix:(?:;[^/]*)?}"  # matrix parameters, e.g. ";servicePublicId=A;numberOfCustomers=1"


def create_app(
    database_url: str, *, api_keys: Collection[str], today: date | None = None
) -> web.Application:
    """The sandbox. `api_keys` are the accepted `X-Api-Key` values; `today` fixes the date."""
    engine = engine_for(database_url)
    store = QmaticStore(engine)
    store.seed()
    api = _Api(store, frozenset(api_keys), today)
    app = web.Application(middlewares=[api.internal_errors, api.authenticate])
    app.router.add_get("/v1/services", api.services)
    app.router.add_get("/v1/services/{service}/branches", api.branches)
    app.router.add_get("/v1/branches", api.branches)
    app.router.add_get("/v1/branches/{branch}", api.branch)
    app.router.add_get("/v1/branches/{branch}/services", api.services)
    app.router.add_get("/v2/branches/{branch}/dates" + MATRIX, api.dates)
    app.router.add_get("/v2/branches/{branch}/dates/{day}/times" + MATRIX, api.times)
    app.router.add_post("/v2/branches/{branch}/dates/{day}/times/{time}/book", api.book)
    app.router.add_get("/v1/appointments/{id}", api.appointment)
    app.router.add_delete("/v1/appointments/{id}", api.cancel)
    dispose_on_cleanup(app, engine)
    return app


class _Api(AgendaApi[QmaticStore]):
    def __init__(self, store: QmaticStore, keys: frozenset[str], today: date | None) -> None:
        super().__init__(store, today)
        self.keys = keys

    def crashed(self, request: web.Request, error: Exception) -> web.Response:
        return _error(500, f"{type(error).__name__}: {error}", "An error occured.")

    @web.middleware
    async def authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("X-Api-Key", "").encode()
        if not any(hmac.compare_digest(given, key.encode()) for key in self.keys):
            return web.json_response({"msg": "Unauthorized"}, status=401)
        return await handler(request)

    async def services(self, request: web.Request) -> web.Response:
        branch_id = request.match_info.get("branch")
        if branch_id is not None and await self.db(self.store.branch, branch_id) is None:
            return _error(404, "Branch not found")
        rows = await self.db(self.store.services)  # every service is offered at every branch
        return _listing("serviceList", [_service(row) for row in rows])

    async def branches(self, request: web.Request) -> web.Response:
        service_id = request.match_info.get("service")
        if service_id is not None and await self.db(self.store.service, service_id) is None:
            return _error(404, "Service not found")
        rows = await self.db(self.store.branches)
        return _listing("branchList", [_branch(row) for row in rows])

    async def branch(self, request: web.Request) -> web.Response:
        row = await self.db(self.store.branch, request.match_info["branch"])
        if row is None:
            return _error(404, "Branch not found")
        return web.json_response({**_envelope(1), "branch": _branch(row)})

    async def dates(self, request: web.Request) -> web.Response:
        failure = await self._check(request)
        if failure is not None:
            return failure
        first = self.today() + timedelta(days=1)
        end = self.today() + timedelta(days=HORIZON_DAYS + 1)
        free = await self.db(
            self.store.free_slots, request.match_info["branch"], self.today(), first, end
        )
        days = sorted({moment.date() for moment in free})
        return _listing("dates", [f"{day.isoformat()}T00:00:00" for day in days])

    async def times(self, request: web.Request) -> web.Response:
        day = date.fromisoformat(request.match_info["day"])  # malformed: 500, as Qmatic does
        failure = await self._check(request)
        if failure is not None:
            return failure
        free = await self.free_on(request.match_info["branch"], day)
        return _listing("times", [moment.strftime("%H:%M") for moment in free])

    async def book(self, request: web.Request) -> web.Response:
        start = datetime.combine(
            date.fromisoformat(request.match_info["day"]),
            time.fromisoformat(request.match_info["time"]),
        )
        branch = await self.db(self.store.branch, request.match_info["branch"])
        if branch is None:
            return _error(404, "Branch not found")
        body = await request.json()
        customers = body.get("customers") if isinstance(body, dict) else None
        wanted = body.get("services") if isinstance(body, dict) else None
        if not customers or not isinstance(customers[0], dict) or not wanted:
            return _error(400, "customers and services are required")
        if len(wanted) != 1:
            return _error(400, "The sandbox books exactly one service per appointment")
        service = await self.db(self.store.service, str(wanted[0].get("publicId")))
        if service is None:
            return _error(400, "Unknown service")
        free = await self.free_on(branch["public_id"], start.date())
        customer = customers[0]
        row = {
            "public_id": uuid.uuid4().hex,
            "branch_id": branch["public_id"],
            "service_id": service["public_id"],
            "starts_at": start,
            "ends_at": start + timedelta(minutes=service["duration"]),
            "title": str(body.get("title") or ""),
            "notes": str(body.get("notes") or ""),
            "first_name": str(customer.get("firstName") or ""),
            "last_name": str(customer.get("lastName") or ""),
            "email": str(customer.get("email") or ""),
            "phone": str(customer.get("phone") or ""),
            "created_ms": int(clock.time() * 1000),
        }
        if start not in free or not await self.db(self.store.add, row):
            return _error(409, "Timeslot is not available")
        booked = {**row, "service": service, "branch": branch}
        return web.json_response(_appointment(booked, "+0000"))

    async def appointment(self, request: web.Request) -> web.Response:
        found = await self.db(self.store.appointment, request.match_info["id"])
        if found is None:
            return _error(404, "Appointment not found")
        return web.json_response({**_envelope(1), "appointment": _appointment(found, "+00:00")})

    async def cancel(self, request: web.Request) -> web.Response:
        if not await self.db(self.store.remove, request.match_info["id"]):
            return _error(404, "Appointment not found")
        return web.Response(status=204)

    async def _check(self, request: web.Request) -> web.Response | None:
        """The branch and the `servicePublicId` matrix parameters must exist."""
        parameters = matrix_parameters(request.match_info.get("matrix", ""))
        if "numberOfCustomers" in parameters:
            int(parameters["numberOfCustomers"][0])  # not a number: 500, as Qmatic does
        if await self.db(self.store.branch, request.match_info["branch"]) is None:
            return _error(404, "Branch not found")
        service_ids = parameters.get("servicePublicId", [])
        if not service_ids:
            return _error(400, "servicePublicId is required")
        for service_id in service_ids:
            if await self.db(self.store.service, service_id) is None:
                return _error(404, "Service not found")
        return None


def matrix_parameters(matrix: str) -> dict[str, list[str]]:
    """ ";a=1;a=2;b=3" -> {"a": ["1", "2"], "b": ["3"]} (values percent-decoded)."""
    found: dict[str, list[str]] = {}
    for part in matrix.split(";"):
        if part:
            name, _, value = part.partition("=")
            found.setdefault(unquote(name), []).append(unquote(value))
    return found


def _envelope(total: int) -> dict[str, Any]:
    meta = {"start": "", "end": "", "totalResults": total, "offset": None, "limit": None}
    return {"notifications": [], "meta": {**meta, "fields": "", "arguments": {}}}


def _listing(key: str, items: list[Any]) -> web.Response:
    return web.json_response({**_envelope(len(items)), key: items})


def _error(status: int, text: str, body_text: str | None = None) -> web.Response:
    """Qmatic's error: the text in the `error_message` header, `{"msg": ...}` as the body."""
    headers = {"error_message": text}
    return web.json_response({"msg": body_text or text}, status=status, headers=headers)


def _service(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "publicId": row["public_id"],
        "name": row["name"],
        "duration": row["duration"],
        "additionalCustomerDuration": row["additional_customer_duration"],
        "active": row["active"],
        "publicEnabled": row["public_enabled"],
        "custom": None,
    }


def _branch(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "publicId": row["public_id"],
        "name": row["name"],
        "addressLine1": row["address_line1"],
        "addressLine2": None,
        "addressZip": row["address_zip"],
        "addressCity": row["address_city"],
        "addressState": "Overijssel",
        "addressCountry": "Nederland",
        "phone": row["phone"],
        "email": None,
        "timeZone": row["time_zone"],
        "fullTimeZone": row["time_zone"],
        "branchPrefix": None,
        "custom": None,
    }


def _appointment(found: Mapping[str, Any], offset: str) -> dict[str, Any]:
    branch, service = found["branch"], found["service"]
    zone = ZoneInfo(branch["time_zone"])
    customer = {
        "publicId": uuid.uuid5(uuid.NAMESPACE_OID, found["public_id"]).hex,
        "firstName": found["first_name"] or None,
        "lastName": found["last_name"] or None,
        "name": f"{found['first_name']} {found['last_name']}".strip(),
        "email": found["email"] or None,
        "phone": found["phone"] or None,
    }
    return {
        "publicId": found["public_id"],
        "title": found["title"],
        "notes": found["notes"],
        "status": 20,
        "allDay": False,
        "blocking": False,
        "start": _utc(found["starts_at"], zone, offset),
        "end": _utc(found["ends_at"], zone, offset),
        "created": found["created_ms"],
        "updated": found["created_ms"],
        "services": [_service(service)] if service else [],
        "customers": [customer],
        "branch": _branch(branch),
        "resource": {"name": "Balie"},
        "custom": None,
    }


def _utc(local: datetime, zone: ZoneInfo, offset: str) -> str:
    moment = local.replace(tzinfo=zone).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000") + offset
