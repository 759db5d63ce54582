"""Zaken API resource `/rollen`: who is involved in a zaak, in which roltype, and how the
handler reaches them (`contactpersoonRol`)."""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from aiohttp import web
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql import Select

from assistant.sandbox.zgw.fields import iso, json_body, reference_field, text_field
from assistant.sandbox.zgw.protocol import (
    CATALOGI,
    ENGINE,
    ZAKEN,
    Errors,
    invalid,
    link,
    not_found,
    paginate,
    ref_uuid,
)
from assistant.sandbox.zgw.tables import contactpersonen, rollen, roltypen, zaken

PARTY_TYPES = ("natuurlijk_persoon", "niet_natuurlijk_persoon", "vestiging")
PARTY_TYPES += ("organisatorische_eenheid", "medewerker")
# `ContactPersoonRolRequest`: field -> maxLength.
CONTACT_FIELDS = {"naam": 200, "emailadres": 254, "telefoonnummer": 20, "functie": 50}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _rollen_query() -> Select:
    contact = contactpersonen.c
    return (
        select(
            rollen,
            roltypen.c.omschrijving,
            roltypen.c.omschrijving_generiek,
            contact.naam,
            contact.emailadres,
            contact.telefoonnummer,
            contact.functie,
        )
        .join(roltypen, rollen.c.roltype_uuid == roltypen.c.uuid)
        .outerjoin(contactpersonen, contact.rol_uuid == rollen.c.uuid)
    )


def _contact_json(row: Row) -> dict[str, str] | None:
    """`ContactPersoonRol`, or null when the rol has none. Deviation: Open Zaak renders a blank
    field as ""; the stand-in leaves it out, because "" is no `format: email` and the spec
    requires only `naam`."""
    if row.naam is None:
        return None
    fields = {name: getattr(row, name) for name in CONTACT_FIELDS}
    return {name: value for name, value in fields.items() if value or name == "naam"}


def _rollen_json(request: web.Request, conn: Connection, rows: list[Row]) -> list[dict[str, Any]]:
    # `betrokkene` (a URL, "" when absent in Open Zaak) is left out: "" is no `format: uri`.
    return [
        {
            "url": link(request, ZAKEN, "rollen", row.uuid),
            "uuid": row.uuid,
            "zaak": link(request, ZAKEN, "zaken", row.zaak_uuid),
            "betrokkeneType": row.betrokkene_type,
            "afwijkendeNaamBetrokkene": "",
            "roltype": link(request, CATALOGI, "roltypen", row.roltype_uuid),
            "omschrijving": row.omschrijving,
            "omschrijvingGeneriek": row.omschrijving_generiek,
            "roltoelichting": row.roltoelichting,
            "registratiedatum": iso(row.registratiedatum),
            "indicatieMachtiging": "",
            "contactpersoonRol": _contact_json(row),
            "statussen": [],
            "beginGeldigheid": None,
            "eindeGeldigheid": None,
            "betrokkeneIdentificatie": row.betrokkene_identificatie,
            "authenticatieContext": None,
        }
        for row in rows
    ]


async def list_rollen(request: web.Request) -> web.Response:
    query = _rollen_query()
    if "zaak" in request.query:
        zaak = ref_uuid(request.query["zaak"], ZAKEN, "zaken") or ""
        query = query.where(rollen.c.zaak_uuid == zaak)
    if "omschrijvingGeneriek" in request.query:
        kind = request.query["omschrijvingGeneriek"]
        query = query.where(roltypen.c.omschrijving_generiek == kind)
    if "betrokkeneType" in request.query:
        query = query.where(rollen.c.betrokkene_type == request.query["betrokkeneType"])
    return paginate(request, query.order_by(rollen.c.id), _rollen_json)


async def get_rol(request: web.Request) -> web.Response:
    with request.app[ENGINE].connect() as conn:
        query = _rollen_query().where(rollen.c.uuid == request.match_info["uuid"])
        row = conn.execute(query).first()
        if row is None:
            raise not_found()
        return web.json_response(_rollen_json(request, conn, [row])[0])


