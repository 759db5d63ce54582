"""Qmatic Orchestra Calendar behind the neutral contract: Qmatic's payloads in, our dataclasses out.

What Qmatic does that the contract hides:
- dates and times are naive in the branch's `timeZone`; we read the zone once per branch
  (Open Forms does the same) and answer in Europe/Amsterdam;
- the dates call takes no range, so the range is applied here;
- booking puts the date and time in the path, in branch time, and answers the appointment with
  `start`/`end` in UTC ("+0000" or "+00:00", both seen in Open Forms' mocks);
- a slot that is no longer free is refused with 409 (our sandbox; the public documentation we
  have does not show this case), mapped to SLOT_TAKEN;
- branches without a postcode are not physical desks (Open Forms filters them out too).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assistant.backends.appointments.base import (
    SLOT_TAKEN,
    Appointment,
    AppointmentSystem,
    Customer,
    Location,
    Product,
)
from assistant.backends.appointments.calendar import AMSTERDAM, as_amsterdam
from assistant.backends.appointments.qmatic import types as wire
from assistant.backends.appointments.qmatic.client import QmaticClient
from assistant.backends.errors import BackendRejected, BackendUnavailable

BOOKING_TITLE = "Afspraak via de digitale assistent"


class QmaticAppointments(AppointmentSystem):
    """The appointment system of a municipality that uses Qmatic Orchestra Calendar."""

    system = "qmatic"

    def __init__(self, client: QmaticClient) -> None:
        self.client = client
        self._zones: dict[str, ZoneInfo] = {}

    async def close(self) -> None:
        await self.client.close()

    async def products(self) -> list[Product]:
        answer = await self.client.services()
        return [
            Product(id=service["publicId"], name=service["name"])
            for service in answer.get("serviceList", [])
            if service.get("active") and service.get("publicEnabled")
        ]

    async def locations(self, product: Product) -> list[Location]:
        answer = await self.client.branches(product.id)
        return [
            _location(branch) for branch in answer.get("branchList", []) if branch.get("addressZip")
        ]

    async def dates(
        self, product: Product, location: Location, start: date, end: date
    ) -> list[date]:
        answer = await self.client.dates(location.id, [product.id])
        days = {datetime.fromisoformat(raw).date() for raw in answer.get("dates", [])}
        return sorted(day for day in days if start <= day <= end)

    async def times(self, product: Product, location: Location, day: date) -> list[datetime]:
        zone = await self._zone(location.id)
        answer = await self.client.times(location.id, day, [product.id])
        moments = {
            datetime.combine(day, time.fromisoformat(raw), tzinfo=zone).astimezone(AMSTERDAM)
            for raw in answer.get("times", [])
        }
        return sorted(moments)

    async def book(
        self,
        product: Product,
        location: Location,
        start: datetime,
        customer: Customer,
        remarks: str = "",
    ) -> Appointment:
        zone = await self._zone(location.id)
        local = as_amsterdam(start).astimezone(zone)
        booking: wire.BookingRequest = {
            "title": BOOKING_TITLE,
            "customers": [_wire_customer(customer)],
            "services": [{"publicId": product.id}],
            "notes": remarks,
        }
        try:
            answer = await self.client.book(location.id, local, booking)
        except BackendRejected as error:
            if error.status == 409:
                raise BackendRejected(
                    self.system, "the time is no longer free", status=409, code=SLOT_TAKEN
                ) from None
            raise
        if not isinstance(answer, dict) or not answer.get("publicId"):
            raise BackendUnavailable(self.system, "booking answered without a publicId")
        return Appointment(
            reference=answer["publicId"],
            product=product,
            location=location,
            start=_utc(answer["start"]),
            end=_utc(answer["end"]),
            customer=customer,
            remarks=remarks,
        )

    async def details(self, reference: str) -> Appointment:
        answer = await self.client.appointment(reference)
        found = answer.get("appointment") if isinstance(answer, dict) else None
        if not found or not found.get("services"):
            raise BackendUnavailable(self.system, "appointment answer without services")
        service = found["services"][0]
        return Appointment(
            reference=found["publicId"],
            product=Product(id=service["publicId"], name=service.get("name") or ""),
            location=_location(found["branch"]),
            start=_utc(found["start"]),
            end=_utc(found["end"]),
            customer=_customer(found.get("customers") or []),
            remarks=found.get("notes") or "",
        )

    async def cancel(self, reference: str) -> None:
        await self.client.delete_appointment(reference)

    async def _zone(self, branch_id: str) -> ZoneInfo:
        """The branch's time zone, asked once per branch; an unknown zone name means Amsterdam."""
        if branch_id not in self._zones:
            answer = await self.client.branch(branch_id)
            name = (answer.get("branch") or {}).get("timeZone") or "Europe/Amsterdam"
            try:
                self._zones[branch_id] = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                self._zones[branch_id] = AMSTERDAM
        return self._zones[branch_id]


_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


def _utc(raw: str) -> datetime:
    """Qmatic's "2016-11-10T11:30:00.000+0000" (or "+00:00", or "Z") as Amsterdam time.

    Python 3.10's `fromisoformat` reads neither "+0000" nor "Z", hence the rewrite.
    """
    text = raw.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = _COMPACT_OFFSET.sub(r"\1:\2", text)
    return as_amsterdam(datetime.fromisoformat(text))


def _location(branch: wire.Branch) -> Location:
    lines = (branch.get("addressLine1"), branch.get("addressLine2"))
    return Location(
        id=branch["publicId"],
        name=branch.get("name") or "",
        address=" ".join(line for line in lines if line),
        postcode=branch.get("addressZip") or "",
        city=branch.get("addressCity") or "",
    )


def _wire_customer(customer: Customer) -> wire.BookingCustomer:
    first, last = customer.split_name()
    data: wire.BookingCustomer = {"lastName": last}
    if first:
        data["firstName"] = first
    if customer.email:
        data["email"] = customer.email
    if customer.phone:
        data["phone"] = customer.phone
    return data


def _customer(customers: list[wire.Customer]) -> Customer | None:
    if not customers:
        return None
    first = customers[0]
    name = first.get("name") or " ".join(
        part for part in (first.get("firstName"), first.get("lastName")) if part
    )
    return Customer.stored(name, first.get("email") or "", first.get("phone") or "")
