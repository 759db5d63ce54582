"""JCC-Afspraken behind the neutral contract: JCC's payloads in, our dataclasses out.

What JCC does that the contract hides:
- times are naive and mean Amsterdam time; we send aware times with an offset;
- an appointment's end is not known from the activity: `calculateduration` answers the minutes
  for the chosen activities on that day, and `toDateTime` is the start plus those minutes;
- a refused booking may be a 200 with `acknowledgeIsSuccess: false` and a `code`, which must
  never be mistaken for success; the code is mapped via `ResultCode` (unknown codes included);
- `availabletimelist` returns nothing when fromDate equals toDate (toDate is exclusive) and Open
  Forms caps a request at 50 days, so long ranges are clipped.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from assistant.backends.appointments.base import (
    SLOT_TAKEN,
    Appointment,
    AppointmentSystem,
    Customer,
    Location,
    Product,
)
from assistant.backends.appointments.calendar import as_amsterdam
from assistant.backends.appointments.jcc import types as wire
from assistant.backends.appointments.jcc.client import JccClient
from assistant.backends.errors import BackendRejected, BackendUnavailable

MAX_RANGE_DAYS = 50  # what Open Forms learned JCC accepts in one availabletimelist request


class JccAppointments(AppointmentSystem):
    """The appointment system of a municipality that uses JCC-Afspraken."""

    system = "jcc"

    def __init__(self, client: JccClient) -> None:
        self.client = client

    async def close(self) -> None:
        await self.client.close()

    async def products(self) -> list[Product]:
        return [_product(activity) for activity in await self.client.activities()]

    async def locations(self, product: Product) -> list[Location]:
        found = await self.client.locations_for_activities([product.id])
        return [_location(location) for location in found if location.get("isActive", True)]

    async def dates(
        self, product: Product, location: Location, start: date, end: date
    ) -> list[date]:
        window = await self.client.date_range([product.id])
        first = max(start, _naive(window["minDate"]).date())
        # toDate is exclusive, so the request spans (last - first) + 1 <= MAX_RANGE_DAYS days.
        cap = first + timedelta(days=MAX_RANGE_DAYS - 1)
        last = min(end, _naive(window["maxDate"]).date(), cap)
        if last < first:
            return []
        answer = await self.client.available_times(
            location.id, first, last + timedelta(days=1), [(product.id, 1)]
        )
        days = {_naive(moment).date() for moment in answer.get("availableTimesList", [])}
        return sorted(day for day in days if first <= day <= last)

    async def times(self, product: Product, location: Location, day: date) -> list[datetime]:
        answer = await self.client.available_times(
            location.id, day, day + timedelta(days=1), [(product.id, 1)]
        )
        moments = {as_amsterdam(_naive(raw)) for raw in answer.get("availableTimesList", [])}
        return sorted(moment for moment in moments if moment.date() == day)

    async def book(
        self,
        product: Product,
        location: Location,
        start: datetime,
        customer: Customer,
        remarks: str = "",
    ) -> Appointment:
        start = as_amsterdam(start)
        minutes = await self.client.calculate_duration(start.date(), [(product.id, 1)])
        if not isinstance(minutes, int) or minutes <= 0:
            raise BackendUnavailable(self.system, f"calculateduration answered {minutes!r}")
        end = start + timedelta(minutes=minutes)
        body: wire.AppointmentData = {
            "id": None,  # JCC requires the key, null, for a new appointment
            "activityList": [{"activityId": product.id, "amount": 1}],
            "customerList": [_wire_customer(customer)],
            "fromDateTime": start.isoformat(),
            "toDateTime": end.isoformat(),
            "locationId": location.id,
            "message": remarks,
            "fieldList": None,
        }
        result = await self.client.add_appointment(body)
        if not isinstance(result, dict) or not result.get("acknowledgeIsSuccess"):
            raise _refusal(result, "booking")
        if not result.get("id"):
            raise BackendUnavailable(self.system, "booking acknowledged without an id")
        return Appointment(str(result["id"]), product, location, start, end, customer, remarks)

    async def details(self, reference: str) -> Appointment:
        found = await self.client.appointment(reference)
        lines = found.get("activityList") or []
        if not lines:
            raise BackendUnavailable(self.system, "appointment without activities")
        # The appointment holds only the location's id and name; the address needs one more call.
        location = _location(await self.client.location(found["location"]["id"]))
        return Appointment(
            reference=found["id"],
            product=_product(lines[0]["activity"]),
            location=location,
            start=as_amsterdam(_naive(found["startDateTime"])),
            end=as_amsterdam(_naive(found["endDateTime"])),
            customer=_customer(found.get("customerList") or []),
            remarks=found.get("message") or "",
        )

    async def cancel(self, reference: str) -> None:
        result = await self.client.cancel_appointment(reference)
        # The spec promises `acknowledgeIsSuccess`, JCC's test environment sends only `{id}`
        # (Open Forms' `delete_appointment`), so the echoed id is the confirmation.
        if not isinstance(result, dict) or not result.get("id"):
            raise _refusal(result, "cancellation")
        if result.get("acknowledgeIsSuccess") is False:
            raise _refusal(result, "cancellation")


def _refusal(result: object, what: str) -> BackendRejected:
    body = result if isinstance(result, dict) else {}
    raw = body.get("code")
    code = wire.ResultCode(raw)
    neutral = SLOT_TAKEN if code is wire.ResultCode.SLOT_UNAVAILABLE else code.name.lower()
    message = body.get("message") or "no message"
    return BackendRejected(
        "jcc", f"{what} refused (code {raw}): {message}", status=200, code=neutral
    )


def _naive(raw: str) -> datetime:
    return datetime.fromisoformat(raw)


def _product(activity: wire.Activity) -> Product:
    return Product(id=activity["id"], name=activity.get("description") or "")


def _location(location: wire.Location) -> Location:
    address = location.get("address") or {}
    street = address.get("streetName") or ""
    number = (address.get("houseNumber") or "") + (address.get("houseNumberSuffix") or "")
    return Location(
        id=location["id"],
        name=location.get("description") or "",
        address=f"{street} {number}".strip(),
        postcode=address.get("postalCode") or "",
        city=address.get("city") or "",
    )


def _wire_customer(customer: Customer) -> wire.Customer:
    """JCC wants a last name; "Jan van der Berg" becomes first name "Jan", last "van der Berg"."""
    first, last = customer.split_name()
    data: wire.Customer = {"id": None, "isMainCustomer": True, "gender": 0}
    if first:
        data["firstName"] = first
    data["lastName"] = last
    if customer.email:
        data["emailAddress"] = customer.email
    if customer.phone:
        data["phoneNumber"] = customer.phone
    return data


def _customer(customers: list[wire.Customer]) -> Customer | None:
    main = next(
        (c for c in customers if c.get("isMainCustomer")), customers[0] if customers else None
    )
    if main is None:
        return None
    name = " ".join(
        part
        for part in (main.get("firstName"), main.get("lastNamePrefix"), main.get("lastName"))
        if part
    )
    phone = main.get("phoneNumber") or main.get("mobilePhoneNumber") or ""
    return Customer.stored(name, main.get("emailAddress") or "", phone)