async def create_rol(request: web.Request) -> web.Response:
    body = await json_body(request)
    errors: Errors = []
    party = text_field(body, "betrokkeneType", errors, 30, required=True)
    if party and party not in PARTY_TYPES:
        errors.append(("betrokkeneType", "invalid_choice", f'"{party}" is een ongeldige keuze.'))
    toelichting = text_field(body, "roltoelichting", errors, 1000)
    identification = body.get("betrokkeneIdentificatie") or {}
    if not isinstance(identification, dict):
        errors.append(("betrokkeneIdentificatie", "invalid", "Ongeldige data."))
        identification = {}
    if not identification and not body.get("betrokkene"):
        reason = "`betrokkene` of `betrokkeneIdentificatie` moet opgegeven worden."
        errors.append(("nonFieldErrors", "invalid-betrokkene", reason))
    _check_person(identification, errors)
    contact = _contact_person(body.get("contactpersoonRol"), errors)
    with request.app[ENGINE].begin() as conn:
        zaak = reference_field(conn, zaken, body, "zaak", ZAKEN, "zaken", errors)
        roltype = reference_field(conn, roltypen, body, "roltype", CATALOGI, "roltypen", errors)
        if zaak and roltype and roltype.zaaktype_uuid != zaak.zaaktype_uuid:
            reason = "Het roltype hoort niet bij het zaaktype van de zaak."
            errors.append(("roltype", "zaaktype-mismatch", reason))
        if errors or zaak is None or roltype is None:
            raise invalid(errors)
        uuid = str(uuidlib.uuid4())
        values = {
            "uuid": uuid,
            "zaak_uuid": zaak.uuid,
            "roltype_uuid": roltype.uuid,
            "betrokkene_type": party,
            "betrokkene_identificatie": identification,
            "roltoelichting": toelichting,
            "registratiedatum": datetime.now(timezone.utc),
        }
        conn.execute(insert(rollen).values(**values))
        if contact is not None:
            conn.execute(insert(contactpersonen).values(rol_uuid=uuid, **contact))
        row = conn.execute(_rollen_query().where(rollen.c.uuid == uuid)).one()
        created = _rollen_json(request, conn, [row])[0]
    return web.json_response(created, status=201, headers={"Location": created["url"]})


def _check_person(identification: Mapping[str, Any], errors: Errors) -> None:
    """The parts of `NatuurlijkPersoonIdentificatieRequest` the spec constrains."""
    bsn = identification.get("inpBsn")
    if bsn is not None and not (isinstance(bsn, str) and re.fullmatch(r"\d{9}", bsn)):
        errors.append(("betrokkeneIdentificatie.inpBsn", "invalid", "Een BSN heeft 9 cijfers."))
    address = identification.get("verblijfsadres")
    if address is None:
        return
    if not isinstance(address, dict):
        errors.append(("betrokkeneIdentificatie.verblijfsadres", "invalid", "Ongeldige data."))
        return
    for name in ("aoaIdentificatie", "wplWoonplaatsNaam", "gorOpenbareRuimteNaam", "aoaHuisnummer"):
        if address.get(name) is None:
            field = f"betrokkeneIdentificatie.verblijfsadres.{name}"
            errors.append((field, "required", "Dit veld is vereist."))


def _contact_person(value: Any, errors: Errors) -> dict[str, str] | None:
    """The checked `contactpersoonRol` (every field, "" when not given), or None when absent."""
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.append(("contactpersoonRol", "invalid", "Ongeldige data."))
        return None
    found: Errors = []
    contact = {
        name: text_field(value, name, found, limit, required=name == "naam")
        for name, limit in CONTACT_FIELDS.items()
    }
    if contact["emailadres"] and not EMAIL.fullmatch(contact["emailadres"]):
        found.append(("emailadres", "invalid", "Voer een geldig e-mailadres in."))
    errors.extend((f"contactpersoonRol.{name}", code, reason) for name, code, reason in found)
    return contact
