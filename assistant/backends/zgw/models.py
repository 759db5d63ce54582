"""A resident's case (zaak) in the assistant's own words: the domain types actions see.

Translated once from the ZGW wire types (`types.py`) by `cases.py`, so no action meets
`statustekst` or `betrokkeneIdentificatie`. Codes keep the vendor's values (Open Zaak's
`omschrijvingGeneriek`, `betrokkeneType`) but a code Open Zaak adds later becomes `UNKNOWN`
instead of an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum


class RoleKind(str, Enum):
    """`omschrijvingGeneriek` of a rol or roltype."""

    ADVISER = "adviseur"
    HANDLER = "behandelaar"
    STAKEHOLDER = "belanghebbende"
    DECIDER = "beslisser"
    INITIATOR = "initiator"
    CUSTOMER_CONTACT = "klantcontacter"
    COORDINATOR = "zaakcoordinator"
    CO_INITIATOR = "mede_initiator"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> RoleKind:
        return cls.UNKNOWN


class PartyType(str, Enum):
    """`betrokkeneType` of a rol."""

    PERSON = "natuurlijk_persoon"
    ORGANISATION = "niet_natuurlijk_persoon"
    BRANCH = "vestiging"
    ORGANISATIONAL_UNIT = "organisatorische_eenheid"
    EMPLOYEE = "medewerker"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> PartyType:
        return cls.UNKNOWN


@dataclass(frozen=True)
class CaseType:
    identification: str
    description: str


@dataclass(frozen=True)
class CaseStatus:
    """The current status, in the words meant for the resident (the statustype's `statustekst`)."""

    citizen_text: str
    set_on: datetime
    is_final: bool


@dataclass(frozen=True)
class Case:
    """A zaak. `url` is an opaque handle for follow-up calls such as `initiator_postcode`."""

    url: str
    identification: str
    case_type: CaseType
    description: str
    start_date: date
    planned_end_date: date | None
    end_date: date | None
    status: CaseStatus | None

    @property
    def is_closed(self) -> bool:
        return self.end_date is not None


@dataclass(frozen=True)
class Address:
    street: str
    house_number: int
    postcode: str
    city: str
    house_letter: str = ""
    house_number_addition: str = ""
    bag_id: str = ""  # BAG nummeraanduiding id, when known


@dataclass(frozen=True)
class Initiator:
    """The resident who starts a case. BSN and address stay out of `repr`, and so out of logs."""

    family_name: str
    given_names: str = ""
    family_name_prefix: str = ""
    bsn: str | None = field(default=None, repr=False)
    address: Address | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ContactPerson:
    """How the case's handler reaches the resident: ZGW's `contactpersoonRol` on the initiator's
    rol (Zaken API 1.5.1, `ContactPersoonRolRequest`). `name` is required there; e-mail and phone
    stay out of `repr`, and so out of logs."""

    name: str
    email: str = field(default="", repr=False)
    phone: str = field(default="", repr=False)
