"""The JCC sandbox's HTTP side: JCC's paths, token endpoint, status codes and bodies.

Shapes follow `reference/back-office-apis.md` and Open Forms' JCC cassettes: naive local times,
RFC 7807 bodies with a numeric `code` for errors, `{code, message, validateErrors}` when a
booking is refused, and a refused slot answered with 200 and `acknowledgeIsSuccess: false`
(how Open Forms' tests simulate JCC refusing a booking; JCC documents no status for it).
"""

from __future__ import annotations

import hmac
import secrets
import time
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import BasicAuth, web

from assistant.backends.appointments.calendar import AMSTERDAM
from assistant.sandbox.agenda_api import AgendaApi, Handler, dispose_on_cleanup
from assistant.sandbox.db import engine_for
from assistant.sandbox.jcc.store import HORIZON_DAYS, SLOT, JccStore, stable_id

# JCC documents no codes; these are the sandbox's (mirrored by ResultCode in the client's types).
CODE_INTERNAL, CODE_SLOT_UNAVAILABLE, CODE_INVALID = -1, 1001, 1002

TOKENS: web.AppKey[dict[str, float]] = web.AppKey("jcc_tokens", dict)


def create_app(
    database_url: str,
    *,
    credentials: Mapping[str, str],
    today: date | None = None,
    token_lifetime: int = 3600,
) -> web.Application:
    """The sandbox. `credentials` maps client ids to secrets; `today` fixes the date (tests);
    `token_lifetime` is in seconds (0 issues tokens that are already expired)."""
    engine = engine_for(database_url)
    store = JccStore(engine)
    store.seed()
    api = _Api(store, dict(credentials), today, token_lifetime)
    app = web.Application(middlewares=[api.internal_errors, api.authenticate])
    app[TOKENS] = api.tokens
    app.router.add_post("/connect/token", api.token, name="token")
    app.router.add_get("/version", api.version)
    app.router.add_get("/activity/listforappointment", api.activities)
    app.router.add_get("/activity/appointmentdaterange", api.date_range)
    app.router.add_get("/location", api.locations)
    app.router.add_get("/location/forappointment", api.locations)
    app.router.add_get("/location/{id}", api.location)
    app.router.add_get("/appointment/availabletimelist", api.available_times)
    app.router.add_get("/appointment/calculateduration", api.duration)
    app.router.add_post("/appointment", api.book)
    app.router.add_get("/appointment", api.appointment)
    app.router.add_delete("/appointment", api.cancel)
    dispose_on_cleanup(app, engine)
    return app


