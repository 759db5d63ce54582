"""Catalogi API resources `/zaaktypen`, `/statustypen` and `/roltypen` (read-only here)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy import Table, false, select
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql import Select

from assistant.sandbox.zgw.fields import date_field
from assistant.sandbox.zgw.protocol import (
    CATALOGI,
    ENGINE,
    Errors,
    Serialise,
    invalid,
    link,
    not_found,
    paginate,
    ref_uuid,
    retrieve,
)
from assistant.sandbox.zgw.tables import final_statustypen, roltypen, sid, statustypen, zaaktypen


def _zaaktypen_json(
    request: web.Request, conn: Connection, rows: list[Row]
) -> list[dict[str, Any]]:
    uuids = [row.uuid for row in rows]
    children: dict[tuple[str, str], list[str]] = defaultdict(list)
    for collection, table in (("statustypen", statustypen), ("roltypen", roltypen)):
        query = select(table.c.uuid, table.c.zaaktype_uuid).where(table.c.zaaktype_uuid.in_(uuids))
        for child in conn.execute(query.order_by(table.c.uuid)):
            url = link(request, CATALOGI, collection, child.uuid)
            children[(collection, child.zaaktype_uuid)].append(url)
    empty_lists = ("trefwoorden", "verantwoordingsrelatie", "productenOfDiensten")
    empty_lists += ("resultaattypen", "eigenschappen", "informatieobjecttypen", "besluittypen")
    empty_lists += ("deelzaaktypen", "gerelateerdeZaaktypen", "zaakobjecttypen")
    return [
        {
            "url": link(request, CATALOGI, "zaaktypen", row.uuid),
            "identificatie": row.identificatie,
            "omschrijving": row.omschrijving,
            "omschrijvingGeneriek": "",
            **row.data,
            "toelichting": "",
            "indicatieInternOfExtern": "extern",
            "handelingBehandelaar": "behandelen",
            "servicenorm": None,
            "opschortingEnAanhoudingMogelijk": True,
            "verlengingMogelijk": True,
            "verlengingstermijn": "P42D",
            "publicatieIndicatie": False,
            "publicatietekst": "",
            "concept": False,
            "beginGeldigheid": row.begin_geldigheid.isoformat(),
            "eindeGeldigheid": row.einde_geldigheid.isoformat() if row.einde_geldigheid else None,
            "versiedatum": row.begin_geldigheid.isoformat(),
            "beginObject": row.begin_geldigheid.isoformat(),
            # Open Zaak answers null for a current version, though the spec does not say nullable.
            "eindeObject": None,
            "catalogus": link(request, CATALOGI, "catalogussen", sid("catalogus")),
            **{name: [] for name in empty_lists},
            "statustypen": children[("statustypen", row.uuid)],
            "roltypen": children[("roltypen", row.uuid)],
        }
        for row in rows
    ]


async def list_zaaktypen(request: web.Request) -> web.Response:
    query = select(zaaktypen)
    if "identificatie" in request.query:
        query = query.where(zaaktypen.c.identificatie == request.query["identificatie"])
    if "datumGeldigheid" in request.query:
        errors: Errors = []
        day = date_field(request.query, "datumGeldigheid", errors)
        if errors:
            raise invalid(errors)
        open_end = zaaktypen.c.einde_geldigheid.is_(None) | (zaaktypen.c.einde_geldigheid >= day)
        query = query.where(zaaktypen.c.begin_geldigheid <= day, open_end)
    if request.query.get("status") == "concept":  # every demo zaaktype is published
        query = query.where(false())
    return paginate(request, query.order_by(zaaktypen.c.identificatie), _zaaktypen_json)


async def get_zaaktype(request: web.Request) -> web.Response:
    return retrieve(request, zaaktypen, _zaaktypen_json)


def _catalogue_common(request: web.Request, row: Row) -> dict[str, Any]:
    return {
        "zaaktype": link(request, CATALOGI, "zaaktypen", row.zaaktype_uuid),
        "zaaktypeIdentificatie": row.zaaktype_identificatie,
        "catalogus": link(request, CATALOGI, "catalogussen", sid("catalogus")),
        "beginGeldigheid": None,
        "eindeGeldigheid": None,
        "beginObject": row.begin_geldigheid.isoformat(),
        "eindeObject": None,  # as for zaaktypen: null for a current version
    }


def _with_zaaktype(table: Table) -> Select:
    columns = (
        zaaktypen.c.identificatie.label("zaaktype_identificatie"),
        zaaktypen.c.begin_geldigheid,
    )
    return select(table, *columns).join(zaaktypen, table.c.zaaktype_uuid == zaaktypen.c.uuid)


def _statustypen_json(
    request: web.Request, conn: Connection, rows: list[Row]
) -> list[dict[str, Any]]:
    final = final_statustypen(conn)
    return [
        {
            "url": link(request, CATALOGI, "statustypen", row.uuid),
            "omschrijving": row.omschrijving,
            "omschrijvingGeneriek": "",
            "statustekst": row.statustekst,
            "volgnummer": row.volgnummer,
            "isEindstatus": row.uuid in final,
            "informeren": True,
            "doorlooptijd": None,
            "toelichting": None,
            "checklistitemStatustype": [],
            "eigenschappen": [],
            "zaakobjecttypen": [],
            **_catalogue_common(request, row),
        }
        for row in rows
    ]


def _roltypen_json(request: web.Request, conn: Connection, rows: list[Row]) -> list[dict[str, Any]]:
    return [
        {
            "url": link(request, CATALOGI, "roltypen", row.uuid),
            "omschrijving": row.omschrijving,
            "omschrijvingGeneriek": row.omschrijving_generiek,
            **_catalogue_common(request, row),
        }
        for row in rows
    ]


def _by_zaaktype(request: web.Request, table: Table) -> Select:
    query = _with_zaaktype(table)
    if "zaaktype" in request.query:
        zaaktype = ref_uuid(request.query["zaaktype"], CATALOGI, "zaaktypen") or ""
        query = query.where(table.c.zaaktype_uuid == zaaktype)
    return query


async def list_statustypen(request: web.Request) -> web.Response:
    query = _by_zaaktype(request, statustypen).order_by(
        statustypen.c.zaaktype_uuid, statustypen.c.volgnummer
    )
    return paginate(request, query, _statustypen_json)


async def list_roltypen(request: web.Request) -> web.Response:
    query = _by_zaaktype(request, roltypen)
    if "omschrijvingGeneriek" in request.query:
        kind = request.query["omschrijvingGeneriek"]
        query = query.where(roltypen.c.omschrijving_generiek == kind)
    return paginate(request, query.order_by(roltypen.c.uuid), _roltypen_json)


def _detail(table: Table, serialise: Serialise) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def detail(request: web.Request) -> web.Response:
        with request.app[ENGINE].connect() as conn:
            query = _with_zaaktype(table).where(table.c.uuid == request.match_info["uuid"])
            row = conn.execute(query).first()
            if row is None:
                raise not_found()
            return web.json_response(serialise(request, conn, [row])[0])

    return detail


get_statustype = _detail(statustypen, _statustypen_json)
get_roltype = _detail(roltypen, _roltypen_json)
