"""Wire types of the Klantinteracties API (Open Klant 2), with its own camelCase field names.

Source: maykinmedia/open-klant@754d9cd, spec 0.9.0 at
`src/openklant/components/klantinteracties/openapi.yaml`; the serializers in
`klantinteracties/api/serializers/klantcontacten.py` (KlantcontactSerializer,
BetrokkeneSerializer, OnderwerpobjectSerializer, MaakKlantcontactSerializer) and the request
body Open Forms sends (`open-forms: src/openforms/contrib/customer_interactions/client.py`);
summarised in reference/back-office-apis.md section 1, "Klantinteracties".

Errors are problem+json from vng_api_common's exception handler: `{type, code, title, status,
detail, instance}` plus `invalidParams: [{name, code, reason}]` on a 400, where `name` is the
dotted camelCase path ("klantcontact.onderwerp").
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from typing_extensions import NotRequired

# Field limits of the Klantcontact model.
MAX_KANAAL = 50
MAX_ONDERWERP = 200
MAX_INHOUD = 1000
TAAL_LENGTH = 3  # ISO 639-2/B, e.g. "nld"
# Onderwerpobjectidentificator fields (objectId, codeObjecttype, ...).
MAX_IDENTIFICATOR = 200


class KlantcontactCreate(TypedDict):
    kanaal: str
    onderwerp: str
    taal: str
    vertrouwelijk: bool
    inhoud: NotRequired[str]
    indicatieContactGelukt: NotRequired[bool | None]
    plaatsgevondenOp: NotRequired[str]
    nummer: NotRequired[str]


class ForeignKeyRef(TypedDict):
    uuid: str


class ForeignKey(TypedDict):
    uuid: str
    url: str


class BetrokkeneCreate(TypedDict):
    rol: Literal["vertegenwoordiger", "klant"]
    initiator: bool
    organisatienaam: NotRequired[str]
    wasPartij: NotRequired[ForeignKeyRef | None]


class Onderwerpobjectidentificator(TypedDict):
    objectId: str
    codeObjecttype: str
    codeRegister: str
    codeSoortObjectId: str


class OnderwerpobjectCreate(TypedDict):
    onderwerpobjectidentificator: Onderwerpobjectidentificator


class MaakKlantcontactCreate(TypedDict):
    """Body of `POST klantinteracties/api/v1/maak-klantcontact`: all three in one transaction."""

    klantcontact: KlantcontactCreate
    betrokkene: NotRequired[BetrokkeneCreate]
    onderwerpobject: NotRequired[OnderwerpobjectCreate]


class Klantcontact(TypedDict):
    uuid: str
    url: str
    gingOverOnderwerpobjecten: list[ForeignKey]
    hadBetrokkenActoren: list[dict[str, Any]]
    omvatteBijlagen: list[ForeignKey]
    hadBetrokkenen: list[ForeignKey]
    leiddeTotInterneTaken: list[ForeignKey]
    nummer: str
    kanaal: str
    onderwerp: str
    inhoud: str
    indicatieContactGelukt: bool | None
    taal: str
    vertrouwelijk: bool
    plaatsgevondenOp: str


class Betrokkene(TypedDict):
    uuid: str
    url: str
    wasPartij: ForeignKey | None
    hadKlantcontact: ForeignKey
    digitaleAdressen: list[ForeignKey]
    bezoekadres: dict[str, Any] | None
    correspondentieadres: dict[str, Any] | None
    contactnaam: dict[str, Any] | None
    volledigeNaam: str
    rol: str
    organisatienaam: str
    initiator: bool


class Onderwerpobject(TypedDict):
    uuid: str
    url: str
    klantcontact: ForeignKey | None
    wasKlantcontact: ForeignKey | None
    onderwerpobjectidentificator: Onderwerpobjectidentificator


class MaakKlantcontactResponse(TypedDict):
    """The 201 answer: the three created resources, as their own endpoints render them."""

    klantcontact: Klantcontact
    betrokkene: Betrokkene | None
    onderwerpobject: Onderwerpobject | None


class KlantcontactPage(TypedDict):
    """vng_api_common's DynamicPageSizePagination (`?page=N&pageSize=M`), newest first."""

    count: int
    next: str | None
    previous: str | None
    results: list[Klantcontact]


class InvalidParam(TypedDict):
    name: str
    code: str
    reason: str


class Problem(TypedDict):
    type: str
    code: str
    title: str
    status: int
    detail: str
    instance: str
    invalidParams: NotRequired[list[InvalidParam]]
