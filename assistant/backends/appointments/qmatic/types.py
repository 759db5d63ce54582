"""Wire types of the Qmatic Orchestra Calendar Public Appointment API, with Qmatic's own names.

Source: Qmatic's "Calendar Public Appointment API" (July 2017) as used by Open Forms
(`appointments/contrib/qmatic/client.py`, `plugin.py` and the responses in `tests/mock/*.json`).
Lists come wrapped as `{notifications, meta, <key>}`; a 500 carries its text in the `error_message`
header. Only the fields we read or send are typed.
"""

from __future__ import annotations

from typing import Any, TypedDict

from typing_extensions import NotRequired


class Meta(TypedDict):
    start: NotRequired[str]
    end: NotRequired[str]
    totalResults: int
    offset: NotRequired[int | None]
    limit: NotRequired[int | None]
    fields: NotRequired[str]
    arguments: NotRequired[dict[str, Any]]


class Service(TypedDict):
    """A product. `duration` and `additionalCustomerDuration` are minutes."""

    publicId: str
    name: str
    duration: int
    additionalCustomerDuration: int
    active: bool
    publicEnabled: bool
    custom: NotRequired[str | None]


class Branch(TypedDict):
    """A location; `timeZone` is the zone the branch's naive dates and times are in."""

    publicId: str
    name: str
    addressLine1: NotRequired[str | None]
    addressLine2: NotRequired[str | None]
    addressZip: NotRequired[str | None]
    addressCity: NotRequired[str | None]
    addressCountry: NotRequired[str | None]
    phone: NotRequired[str | None]
    email: NotRequired[str | None]
    timeZone: str
    fullTimeZone: NotRequired[str]


class ServiceList(TypedDict):
    """`GET v1/services`, `GET v1/branches/{b}/services`."""

    notifications: list[Any]
    meta: Meta
    serviceList: list[Service]


class BranchList(TypedDict):
    """`GET v1/branches`, `GET v1/services/{s}/branches`."""

    notifications: list[Any]
    meta: Meta
    branchList: list[Branch]


class BranchDetail(TypedDict):
    """`GET v1/branches/{b}`."""

    branch: Branch


class DateList(TypedDict):
    """`GET v2/branches/{b}/dates;servicePublicId=X`: naive midnights, "2016-11-08T00:00:00"."""

    notifications: list[Any]
    meta: Meta
    dates: list[str]


class TimeList(TypedDict):
    """`GET v2/branches/{b}/dates/{day}/times;servicePublicId=X`: "09:00" in branch time."""

    notifications: list[Any]
    meta: Meta
    times: list[str]


class BookingCustomer(TypedDict):
    firstName: NotRequired[str]
    lastName: str
    email: NotRequired[str]
    phone: NotRequired[str]
    dateOfBirth: NotRequired[str]


class ServiceRef(TypedDict):
    publicId: str


class BookingRequest(TypedDict):
    """The body of `POST v2/branches/{b}/dates/{day}/times/{HH:MM}/book`."""

    title: str
    customers: list[BookingCustomer]
    services: list[ServiceRef]
    notes: NotRequired[str]


class Customer(TypedDict):
    publicId: NotRequired[str]
    name: NotRequired[str]
    firstName: NotRequired[str | None]
    lastName: NotRequired[str | None]
    email: NotRequired[str | None]
    phone: NotRequired[str | None]


class Appointment(TypedDict):
    """What booking answers (bare) and what `GET v1/appointments/{id}` wraps as `appointment`.

    `start` and `end` are UTC with an offset; the mocks show both "+0000" (booking) and "+00:00"
    (reading), so both are parsed.
    """

    publicId: str
    start: str
    end: str
    title: NotRequired[str]
    notes: NotRequired[str | None]
    status: NotRequired[int]
    services: list[Service]
    customers: list[Customer]
    branch: Branch


class AppointmentDetail(TypedDict):
    notifications: list[Any]
    meta: Meta
    appointment: Appointment
