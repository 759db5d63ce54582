"""Zaken API resources `/zaken` and `/statussen`."""

from __future__ import annotations

import re
import uuid as uuidlib
from collections import defaultdict
from datetime import date, datetime, timezone
from typing import Any

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Row

from assistant.sandbox.zgw.fields import (
    date_field,
    datetime_field,
    iso,
    json_body,
    reference_field,
    rsin_ok,
    text_field,
    today_of,
    utc,
)
from assistant.sandbox.zgw.protocol import (
    CATALOGI,
    ENGINE,
    ZAKEN,
    Errors,
    invalid,
    link,
    paginate,
    ref_uuid,
    retrieve,
)
from assistant.sandbox.zgw.tables import (
    current_statuses,
    final_statustypen,
    insert_row,
    rollen,
    statussen,
    statustypen,
    zaaktypen,
    zaken,
)

CONFIDENTIALITY = ("openbaar", "beperkt_openbaar", "intern", "zaakvertrouwelijk")
CONFIDENTIALITY += ("vertrouwelijk", "confidentieel", "geheim", "zeer_geheim")


def _zaken_json(request: web.Request, conn: Connection, rows: list[Row]) -> list[dict[str, Any]]:
    uuids = [row.uuid for row in rows]
    current = current_statuses(conn, uuids)
    rol_urls: dict[str, list[str]] = defaultdict(list)
    query = select(rollen.c.uuid, rollen.c.zaak_uuid).where(rollen.c.zaak_uuid.in_(uuids))
    for rol in conn.execute(query.order_by(rollen.c.id)):
        rol_urls[rol.zaak_uuid].append(link(request, ZAKEN, "rollen", rol.uuid))

    def one(row: Row) -> dict[str, Any]:
        status = current.get(row.uuid)
        return {
            "url": link(request, ZAKEN, "zaken", row.uuid),
            "uuid": row.uuid,
            "identificatie": row.identificatie,
            "bronorganisatie": row.bronorganisatie,
            "omschrijving": row.omschrijving,
            "toelichting": row.toelichting,
            "zaaktype": link(request, CATALOGI, "zaaktypen", row.zaaktype_uuid),
            "registratiedatum": row.registratiedatum.isoformat(),
            "verantwoordelijkeOrganisatie": row.verantwoordelijke_organisatie,
            "startdatum": row.startdatum.isoformat(),
            "einddatum": _day(row.einddatum),
            "einddatumGepland": _day(row.einddatum_gepland),
            "uiterlijkeEinddatumAfdoening": _day(row.uiterlijke_einddatum_afdoening),
            "publicatiedatum": None,
            "laatstGemuteerd": iso(row.laatst_gemuteerd),
            "laatstGeopend": None,
            "communicatiekanaalNaam": "",
            "productenOfDiensten": [],
            "vertrouwelijkheidaanduiding": row.vertrouwelijkheidaanduiding,
            "betalingsindicatie": "",
            "betalingsindicatieWeergave": "",
            "laatsteBetaaldatum": None,
            "zaakgeometrie": None,
            "verlenging": None,
            "opschorting": {"indicatie": False, "eerdereOpschorting": False, "reden": ""},
            "hoofdzaak": None,
            "deelzaken": [],
            "relevanteAndereZaken": [],
            "gerelateerdeZaken": [],
            "eigenschappen": [],
            "rollen": rol_urls[row.uuid],
            "status": link(request, ZAKEN, "statussen", status.uuid) if status else None,
            "zaakinformatieobjecten": [],
            "zaakobjecten": [],
            "kenmerken": [],
            "archiefnominatie": None,
            "archiefstatus": "nog_te_archiveren",
            "archiefactiedatum": None,
            "resultaat": None,
            "processobjectaard": "",
            "startdatumBewaartermijn": None,
            "processobject": None,
        }

    return [one(row) for row in rows]


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


async def list_zaken(request: web.Request) -> web.Response:
    query = select(zaken)
    for name, column in (
        ("identificatie", zaken.c.identificatie),
        ("bronorganisatie", zaken.c.bronorganisatie),
    ):
        if name in request.query:
            query = query.where(column == request.query[name])
    if "zaaktype" in request.query:
        query = query.where(
            zaken.c.zaaktype_uuid
            == (ref_uuid(request.query["zaaktype"], CATALOGI, "zaaktypen") or "")
        )
    return paginate(request, query.order_by(zaken.c.id), _zaken_json)


async def get_zaak(request: web.Request) -> web.Response:
    return retrieve(request, zaken, _zaken_json)


