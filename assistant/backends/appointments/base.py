"""The neutral appointment contract: what an action may ask of any appointment system.

Modelled on Open Forms' `appointments/base.py`. JCC, Qmatic and the sandboxes implement
`AppointmentSystem`; actions know only these types and the errors in `assistant.backends.errors`.
Vendor words (`activityId`, `branchPublicId`) stop at the plugin that translates them.

Reads degrade, writes fail loudly: a caller may turn a failed `dates`/`times` into "no times
available online, call us", but `book`, `cancel` and `reschedule` always raise on failure, so a
resident is never told something was booked or cancelled that the backend did not confirm.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime

from assistant.backends.errors import BackendError, NotFound

# `BackendRejected.code` when the chosen time was taken (by someone else) before booking.
# Plugins translate their vendor's way of saying so into this, so actions can offer other times.
SLOT_TAKEN = "slot_taken"


@dataclass(frozen=True)
class Product:
    """Something a resident can make an appointment for ("Paspoort aanvragen")."""

    id: str
    name: str


@dataclass(frozen=True)
class Location:
    """A desk where the appointment takes place."""

    id: str
    name: str
    address: str = ""
    postcode: str = ""
    city: str = ""


@dataclass(frozen=True)
class Customer:
    """Who the appointment is for. An e-mail address or a phone number is required: it is how
    the backend sends the confirmation, and how `verify_owner` recognises the resident later."""

    name: str
    email: str = ""
    phone: str = ""

    def __post_init__(self) -> None:
        if not (self.email.strip() or self.phone.strip()):
            raise ValueError("A customer needs an e-mail address or a phone number.")

    @classmethod
    def stored(cls, name: str, email: str, phone: str) -> Customer | None:
        """The customer a backend answered, or None when it kept no contact to verify with."""
        if not (email or phone):
            return None
        return cls(name=name, email=email, phone=phone)

    def split_name(self) -> tuple[str, str]:
        """First and last name, as both vendors store them apart: "Jan van der Berg" gives
        ("Jan", "van der Berg"); a single name is the last name, with first name ""."""
        first, _, rest = self.name.strip().partition(" ")
        return (first, rest) if rest else ("", first)


@dataclass(frozen=True)
class Appointment:
    """A booked appointment. `start` and `end` are aware datetimes in Europe/Amsterdam.

    `customer` is what the backend stored (None if it did not say); it is left out of `repr` so
    contact details do not end up in logs.
    """

    reference: str
    product: Product
    location: Location
    start: datetime
    end: datetime
    customer: Customer | None = field(default=None, repr=False, compare=False)
    remarks: str = field(default="", repr=False, compare=False)


class AppointmentSystem(ABC):
    """One municipality's appointment backend. `system` names it in errors and logs."""

    system = "appointments"

    @abstractmethod
    async def products(self) -> list[Product]:
        """Every product a resident can book online.

        Raises BackendUnavailable (timeout, 5xx) or BackendRejected (e.g. refused credentials).
        """

    @abstractmethod
    async def locations(self, product: Product) -> list[Location]:
        """The locations where `product` can be booked; may be empty.

        Raises BackendUnavailable or BackendRejected.
        """

    @abstractmethod
    async def dates(
        self, product: Product, location: Location, start: date, end: date
    ) -> list[date]:
        """Days from `start` to `end` (both included) with at least one free time, ascending.

        Raises BackendUnavailable or BackendRejected; a caller may show "no dates online" instead.
        """

    @abstractmethod
    async def times(self, product: Product, location: Location, day: date) -> list[datetime]:
        """Free start times on `day`, ascending, as aware Europe/Amsterdam datetimes.

        Raises BackendUnavailable or BackendRejected; a caller may show "no times online" instead.
        """

    @abstractmethod
    async def book(
        self,
        product: Product,
        location: Location,
        start: datetime,
        customer: Customer,
        remarks: str = "",
    ) -> Appointment:
        """Book `start` (an aware datetime) and return the appointment the backend confirmed.

        Raises BackendRejected with code SLOT_TAKEN when the time is no longer free, another
        BackendRejected when the backend refused the booking, BackendUnavailable when it could
        not be reached (then nothing is known to be booked). Never returns without confirmation.
        """

    @abstractmethod
    async def details(self, reference: str) -> Appointment:
        """The appointment with `reference`, including the customer the backend stored.

        Raises NotFound for an unknown (or cancelled) reference, BackendUnavailable or
        BackendRejected.
        """

    @abstractmethod
    async def cancel(self, reference: str) -> None:
        """Cancel the appointment; returns only when the backend confirmed it.

        Raises NotFound for an unknown reference, BackendRejected, BackendUnavailable.
        """

    async def close(self) -> None:
        """Release connections this system opened (none by default)."""
        return None

    async def verify_owner(self, reference: str, email_or_phone: str) -> Appointment:
        """The appointment, but only for the resident who booked it.

        `email_or_phone` must match the e-mail address (ignoring case) or phone number (as a
        Dutch national number, ignoring spaces, dashes and +31/0031) given at booking. A wrong
        contact raises exactly the same NotFound as an unknown reference, so nobody can find out
        which references exist by trying them. Raises BackendUnavailable or BackendRejected
        when the backend cannot answer.
        """
        unknown = NotFound(self.system, "no appointment with this reference and contact")
        try:
            appointment = await self.details(reference)
        except NotFound:
            raise unknown from None
        if appointment.customer is None or not contact_matches(
            appointment.customer, email_or_phone
        ):
            raise unknown
        return appointment

    async def reschedule(
        self,
        reference: str,
        new_start: datetime,
        *,
        location: Location | None = None,
        customer: Customer | None = None,
    ) -> Appointment:
        """Move an appointment to `new_start` (optionally elsewhere) and return the new one.

        There is no update call in JCC or Qmatic, so this books the new time first and cancels
        the old appointment only after the new one is confirmed: a failed reschedule leaves
        the resident with the old appointment. `customer` is needed only when the backend does
        not return the one stored with the appointment.

        Raises NotFound (unknown reference), BackendRejected (SLOT_TAKEN when the new time is
        taken) or BackendUnavailable; in every case the old appointment still stands, except
        when even its state cannot be read any more (then both may exist; never neither).
        """
        old = await self.details(reference)
        who = customer or old.customer
        if who is None:
            raise ValueError("The backend returned no customer; pass `customer` to reschedule.")
        new = await self.book(
            old.product, location or old.location, new_start, who, remarks=old.remarks
        )
        try:
            await self.cancel(old.reference)
        except BackendError as error:
            try:
                await self.details(old.reference)
            except NotFound:
                return new  # the cancel did take effect; only its answer was lost
            except BackendError:
                raise error from None  # state unknown: two appointments beat none
            # The old one is certainly still there: undo the new booking so exactly one remains.
            with suppress(BackendError):
                await self.cancel(new.reference)
            raise error
        return new


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def contact_matches(customer: Customer, email_or_phone: str) -> bool:
    """Whether `email_or_phone` is the customer's e-mail address or phone number."""
    given = email_or_phone.strip()
    if _EMAIL.match(given):
        return bool(customer.email) and customer.email.strip().casefold() == given.casefold()
    number = dutch_national_number(given)
    return bool(number) and number == dutch_national_number(customer.phone)


def dutch_national_number(phone: str) -> str:
    """Digits of a phone number in Dutch national form: "+31 6-1234 5678" -> "0612345678".

    Returns "" when there are no digits, so an empty number never matches an empty number.
    """
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+") and digits.startswith("31"):
        return "0" + digits[2:]
    if digits.startswith("0031"):
        return "0" + digits[4:]
    if digits.startswith("31") and len(digits) == 11:  # 31612345678 without the plus
        return "0" + digits[2:]
    return digits
