"""Cases (zaken) in neutral terms: what the assistant tells a resident and files for one.

`ZgwClient` speaks the wire; this module translates it once into the domain types of
`models.py`, so an action never sees `statustekst` or `betrokkeneIdentificatie`. Reads and
writes follow the routes in `shared/reference/back-office-apis.md` (section 1, "Reading the
status" and "Writing").

The catalogue lookups a new case needs (zaaktype, initiator roltype, first statustype) are kept
for `TYPES_SECONDS`, so filing costs three writes and `ensure_case_type` (asked when a resident
starts, so nobody types a whole complaint for a back office that cannot take it) costs nothing
extra when the filing follows. A catalogue changes a few times a year; ten minutes is harmless.

Unknown codes (a role or party type Open Zaak adds later) become `UNKNOWN`, never an exception;
data that does not have the shape of the spec becomes `BackendUnavailable`, so actions need to
catch only `BackendError`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from assistant.backends.errors import BackendError, BackendUnavailable, NotConfigured, NotFound
from assistant.backends.zgw.client import SYSTEM, ZgwClient
from assistant.backends.zgw.models import (
    Case,
    CaseStatus,
    CaseType,
    ContactPerson,
    Initiator,
    PartyType,
    RoleKind,
)
from assistant.backends.zgw.types import (
    ContactPersoonRol,
    NatuurlijkPersoonIdentificatie,
    RolRequest,
    Status,
    StatusType,
    VerblijfsAdres,
    Zaak,
    ZaakRequest,
    ZaakType,
)

log = logging.getLogger(__name__)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
POSTCODE = re.compile(r"^[1-9][0-9]{3}[A-Z]{2}$")
DESCRIPTION_MAX = 80  # Zaak.omschrijving maxLength
EXPLANATION_MAX = 1000  # Zaak.toelichting maxLength
TYPES_SECONDS = 600.0
# ContactPersoonRol maxLengths.
CONTACT_NAME_MAX, CONTACT_EMAIL_MAX, CONTACT_PHONE_MAX = 200, 254, 20
# An ISO 8601 duration in days or weeks ("P42D", "P6W"): what zaaktypen use as `doorlooptijd`.
DAYS_OR_WEEKS = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?$")

CaseTypes = tuple[ZaakType, str, StatusType]


class CaseService:
    """Finds a resident's case, checks it against their postcode, and files new ones."""

    def __init__(
        self,
        client: ZgwClient,
        *,
        rsin: str,
        now: Callable[[], datetime] = lambda: datetime.now(AMSTERDAM),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._rsin = rsin
        self._now = now
        self._monotonic = monotonic
        self._known_types: dict[tuple[str, date], tuple[float, CaseTypes]] = {}

    async def find_case(self, identification: str) -> Case:
        """The case with this identification (e.g. "ZAAK-2026-0000123") and its status.

        Raises NotFound when there is none, BackendUnavailable/BackendRejected otherwise.
        """
        zaken = await self._client.list_zaken({"identificatie": identification})
        matches = [zaak for zaak in zaken if zaak.get("identificatie") == identification]
        if not matches:
            raise NotFound(SYSTEM, f"no zaak with identificatie {identification!r}")
        return await self._case(matches[0])

    async def initiator_postcode(self, case: Case) -> str | None:
        """Postcode of the initiator's residential address ("3511AB"), or None if not known.

        Lets an action check that the resident asking is the one who applied, without asking
        for a BSN. Read from the zaak's rollen: `betrokkeneIdentificatie.verblijfsadres.
        aoaPostcode` (`NatuurlijkPersoonIdentificatie`, `VestigingIdentificatie`).
        """
        rollen = await self._client.list_rollen(
            {"zaak": case.url, "omschrijvingGeneriek": RoleKind.INITIATOR.value}
        )
        for rol in rollen:
            if RoleKind(rol.get("omschrijvingGeneriek")) is not RoleKind.INITIATOR:
                continue
            identification = rol.get("betrokkeneIdentificatie") or {}
            address = (
                identification.get("verblijfsadres") if isinstance(identification, dict) else None
            )
            postcode = address.get("aoaPostcode") if isinstance(address, dict) else None
            if isinstance(postcode, str):
                normalised = re.sub(r"\s+", "", postcode).upper()
                if POSTCODE.match(normalised):
                    return normalised
        return None

    async def ensure_case_type(self, case_type_identification: str) -> None:
        """Check that a case of this zaaktype can be filed today, without writing anything.

        Raises NotConfigured when the catalogue lacks the type (or its initiator roltype or
        statustypen), BackendUnavailable/BackendRejected when the catalogue cannot be read.
        """
        await self._types(case_type_identification, self._now().date())

    async def create_case(
        self,
        case_type_identification: str,
        description: str,
        explanation: str,
        initiator: Initiator,
        contact: ContactPerson | None = None,
    ) -> Case:
        """File a case of the given zaaktype with the resident as initiator; return it.

        `contact` becomes the initiator rol's `contactpersoonRol`: how the handler reaches the
        resident. The zaak's `einddatumGepland` is today plus the zaaktype's `doorlooptijd`
        when that is given in days or weeks (a klacht: P42D, Awb 9:11), so `planned_end_date`
        tells the resident when to expect an answer.

        All catalogue lookups happen before anything is written, so a missing zaaktype,
        initiator roltype or statustype (NotConfigured) leaves nothing behind. The three writes
        (zaak, rol, first status) are never retried; if the rol or status fails the zaak exists
        without it, and the error (logged with the zaak's identification) is raised.
        """
        today = self._now().date()
        zaaktype, roltype_url, first = await self._types(case_type_identification, today)
        body: ZaakRequest = {
            "bronorganisatie": self._rsin,
            "verantwoordelijkeOrganisatie": self._rsin,
            "zaaktype": zaaktype["url"],
            "startdatum": today.isoformat(),
            "omschrijving": description[:DESCRIPTION_MAX],
            "toelichting": explanation[:EXPLANATION_MAX],
        }
        if (days := duration_days(zaaktype.get("doorlooptijd"))) is not None:
            body["einddatumGepland"] = (today + timedelta(days=days)).isoformat()
        zaak = await self._client.create_zaak(body)
        if not isinstance(zaak.get("url"), str):
            raise BackendUnavailable(SYSTEM, "the created zaak has no url")
        rol: RolRequest = {
            "zaak": zaak["url"],
            "betrokkeneType": PartyType.PERSON.value,
            "roltype": roltype_url,
            "roltoelichting": "Ingediend via de digitale assistent",
            "betrokkeneIdentificatie": _person(initiator),
        }
        if contact is not None:
            rol["contactpersoonRol"] = _contact(contact)
        try:
            await self._client.create_rol(rol)
            status = await self._client.create_status(
                {
                    "zaak": zaak["url"],
                    "statustype": first["url"],
                    "datumStatusGezet": self._now().astimezone(timezone.utc).isoformat(),
                }
            )
        except BackendError:
            log.error(
                "%s: zaak %s was created without initiator or first status",
                SYSTEM,
                zaak.get("identificatie"),
            )
            raise
        return _to_case(zaak, zaaktype, status, first)

    async def _types(self, identification: str, today: date) -> CaseTypes:
        """The zaaktype valid today, its initiator roltype's URL and its first statustype; read
        once per `TYPES_SECONDS` (a failed read is not kept, so the next one tries again)."""
        key = (identification, today)
        known = self._known_types.get(key)
        if known is not None and self._monotonic() - known[0] < TYPES_SECONDS:
            return known[1]
        types = await self._read_types(identification, today)
        self._known_types = {k: v for k, v in self._known_types.items() if k[1] == today}
        self._known_types[key] = (self._monotonic(), types)
        return types

    async def _read_types(self, identification: str, today: date) -> CaseTypes:
        zaaktypen = await self._client.list_zaaktypen(
            {"identificatie": identification, "datumGeldigheid": today.isoformat()}
        )
        if not zaaktypen:
            raise NotConfigured(SYSTEM, f"no zaaktype {identification!r} valid on {today}")
        zaaktype = zaaktypen[0]
        try:
            roltypen = await self._client.list_roltypen(
                {"zaaktype": zaaktype["url"], "omschrijvingGeneriek": RoleKind.INITIATOR.value}
            )
            initiator = [
                roltype["url"]
                for roltype in roltypen
                if RoleKind(roltype.get("omschrijvingGeneriek")) is RoleKind.INITIATOR
            ]
            statustypen = await self._client.list_statustypen(zaaktype["url"])
            # The first status of a zaak is the statustype with the lowest volgnummer.
            ordered = sorted(statustypen, key=lambda statustype: int(statustype["volgnummer"]))
        except (KeyError, TypeError, ValueError) as error:
            raise BackendUnavailable(SYSTEM, f"catalogue not as specified: {error!r}") from None
        if not initiator:
            raise NotConfigured(SYSTEM, f"zaaktype {identification!r} has no initiator roltype")
        if not ordered:
            raise NotConfigured(SYSTEM, f"zaaktype {identification!r} has no statustypen")
        return zaaktype, initiator[0], ordered[0]

    async def _case(self, zaak: Zaak) -> Case:
        """The zaak with its zaaktype and current status (two or three more reads).

        A reference that leads nowhere means the backend's data is inconsistent, not that the
        resident's case does not exist: it is BackendUnavailable, never NotFound.
        """
        try:
            zaaktype = await self._client.get_zaaktype(zaak["zaaktype"])
            status = statustype = None
            if zaak.get("status"):
                status = await self._client.get_status(str(zaak["status"]))
                statustype = await self._client.get_statustype(status["statustype"])
        except NotFound as error:
            message = f"a reference of the zaak leads nowhere: {error}"
            raise BackendUnavailable(SYSTEM, message) from None
        except (KeyError, TypeError) as error:
            raise BackendUnavailable(SYSTEM, f"zaak without {error}") from None
        return _to_case(zaak, zaaktype, status, statustype)


def _to_case(
    zaak: Zaak, zaaktype: ZaakType, status: Status | None, statustype: StatusType | None
) -> Case:
    try:
        return Case(
            url=zaak["url"],
            identification=zaak.get("identificatie", ""),
            case_type=CaseType(zaaktype["identificatie"], zaaktype["omschrijving"]),
            description=zaak.get("omschrijving", ""),
            start_date=date.fromisoformat(zaak["startdatum"]),
            planned_end_date=_date(zaak.get("einddatumGepland")),
            end_date=_date(zaak.get("einddatum")),
            status=_to_status(status, statustype) if status and statustype else None,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise BackendUnavailable(SYSTEM, f"zaak not as specified: {error!r}") from None


def _to_status(status: Status, statustype: StatusType) -> CaseStatus:
    # `statustekst` is optional in the Catalogi spec; the short `omschrijving` is the fallback.
    text = statustype.get("statustekst") or statustype["omschrijving"]
    return CaseStatus(
        citizen_text=text,
        set_on=_datetime(status["datumStatusGezet"]),
        is_final=bool(statustype.get("isEindstatus", False)),
    )


def _person(initiator: Initiator) -> NatuurlijkPersoonIdentificatie:
    person: NatuurlijkPersoonIdentificatie = {
        "geslachtsnaam": initiator.family_name,
        "voorvoegselGeslachtsnaam": initiator.family_name_prefix,
        "voornamen": initiator.given_names,
    }
    if initiator.bsn:
        person["inpBsn"] = initiator.bsn
    if initiator.address:
        address = initiator.address
        verblijfsadres: VerblijfsAdres = {
            "aoaIdentificatie": address.bag_id,
            "wplWoonplaatsNaam": address.city,
            "gorOpenbareRuimteNaam": address.street,
            "aoaHuisnummer": address.house_number,
            "aoaPostcode": re.sub(r"\s+", "", address.postcode).upper(),
            "aoaHuisletter": address.house_letter,
            "aoaHuisnummertoevoeging": address.house_number_addition,
        }
        person["verblijfsadres"] = verblijfsadres
    return person


def _contact(contact: ContactPerson) -> ContactPersoonRol:
    """`contactpersoonRol` with only what is known: ZGW checks `emailadres` as an e-mail
    address, so an empty one is left out rather than sent as ""."""
    result: ContactPersoonRol = {"naam": contact.name.strip()[:CONTACT_NAME_MAX]}
    if contact.email.strip():
        result["emailadres"] = contact.email.strip()[:CONTACT_EMAIL_MAX]
    if contact.phone.strip():
        result["telefoonnummer"] = contact.phone.strip()[:CONTACT_PHONE_MAX]
    return result


def duration_days(value: Any) -> int | None:
    """Days in an ISO 8601 duration of weeks and days ("P42D", "P6W"); None for anything else
    (months and years have no fixed length, and a zaaktype may leave `doorlooptijd` out)."""
    match = DAYS_OR_WEEKS.match(value) if isinstance(value, str) else None
    if match is None or value == "P":
        return None
    weeks, days = match.groups()
    return int(weeks or 0) * 7 + int(days or 0)


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _datetime(value: str) -> datetime:
    """ISO 8601 as Open Zaak writes it ("2026-01-02T10:00:00Z"); naive means UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
