"""Wire data of the ZGW Zaken API 1.5.1 and Catalogi API 1.3.1, as Open Zaak serves them.

Source: the OpenAPI specs of `open-zaak/open-zaak` (`src/openzaak/components/zaken/openapi.yaml`
and `.../catalogi/openapi.yaml`), copies in `shared/reference/zgw-*-openapi.yaml`; the component
schema each TypedDict mirrors is named in its docstring. Only the fields this assistant reads or
writes are typed; Open Zaak sends more. Field names stay Dutch as on the wire: `cases.py`
translates them once into the neutral types.
"""

from __future__ import annotations

from typing import Any, TypedDict

from typing_extensions import NotRequired


class PaginatedList(TypedDict):
    """`Paginated<X>List`: every list endpoint, Catalogi too (`?page=N&pageSize=M`)."""

    count: int
    next: str | None
    previous: str | None
    results: list[dict[str, Any]]


class FieldValidationError(TypedDict):
    """`FieldValidationError`: one entry of `invalidParams`."""

    name: str
    code: str
    reason: str


class Fout(TypedDict):
    """`Fout` / `ValidatieFout`: the problem+json body of every 4xx and 5xx."""

    type: NotRequired[str]
    code: str
    title: str
    status: int
    detail: str
    instance: str
    invalidParams: NotRequired[list[FieldValidationError]]


class Zaak(TypedDict):
    """`Zaak` (Zaken API). `status` is the URL of the current status, or null."""

    url: str
    uuid: str
    identificatie: NotRequired[str]
    bronorganisatie: str
    verantwoordelijkeOrganisatie: str
    omschrijving: NotRequired[str]
    toelichting: NotRequired[str]
    zaaktype: str
    registratiedatum: NotRequired[str]
    startdatum: str
    einddatum: str | None
    einddatumGepland: NotRequired[str | None]
    uiterlijkeEinddatumAfdoening: NotRequired[str | None]
    vertrouwelijkheidaanduiding: NotRequired[str]
    status: str | None
    rollen: list[str]


class ZaakRequest(TypedDict):
    """`ZaakRequest`: body of `POST /zaken`. Without `identificatie` the server makes one."""

    bronorganisatie: str
    verantwoordelijkeOrganisatie: str
    zaaktype: str
    startdatum: str
    identificatie: NotRequired[str]
    omschrijving: NotRequired[str]
    toelichting: NotRequired[str]
    einddatumGepland: NotRequired[str]


class Status(TypedDict):
    """`Status` (Zaken API): when a zaak reached a statustype."""

    url: str
    uuid: str
    zaak: str
    statustype: str
    datumStatusGezet: str
    statustoelichting: NotRequired[str]
    indicatieLaatstGezetteStatus: bool


class StatusRequest(TypedDict):
    """`StatusRequest`: body of `POST /statussen`."""

    zaak: str
    statustype: str
    datumStatusGezet: str
    statustoelichting: NotRequired[str]


class VerblijfsAdres(TypedDict):
    """`VerblijfsAdres`: a residential address (BAG), inside a person's identification."""

    aoaIdentificatie: str
    wplWoonplaatsNaam: str
    gorOpenbareRuimteNaam: str
    aoaHuisnummer: int
    aoaPostcode: NotRequired[str]
    aoaHuisletter: NotRequired[str]
    aoaHuisnummertoevoeging: NotRequired[str]


class NatuurlijkPersoonIdentificatie(TypedDict, total=False):
    """`NatuurlijkPersoonIdentificatie`: `betrokkeneIdentificatie` of a `natuurlijk_persoon`.

    `inpBsn` has minLength 9: leave it out rather than sending an empty string."""

    inpBsn: str
    geslachtsnaam: str
    voorvoegselGeslachtsnaam: str
    voornamen: str
    verblijfsadres: VerblijfsAdres | None


class ContactPersoonRol(TypedDict, total=False):
    """`ContactPersoonRolRequest`: who the handler contacts about the zaak, on a rol. `naam` is
    required (max 200); `emailadres` (254, format email), `telefoonnummer` (20) and `functie`
    (50) are optional: leave an unknown one out rather than sending an empty string."""

    naam: str
    emailadres: str
    telefoonnummer: str
    functie: str


class Rol(TypedDict):
    """`Rol` (`natuurlijk_persoon_RolSerializer` and siblings, by `betrokkeneType`)."""

    url: str
    uuid: str
    zaak: str
    betrokkeneType: str
    roltype: str
    omschrijving: str
    omschrijvingGeneriek: str
    roltoelichting: NotRequired[str]
    betrokkeneIdentificatie: NotRequired[dict[str, Any]]
    contactpersoonRol: NotRequired[ContactPersoonRol | None]


class RolRequest(TypedDict):
    """`natuurlijk_persoon_RolSerializerRequest`: body of `POST /rollen`."""

    zaak: str
    betrokkeneType: str
    roltype: str
    roltoelichting: NotRequired[str]
    betrokkeneIdentificatie: NotRequired[NatuurlijkPersoonIdentificatie]
    contactpersoonRol: NotRequired[ContactPersoonRol]


class ZaakType(TypedDict):
    """`ZaakType` (Catalogi API). `doorlooptijd` is an ISO 8601 duration such as `P56D`."""

    url: str
    identificatie: str
    omschrijving: str
    doorlooptijd: str
    servicenorm: NotRequired[str | None]
    statustypen: list[str]
    roltypen: list[str]
    beginGeldigheid: str
    eindeGeldigheid: NotRequired[str | None]


class StatusType(TypedDict):
    """`StatusType` (Catalogi API). `statustekst` is the text meant for the initiator."""

    url: str
    omschrijving: str
    statustekst: NotRequired[str]
    zaaktype: str
    volgnummer: int
    isEindstatus: bool


class RolType(TypedDict):
    """`RolType` (Catalogi API)."""

    url: str
    zaaktype: str
    omschrijving: str
    omschrijvingGeneriek: str
