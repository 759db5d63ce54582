"""The demo catalogue and zaken, written again on every start with dates relative to `today`.

Texts a resident reads (`statustekst`) are Dutch, as a municipality would write them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, Engine

from assistant.sandbox.zgw.tables import (
    rollen,
    roltypen,
    sid,
    statussen,
    statustypen,
    zaaktypen,
    zaken,
)

PERMIT_STATUSES = (
    (
        "Ontvangen",
        "Uw aanvraag is ontvangen. U krijgt binnen een week bericht over de behandeling.",
    ),
    (
        "In behandeling",
        "Uw aanvraag is in behandeling. We beoordelen of uw plan aan de regels voldoet.",
    ),
    (
        "Besluit genomen",
        "Er is een besluit genomen over uw aanvraag. "
        "U krijgt het besluit per post of in uw Berichtenbox.",
    ),
)
CASE_TYPES: dict[str, dict[str, Any]] = {
    "omgevingsvergunning": {
        "omschrijving": "Omgevingsvergunning",
        "onderwerp": "Omgevingsvergunning",
        "doel": "Beoordelen of een bouw- of verbouwplan mag worden uitgevoerd.",
        "aanleiding": "Een aanvraag voor een omgevingsvergunning.",
        "handelingInitiator": "Aanvragen",
        "doorlooptijd": "P56D",
        "initiator": "Aanvrager",
        "statuses": PERMIT_STATUSES,
    },
    "kapvergunning": {
        "omschrijving": "Kapvergunning",
        "onderwerp": "Kapvergunning",
        "doel": "Beoordelen of een boom gekapt mag worden.",
        "aanleiding": "Een aanvraag om een boom te kappen.",
        "handelingInitiator": "Aanvragen",
        "doorlooptijd": "P56D",
        "initiator": "Aanvrager",
        "statuses": PERMIT_STATUSES,
    },
    "klacht": {
        "omschrijving": "Klacht",
        "onderwerp": "Klacht over de gemeente",
        "doel": "Een klacht over de gemeente zorgvuldig behandelen.",
        "aanleiding": "Een inwoner is ontevreden over de gemeente.",
        "handelingInitiator": "Indienen",
        "doorlooptijd": "P42D",  # Awb 9:11: six weeks
        "initiator": "Klager",
        "statuses": (
            ("Ontvangen", "Uw klacht is ontvangen."),
            (
                "In behandeling",
                "Uw klacht is in behandeling. Een klachtbehandelaar neemt contact met u op.",
            ),
            ("Afgehandeld", "Uw klacht is afgehandeld. U ontvangt een brief met onze reactie."),
        ),
    },
}
# Fields of a zaaktype kept in its `data` column, as they are on the wire.
DESCRIPTIVE = ("onderwerp", "doel", "aanleiding", "handelingInitiator", "doorlooptijd")
DEMO_ZAKEN: tuple[dict[str, Any], ...] = (
    {
        "identificatie": "ZAAK-2026-0000123",
        "type": "omgevingsvergunning",
        "omschrijving": "Dakkapel plaatsen aan de achterzijde",
        "started_days_ago": 20,
        "statuses": ((1, 0), (2, 5)),  # (volgnummer, days after the start)
        "person": ("Jansen", "Anna", "Oudegracht", 12, "3511AB", "Utrecht"),
    },
    {
        "identificatie": "ZAAK-2026-0000456",
        "type": "kapvergunning",
        "omschrijving": "Kappen van een eik in de achtertuin",
        "started_days_ago": 70,
        "statuses": ((1, 0), (2, 7), (3, 60)),
        "person": ("de Vries", "Pieter", "Lange Nieuwstraat", 7, "3512PA", "Utrecht"),
    },
)


def seed(engine: Engine, rsin: str, today: date) -> None:
    """Write the demo catalogue and zaken again (same uuids), with dates relative to `today`."""
    since = date(2024, 1, 1)
    with engine.begin() as conn:
        old = select(zaken.c.uuid).where(
            zaken.c.identificatie.in_([z["identificatie"] for z in DEMO_ZAKEN])
        )
        old_zaken = list(conn.execute(old).scalars())
        for table in (statussen, rollen):
            conn.execute(delete(table).where(table.c.zaak_uuid.in_(old_zaken)))
        conn.execute(delete(zaken).where(zaken.c.uuid.in_(old_zaken)))
        for key, spec in CASE_TYPES.items():
            type_uuid = sid(f"zaaktype:{key}")
            for table in (statustypen, roltypen):
                conn.execute(delete(table).where(table.c.zaaktype_uuid == type_uuid))
            conn.execute(delete(zaaktypen).where(zaaktypen.c.uuid == type_uuid))
            data = {name: spec[name] for name in DESCRIPTIVE}
            data.update(
                vertrouwelijkheidaanduiding="zaakvertrouwelijk",
                verantwoordelijke="Gemeente",
                referentieproces={"naam": spec["omschrijving"]},
            )
            conn.execute(
                insert(zaaktypen).values(
                    uuid=type_uuid,
                    identificatie=key,
                    omschrijving=spec["omschrijving"],
                    begin_geldigheid=since,
                    einde_geldigheid=None,
                    data=data,
                )
            )
            for number, (omschrijving, tekst) in enumerate(spec["statuses"], start=1):
                conn.execute(
                    insert(statustypen).values(
                        uuid=sid(f"statustype:{key}:{number}"),
                        zaaktype_uuid=type_uuid,
                        volgnummer=number,
                        omschrijving=omschrijving,
                        statustekst=tekst,
                    )
                )
            for kind, omschrijving in (
                ("initiator", spec["initiator"]),
                ("behandelaar", "Behandelaar"),
            ):
                conn.execute(
                    insert(roltypen).values(
                        uuid=sid(f"roltype:{key}:{kind}"),
                        zaaktype_uuid=type_uuid,
                        omschrijving=omschrijving,
                        omschrijving_generiek=kind,
                    )
                )
        for demo in DEMO_ZAKEN:
            _seed_zaak(conn, demo, rsin, today)


def _seed_zaak(conn: Connection, demo: Mapping[str, Any], rsin: str, today: date) -> None:
    key = demo["type"]
    zaak_uuid = sid(f"zaak:{demo['identificatie']}")
    start = today - timedelta(days=demo["started_days_ago"])
    moments = [
        (number, datetime.combine(start + timedelta(days=offset), time(9, 30), timezone.utc))
        for number, offset in demo["statuses"]
    ]
    closed = len(moments) == len(CASE_TYPES[key]["statuses"])
    conn.execute(
        insert(zaken).values(
            uuid=zaak_uuid,
            identificatie=demo["identificatie"],
            bronorganisatie=rsin,
            verantwoordelijke_organisatie=rsin,
            zaaktype_uuid=sid(f"zaaktype:{key}"),
            omschrijving=demo["omschrijving"],
            toelichting="",
            vertrouwelijkheidaanduiding="zaakvertrouwelijk",
            registratiedatum=start,
            startdatum=start,
            einddatum=moments[-1][1].date() if closed else None,
            einddatum_gepland=start + timedelta(days=56),
            uiterlijke_einddatum_afdoening=start + timedelta(days=98),
            laatst_gemuteerd=moments[-1][1],
        )
    )
    for number, moment in moments:
        conn.execute(
            insert(statussen).values(
                uuid=sid(f"status:{demo['identificatie']}:{number}"),
                zaak_uuid=zaak_uuid,
                statustype_uuid=sid(f"statustype:{key}:{number}"),
                datum_status_gezet=moment,
                statustoelichting="",
            )
        )
    family, given, street, house_number, postcode, city = demo["person"]
    person = {
        "geslachtsnaam": family,
        "voornamen": given,
        "verblijfsadres": {
            "aoaIdentificatie": f"0344200000{house_number:06d}",  # BAG nummeraanduiding
            "wplWoonplaatsNaam": city,
            "gorOpenbareRuimteNaam": street,
            "aoaPostcode": postcode,
            "aoaHuisnummer": house_number,
        },
    }
    conn.execute(
        insert(rollen).values(
            uuid=sid(f"rol:{demo['identificatie']}"),
            zaak_uuid=zaak_uuid,
            roltype_uuid=sid(f"roltype:{key}:initiator"),
            betrokkene_type="natuurlijk_persoon",
            betrokkene_identificatie=person,
            roltoelichting="",
            registratiedatum=moments[0][1],
        )
    )
