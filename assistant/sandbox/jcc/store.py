"""The JCC sandbox's data: tables prefixed `jcc_`, the Utrecht seed, and JCC's ids.

The agenda itself (the slot grid, free, add, remove) is shared with Qmatic in
`assistant.sandbox.agenda`; the unique constraint on (location, start), not luck, decides who
gets a slot. Times are stored naive in Amsterdam time, exactly as JCC answers them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import time, timedelta
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, select
from sqlalchemy.engine import Engine

from assistant.sandbox.agenda import (
    HORIZON_DAYS,
    PRODUCTS,
    Agenda,
    Grid,
    appointments_table,
    contact_columns,
    insert_missing,
    slot_columns,
)
from assistant.sandbox.db import create_tables

__all__ = ["HORIZON_DAYS", "SLOT", "JccStore", "stable_id"]

SLOT = timedelta(minutes=20)
GRID = Grid(SLOT, time(9, 0), time(16, 20))  # the last appointment ends at 16:40

metadata = MetaData()
activities = Table(
    "jcc_activities",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("number", Integer, nullable=False),
    Column("description", String(200), nullable=False),
    Column("duration_seconds", Integer, nullable=False),
)
locations = Table(
    "jcc_locations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("number", Integer, nullable=False),
    Column("description", String(200), nullable=False),
    Column("street", String(200), nullable=False),
    Column("house_number", String(20), nullable=False),
    Column("postal_code", String(10), nullable=False),
    Column("city", String(100), nullable=False),
)
appointments = appointments_table(
    "jcc_appointments",
    metadata,
    "location_id",
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("activity_id", String(36), nullable=False),
    Column("location_id", String(36), nullable=False),
    *slot_columns(),
    *contact_columns(),
    Column("message", String(2000), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# (name, street, house number, postcode); the Overvecht address is illustrative.
OFFICES = [
    ("Stadskantoor", "Lange Viestraat", "2", "3511 BK"),
    ("Wijkbureau Overvecht", "Zamenhofdreef", "19", "3562 JW"),
]
_NAMESPACE = uuid.UUID("6f1d6a52-1c39-4d0e-9a51-6a2c3f0c1f10")


def stable_id(kind: str, name: str) -> str:
    """A GUID like JCC's that stays the same across restarts and databases."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


class JccStore(Agenda):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, appointments, GRID, place="location_id", key="id")

    def seed(self) -> None:
        """Create the tables and the six products and two Utrecht offices (idempotent)."""
        create_tables(self.engine, metadata)
        products = [
            {
                "id": stable_id("activity", name),
                "number": number,
                "description": name,
                "duration_seconds": int(SLOT.total_seconds()),
            }
            for number, name in enumerate(PRODUCTS, 1)
        ]
        offices = [
            {
                "id": stable_id("location", name),
                "number": number,
                "description": name,
                "street": street,
                "house_number": house_number,
                "postal_code": postcode,
                "city": "Utrecht",
            }
            for number, (name, street, house_number, postcode) in enumerate(OFFICES, 1)
        ]
        insert_missing(self.engine, activities, "id", products)
        insert_missing(self.engine, locations, "id", offices)

    def activities(self) -> list[Mapping[str, Any]]:
        with self.engine.connect() as conn:
            query = select(activities).order_by(activities.c.number)
            return [row._mapping for row in conn.execute(query)]

    def locations(self) -> list[Mapping[str, Any]]:
        with self.engine.connect() as conn:
            query = select(locations).order_by(locations.c.number)
            return [row._mapping for row in conn.execute(query)]

    def location(self, location_id: str) -> Mapping[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(locations).where(locations.c.id == location_id)).first()
        return None if row is None else row._mapping

    def known(self, location_id: str | None, activity_ids: list[str]) -> bool:
        """Whether every activity (and the location, if given) exists."""
        with self.engine.connect() as conn:
            found = set(conn.execute(select(activities.c.id)).scalars())
            places = set(conn.execute(select(locations.c.id)).scalars())
        return set(activity_ids) <= found and (location_id is None or location_id in places)

    def appointment(self, appointment_id: str) -> dict[str, Any] | None:
        """The appointment with its activity and location rows, or None."""
        with self.engine.connect() as conn:
            query = select(appointments).where(appointments.c.id == appointment_id)
            row = conn.execute(query).first()
            if row is None:
                return None
            found = dict(row._mapping)
            activity = conn.execute(
                select(activities).where(activities.c.id == found["activity_id"])
            ).first()
            place = conn.execute(
                select(locations).where(locations.c.id == found["location_id"])
            ).first()
        found["activity"] = None if activity is None else activity._mapping
        found["location"] = None if place is None else place._mapping
        return found