class _Api(AgendaApi[JccStore]):
    def __init__(
        self, store: JccStore, clients: dict[str, str], today: date | None, lifetime: int
    ) -> None:
        super().__init__(store, today)
        self.clients, self.lifetime = clients, lifetime
        self.tokens: dict[str, float] = {}  # token -> monotonic expiry

    def crashed(self, request: web.Request, error: Exception) -> web.Response:
        # the shape JCC's test environment answered (cassette)
        return _problem(request, 500, "InternalException", type(error).__name__, CODE_INTERNAL)

    @web.middleware
    async def authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.route.name == "token":
            return await handler(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expires = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if expires is None or time.monotonic() >= expires:
            self.tokens.pop(token, None)
            challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            return web.Response(status=401, headers=challenge)
        return await handler(request)

    async def token(self, request: web.Request) -> web.Response:
        """OAuth2 client credentials, client authenticated by HTTP Basic or in the form.

        Errors as IdentityServer (which serves JCC's `connect/token`) sends them: 400 with
        `{"error": "invalid_client" | "unsupported_grant_type" | "invalid_scope"}`.
        """
        form = await request.post()
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                basic = BasicAuth.decode(header)
            except ValueError:
                return _oauth_error("invalid_client")
            client_id, secret = basic.login, basic.password
        if form.get("grant_type") != "client_credentials":
            return _oauth_error("unsupported_grant_type")
        known = self.clients.get(client_id)
        if known is None or not hmac.compare_digest(known.encode(), secret.encode()):
            return _oauth_error("invalid_client")
        if "warp-api" not in str(form.get("scope", "")).split():
            return _oauth_error("invalid_scope")
        token = secrets.token_urlsafe(32)
        self.tokens[token] = time.monotonic() + self.lifetime
        answer = {"access_token": token, "expires_in": self.lifetime, "token_type": "Bearer"}
        return web.json_response({**answer, "scope": "warp-api"})

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"warpApiVersion": "1.0-sandbox", "afsprakenVersion": "sandbox"})

    async def activities(self, request: web.Request) -> web.Response:
        return web.json_response([_activity(row) for row in await self.db(self.store.activities)])

    async def date_range(self, request: web.Request) -> web.Response:
        first = self.today() + timedelta(days=1)
        last = self.today() + timedelta(days=HORIZON_DAYS)
        return web.json_response({"minDate": _midnight(first), "maxDate": _midnight(last)})

    async def locations(self, request: web.Request) -> web.Response:
        # Every product is offered at both offices, so `selectedActivityId` filters nothing.
        return web.json_response([_location(row) for row in await self.db(self.store.locations)])

    async def location(self, request: web.Request) -> web.Response:
        row = await self.db(self.store.location, request.match_info["id"])
        if row is None:
            return _problem(request, 404, "NotFound", "Locatie niet gevonden", CODE_INVALID)
        return web.json_response(_location(row))

    async def available_times(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            start, end = date.fromisoformat(query["fromDate"]), date.fromisoformat(query["toDate"])
            location_id, ids = query["locationId"], query.getall("activityId")
        except (KeyError, ValueError):
            return _problem(request, 400, "ValidationException", "Ongeldige parameters", 1002)
        if not await self.db(self.store.known, location_id, ids):
            return _problem(request, 400, "ValidationException", "Onbekende locatie", 1002)
        free = await self.db(self.store.free_slots, location_id, self.today(), start, end)
        return web.json_response(
            {
                "availableTimesList": [moment.isoformat() for moment in free],
                "appointmentDuration": int(SLOT.total_seconds()) * len(ids),
            }
        )

    async def duration(self, request: web.Request) -> web.Response:
        ids = request.query.getall("activityId", [])
        if not ids or not await self.db(self.store.known, None, ids):
            return _problem(request, 400, "ValidationException", "Onbekende activiteit", 1002)
        amounts = [int(amount) for amount in request.query.getall("amount", ["1"] * len(ids))]
        return web.json_response(int(SLOT.total_seconds() // 60) * sum(amounts))

    async def book(self, request: web.Request) -> web.Response:
        try:
            new = _booking(await request.json())
        except (ValueError, KeyError, TypeError, StopIteration) as error:
            return _refused(400, CODE_INVALID, "De afspraak is niet geldig", str(error))
        place, activity = new["location_id"], new["activity_id"]
        if not await self.db(self.store.known, place, [activity]):
            return _refused(400, CODE_INVALID, "De afspraak is niet geldig", "locationId")
        free = await self.free_on(place, new["starts_at"].date())
        if new["starts_at"] not in free or not await self.db(self.store.add, new):
            message = "Het gekozen tijdstip is niet meer beschikbaar"
            return _refused(200, CODE_SLOT_UNAVAILABLE, message, "fromDateTime")
        return web.json_response({"id": new["id"], "acknowledgeIsSuccess": True})

    async def appointment(self, request: web.Request) -> web.Response:
        found = await self.db(self.store.appointment, request.query.get("id", ""))
        if found is None:
            return _problem(request, 404, "NotFound", "Afspraak niet gevonden", CODE_INVALID)
        return web.json_response(_appointment(found))

    async def cancel(self, request: web.Request) -> web.Response:
        appointment_id = request.query.get("id", "")
        if not await self.db(self.store.remove, appointment_id):
            return _problem(request, 404, "NotFound", "Afspraak niet gevonden", CODE_INVALID)
        return web.json_response({"id": appointment_id})


def _booking(body: Any) -> dict[str, Any]:
    """The row to store for a `POST appointment` body; raises on what JCC would refuse."""
    if not isinstance(body, dict) or "id" not in body or body["id"] is not None:
        raise ValueError("id moet null zijn voor een nieuwe afspraak")
    (line,) = body["activityList"]
    if int(line["amount"]) != 1:
        raise ValueError("amount moet 1 zijn")
    main = next(customer for customer in body["customerList"] if customer.get("isMainCustomer"))
    if not main.get("lastName"):
        raise ValueError("lastName is verplicht")
    start, end = _local(body["fromDateTime"]), _local(body["toDateTime"])
    if end - start != SLOT:
        raise ValueError("toDateTime past niet bij de duur van de afspraak")
    return {
        "id": str(uuid.uuid4()),
        "activity_id": str(line["activityId"]),
        "location_id": str(body["locationId"]),
        "starts_at": start,
        "ends_at": end,
        "first_name": main.get("firstName") or "",
        "last_name": main["lastName"],
        "email": main.get("emailAddress") or "",
        "phone": main.get("phoneNumber") or main.get("mobilePhoneNumber") or "",
        "message": body.get("message") or "",
        "created_at": datetime.now(AMSTERDAM).replace(tzinfo=None),
    }


def _appointment(found: Mapping[str, Any]) -> dict[str, Any]:
    customer = {
        "id": stable_id("customer", found["id"]),
        "isMainCustomer": True,
        "gender": 0,
        "firstName": found["first_name"],
        "lastName": found["last_name"],
    }
    if found["email"]:
        customer["emailAddress"] = found["email"]
    if found["phone"]:
        customer["phoneNumber"] = found["phone"]
    activity, place = found["activity"], found["location"]
    return {
        "id": found["id"],
        "number": found["number"],
        "startDateTime": found["starts_at"].isoformat(),
        "endDateTime": found["ends_at"].isoformat(),
        "activityList": [{"amount": 1, "activity": _activity(activity)}] if activity else [],
        "customerList": [customer],
        "location": {"id": found["location_id"], "description": place and place["description"]},
        "message": found["message"],
        "fieldList": [],
        "creationDateTime": found["created_at"].isoformat(timespec="milliseconds"),
    }


def _activity(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "number": row["number"],
        "description": row["description"],
        "appointmentDuration": row["duration_seconds"],
        "maxCountForEvent": 1,
    }


def _location(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "description": row["description"],
        "isActive": True,
        "isDefault": row["number"] == 1,
        "locationNumber": row["number"],
        "address": {
            "streetName": row["street"],
            "houseNumber": row["house_number"],
            "postalCode": row["postal_code"],
            "city": row["city"],
            "country": {"isoCode": "NL", "name": "Nederland"},
        },
    }


def _midnight(day: date) -> str:
    return f"{day.isoformat()}T00:00:00"


def _local(raw: str) -> datetime:
    """A JCC datetime as naive Amsterdam time (an offset, if sent, is honoured)."""
    moment = datetime.fromisoformat(raw)
    return moment if moment.tzinfo is None else moment.astimezone(AMSTERDAM).replace(tzinfo=None)


def _oauth_error(error: str) -> web.Response:
    return web.json_response({"error": error}, status=400)


def _refused(status: int, code: int, message: str, detail: str) -> web.Response:
    """JCC's refusal of a booking: `{code, message, validateErrors}`, not acknowledged."""
    body = {"id": None, "acknowledgeIsSuccess": False, "code": code, "message": message}
    return web.json_response({**body, "validateErrors": [detail]}, status=status)


def _problem(request: web.Request, status: int, title: str, detail: str, code: int) -> web.Response:
    """JCC's RFC 7807 error body, as in Open Forms' cassettes."""
    body = {
        "title": title,
        "detail": detail,
        "instance": request.path,
        "type": f"http://www.jccsoftware.nl/rfc7807/{title.lower()}",
        "status": status,
        "code": code,
        "errors": [{"code": code, "name": title, "detail": detail}],
    }
    return web.json_response(body, status=status, content_type="application/problem+json")