async def create_zaak(request: web.Request) -> web.Response:
    body = await json_body(request)
    errors: Errors = []
    organisations = {}
    for name in ("bronorganisatie", "verantwoordelijkeOrganisatie"):
        organisations[name] = text_field(body, name, errors, 9, required=True)
        if organisations[name] and not rsin_ok(organisations[name]):
            errors.append((name, "invalid", "Onjuist RSIN nummer."))
    identificatie = text_field(body, "identificatie", errors, 40)
    omschrijving = text_field(body, "omschrijving", errors, 80)
    toelichting = text_field(body, "toelichting", errors, 1000)
    startdatum = date_field(body, "startdatum", errors, required=True)
    gepland = date_field(body, "einddatumGepland", errors)
    uiterlijk = date_field(body, "uiterlijkeEinddatumAfdoening", errors)
    registratiedatum = date_field(body, "registratiedatum", errors) or today_of(request.app)
    with request.app[ENGINE].begin() as conn:
        zaaktype = reference_field(conn, zaaktypen, body, "zaaktype", CATALOGI, "zaaktypen", errors)
        confidentiality = body.get("vertrouwelijkheidaanduiding") or (
            zaaktype.data["vertrouwelijkheidaanduiding"] if zaaktype else "openbaar"
        )
        if confidentiality not in CONFIDENTIALITY:
            reason = f'"{confidentiality}" is een ongeldige keuze.'
            errors.append(("vertrouwelijkheidaanduiding", "invalid_choice", reason))
        if errors or zaaktype is None:
            raise invalid(errors)
        bron = organisations["bronorganisatie"]
        identificatie = identificatie or _next_identificatie(conn, registratiedatum)
        taken = select(zaken.c.id).where(
            zaken.c.bronorganisatie == bron, zaken.c.identificatie == identificatie
        )
        if conn.execute(taken).first():
            reason = "Deze identificatie bestaat al voor deze bronorganisatie."
            raise invalid([("identificatie", "identificatie-niet-uniek", reason)])
        row = insert_row(
            conn,
            zaken,
            {
                "uuid": str(uuidlib.uuid4()),
                "identificatie": identificatie,
                "bronorganisatie": bron,
                "verantwoordelijke_organisatie": organisations["verantwoordelijkeOrganisatie"],
                "zaaktype_uuid": zaaktype.uuid,
                "omschrijving": omschrijving,
                "toelichting": toelichting,
                "vertrouwelijkheidaanduiding": confidentiality,
                "registratiedatum": registratiedatum,
                "startdatum": startdatum,
                "einddatum_gepland": gepland,
                "uiterlijke_einddatum_afdoening": uiterlijk,
                "laatst_gemuteerd": datetime.now(timezone.utc),
            },
        )
        created = _zaken_json(request, conn, [row])[0]
    return web.json_response(created, status=201, headers={"Location": created["url"]})


def _next_identificatie(conn: Connection, day: date) -> str:
    """`ZAAK-<year>-<10 digits>`, one past the highest of that year, as Open Zaak's
    `YearIdentification` (zaken/models/identification_classes.py)."""
    prefix = f"ZAAK-{day.year}-"
    issued = conn.execute(
        select(zaken.c.identificatie).where(zaken.c.identificatie.like(f"{prefix}%"))
    )
    numbers = [
        int(value[len(prefix) :])
        for (value,) in issued
        if re.fullmatch(r"\d{10}", value[len(prefix) :])
    ]
    return f"{prefix}{max(numbers, default=0) + 1:010d}"


def _statussen_json(
    request: web.Request, conn: Connection, rows: list[Row]
) -> list[dict[str, Any]]:
    current = current_statuses(conn, {row.zaak_uuid for row in rows})
    return [
        {
            "url": link(request, ZAKEN, "statussen", row.uuid),
            "uuid": row.uuid,
            "zaak": link(request, ZAKEN, "zaken", row.zaak_uuid),
            "statustype": link(request, CATALOGI, "statustypen", row.statustype_uuid),
            "datumStatusGezet": iso(row.datum_status_gezet),
            "statustoelichting": row.statustoelichting,
            "indicatieLaatstGezetteStatus": current[row.zaak_uuid].uuid == row.uuid,
            "gezetdoor": None,
            "zaakinformatieobjecten": [],
        }
        for row in rows
    ]


async def list_statussen(request: web.Request) -> web.Response:
    query = select(statussen)
    if "zaak" in request.query:
        query = query.where(
            statussen.c.zaak_uuid == (ref_uuid(request.query["zaak"], ZAKEN, "zaken") or "")
        )
    return paginate(request, query.order_by(statussen.c.id), _statussen_json)


async def get_status(request: web.Request) -> web.Response:
    return retrieve(request, statussen, _statussen_json)


async def create_status(request: web.Request) -> web.Response:
    body = await json_body(request)
    errors: Errors = []
    toelichting = text_field(body, "statustoelichting", errors, 1000)
    moment = datetime_field(body, "datumStatusGezet", errors)
    with request.app[ENGINE].begin() as conn:
        zaak = reference_field(conn, zaken, body, "zaak", ZAKEN, "zaken", errors)
        statustype = reference_field(
            conn, statustypen, body, "statustype", CATALOGI, "statustypen", errors
        )
        if zaak and statustype and statustype.zaaktype_uuid != zaak.zaaktype_uuid:
            reason = "Het statustype hoort niet bij het zaaktype van de zaak."
            errors.append(("statustype", "zaaktype-mismatch", reason))
        if errors or zaak is None or statustype is None:
            raise invalid(errors)
        row = insert_row(
            conn,
            statussen,
            {
                "uuid": str(uuidlib.uuid4()),
                "zaak_uuid": zaak.uuid,
                "statustype_uuid": statustype.uuid,
                "datum_status_gezet": moment,
                "statustoelichting": toelichting,
            },
        )
        _close_or_reopen(conn, zaak.uuid)
        created = _statussen_json(request, conn, [row])[0]
    return web.json_response(created, status=201, headers={"Location": created["url"]})


def _close_or_reopen(conn: Connection, zaak_uuid: str) -> None:
    """A zaak whose current status is the final one (highest volgnummer) gets `einddatum`.

    Deviation: Open Zaak also demands a resultaat before the final status and the scope
    `zaken.heropenen` to reopen; the stand-in has no resultaten and no scopes.
    """
    current = current_statuses(conn, [zaak_uuid])[zaak_uuid]
    final = final_statustypen(conn)
    einddatum = utc(current.datum_status_gezet).date() if current.statustype_uuid in final else None
    conn.execute(
        update(zaken)
        .where(zaken.c.uuid == zaak_uuid)
        .values(einddatum=einddatum, laatst_gemuteerd=datetime.now(timezone.utc))
    )
