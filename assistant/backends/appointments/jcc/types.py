"""Wire types of the JCC-Afspraken REST API ("WARP API", G-Plan), with JCC's own names.

Source: JCC's specification at
https://cloud-acceptatie.jccsoftware.nl/JCC/JCC_Leveranciers_Acceptatie/G-Plan/api/api-docs-v1/index.html
as typed and recorded by Open Forms (`appointments/contrib/jcc_rest/types.py` and the VCR cassettes
under `contrib/jcc_rest/tests/`). JCC told Open Forms that "string or null" means the field may be
missing altogether, hence `NotRequired` rather than `| None`. Only the fields we read or send are
typed; responses carry more (`auditId`, `revision`, ...).
"""

from __future__ import annotations

from enum import Enum
from typing import Literal, TypedDict

from typing_extensions import NotRequired

# 0 other, 1 male, 2 female; JCC requires it, we always send 0.
Gender = Literal[0, 1, 2]


class TokenResponse(TypedDict):
    """`POST connect/token` (OAuth2 client credentials, scope `warp-api`)."""

    access_token: str
    expires_in: NotRequired[int]  # seconds
    token_type: NotRequired[str]


class Version(TypedDict):
    """`GET version`."""

    warpApiVersion: NotRequired[str]
    afsprakenVersion: NotRequired[str]


class Activity(TypedDict):
    """A product, from `GET activity/listforappointment`."""

    id: str
    number: int  # deprecated by JCC in favour of `id`
    description: NotRequired[str]
    appointmentDuration: int  # seconds (unlike `calculateduration`, which answers minutes)
    maxCountForEvent: NotRequired[int]
    activityGroupId: NotRequired[str]
    synonyms: NotRequired[list[str]]


class Country(TypedDict):
    id: NotRequired[str]
    isoCode: NotRequired[str]
    name: NotRequired[str]


class Address(TypedDict):
    streetName: NotRequired[str]
    houseNumber: NotRequired[str]
    houseNumberSuffix: NotRequired[str]
    postalCode: NotRequired[str]
    city: NotRequired[str]
    country: NotRequired[Country]


class BaseLocation(TypedDict):
    """The short location inside an appointment."""

    id: str
    description: NotRequired[str]


class Location(BaseLocation):
    """`GET location`, `location/{id}`, `location/forappointment`."""

    address: NotRequired[Address]
    isActive: NotRequired[bool]
    isDefault: NotRequired[bool]
    locationNumber: NotRequired[int]


class DateRange(TypedDict):
    """`GET activity/appointmentdaterange`: naive ISO datetimes at midnight."""

    minDate: str
    maxDate: str


class AvailableTimes(TypedDict):
    """`GET appointment/availabletimelist`: naive ISO datetimes in local (Amsterdam) time."""

    availableTimesList: list[str]
    appointmentDuration: NotRequired[int]


class AppointmentActivity(TypedDict):
    activityId: str
    amount: int


class Customer(TypedDict):
    id: NotRequired[str | None]
    isMainCustomer: bool
    gender: Gender
    firstName: NotRequired[str]
    lastNamePrefix: NotRequired[str]
    lastName: NotRequired[str]
    birthDate: NotRequired[str]
    emailAddress: NotRequired[str]
    phoneNumber: NotRequired[str]
    mobilePhoneNumber: NotRequired[str]


class AppointmentData(TypedDict):
    """The body of `POST appointment`; `id` must be present and null for a new appointment."""

    id: None
    activityList: list[AppointmentActivity]
    customerList: list[Customer]
    fromDateTime: str  # with offset
    toDateTime: str  # fromDateTime plus `calculateduration` minutes
    locationId: str
    message: NotRequired[str]
    fieldList: None


class AcknowledgeResult(TypedDict):
    """The answer to `POST appointment` (and, per the spec, `DELETE appointment`).

    Success is `{id, acknowledgeIsSuccess: true}`; a refusal is `{code, message, validateErrors,
    acknowledgeIsSuccess: false}`. The test environment answers a DELETE with only `{id}`.
    """

    id: NotRequired[str | None]
    acknowledgeIsSuccess: NotRequired[bool]
    code: NotRequired[int]
    message: NotRequired[str]
    validateErrors: NotRequired[list[str]]


class ActivityLine(TypedDict):
    amount: int
    activity: Activity


class ExistingAppointment(TypedDict):
    """`GET appointment?id=`; times are naive local time."""

    id: str
    startDateTime: str
    endDateTime: str
    number: NotRequired[int]
    activityList: list[ActivityLine]
    customerList: NotRequired[list[Customer]]
    location: BaseLocation
    message: NotRequired[str]
    creationDateTime: NotRequired[str]


class ResultCode(Enum):
    """`code` in JCC's failure bodies.

    JCC's public documentation does not list its codes. -1 is what the test environment sent
    for an internal exception (Open Forms' cassette `test_create_appointment_fails_with_missing_
    body_data`); 1001 and 1002 are the codes our sandbox uses. Any other becomes UNKNOWN.
    """

    INTERNAL = -1
    SLOT_UNAVAILABLE = 1001
    INVALID_REQUEST = 1002
    UNKNOWN = None

    @classmethod
    def _missing_(cls, value: object) -> ResultCode:
        if isinstance(value, str):
            try:
                return cls(int(value))
            except ValueError:
                pass
        return cls.UNKNOWN
