"""The stand-in's tables (`zgw_*`, own MetaData) and the queries several resources share.

References between rows are uuids; URLs are made only when answering, from the request's host.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection, Row

SEED = uuidlib.UUID("6f1c4a52-3d0e-4c8a-9b1e-2a7d5e0c9f31")  # namespace of the demo rows' uuids

metadata = MetaData()
zaaktypen = Table(
    "zgw_zaaktypen",
    metadata,
    Column("uuid", String(36), primary_key=True),
    Column("identificatie", String(50), nullable=False, index=True),
    Column("omschrijving", String(80), nullable=False),
    Column("begin_geldigheid", Date, nullable=False),
    Column("einde_geldigheid", Date),
    Column("data", JSON, nullable=False),  # the descriptive fields, as on the wire
)
statustypen = Table(
    "zgw_statustypen",
    metadata,
    Column("uuid", String(36), primary_key=True),
    Column("zaaktype_uuid", String(36), nullable=False, index=True),
    Column("volgnummer", Integer, nullable=False),
    Column("omschrijving", String(80), nullable=False),
    Column("statustekst", Text, nullable=False),
)
roltypen = Table(
    "zgw_roltypen",
    metadata,
    Column("uuid", String(36), primary_key=True),
    Column("zaaktype_uuid", String(36), nullable=False, index=True),
    Column("omschrijving", String(100), nullable=False),
    Column("omschrijving_generiek", String(20), nullable=False),
)
zaken = Table(
    "zgw_zaken",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("identificatie", String(40), nullable=False, index=True),
    Column("bronorganisatie", String(9), nullable=False),
    Column("verantwoordelijke_organisatie", String(9), nullable=False),
    Column("zaaktype_uuid", String(36), nullable=False),
    Column("omschrijving", String(80), nullable=False),
    Column("toelichting", Text, nullable=False),
    Column("vertrouwelijkheidaanduiding", String(20), nullable=False),
    Column("registratiedatum", Date, nullable=False),
    Column("startdatum", Date, nullable=False),
    Column("einddatum", Date),
    Column("einddatum_gepland", Date),
    Column("uiterlijke_einddatum_afdoening", Date),
    Column("laatst_gemuteerd", DateTime(timezone=True), nullable=False),
    UniqueConstraint("bronorganisatie", "identificatie"),
)
statussen = Table(
    "zgw_statussen",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("zaak_uuid", String(36), nullable=False, index=True),
    Column("statustype_uuid", String(36), nullable=False),
    Column("datum_status_gezet", DateTime(timezone=True), nullable=False),
    Column("statustoelichting", Text, nullable=False),
)
rollen = Table(
    "zgw_rollen",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("zaak_uuid", String(36), nullable=False, index=True),
    Column("roltype_uuid", String(36), nullable=False),
    Column("betrokkene_type", String(30), nullable=False),
    Column("betrokkene_identificatie", JSON, nullable=False),
    Column("roltoelichting", Text, nullable=False),
    Column("registratiedatum", DateTime(timezone=True), nullable=False),
)

# A rol's `contactpersoonRol`, in a table of its own so a sandbox database made before it existed
# gains it on the next start (create_all adds tables, never columns).
contactpersonen = Table(
    "zgw_contactpersonen",
    metadata,
    Column("rol_uuid", String(36), primary_key=True),
    Column("naam", String(200), nullable=False),
    Column("emailadres", String(254), nullable=False),
    Column("telefoonnummer", String(20), nullable=False),
    Column("functie", String(50), nullable=False),
)


def sid(name: str) -> str:
    """A stable uuid for a demo row, so seeding again replaces it."""
    return str(uuidlib.uuid5(SEED, name))


def insert_row(conn: Connection, table: Table, values: dict[str, Any]) -> Row:
    conn.execute(insert(table).values(**values))
    return conn.execute(select(table).where(table.c.uuid == values["uuid"])).one()


def current_statuses(conn: Connection, zaak_uuids: Iterable[str]) -> dict[str, Row]:
    """zaak uuid -> its current status: the last by `datumStatusGezet` (Open Zaak's rule)."""
    query = (
        select(statussen)
        .where(statussen.c.zaak_uuid.in_(list(zaak_uuids)))
        .order_by(statussen.c.datum_status_gezet, statussen.c.id)
    )
    return {row.zaak_uuid: row for row in conn.execute(query)}


def final_statustypen(conn: Connection) -> set[str]:
    highest = select(statustypen.c.zaaktype_uuid, func.max(statustypen.c.volgnummer).label("top"))
    highest = highest.group_by(statustypen.c.zaaktype_uuid).subquery()
    query = select(statustypen.c.uuid).join(
        highest,
        (statustypen.c.zaaktype_uuid == highest.c.zaaktype_uuid)
        & (statustypen.c.volgnummer == highest.c.top),
    )
    return set(conn.execute(query).scalars())
