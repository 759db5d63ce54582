"""The JCC sandbox's data: tables prefixed `jcc_`, the Utrecht seed, and the free slots.

Every method is blocking (SQLAlchemy Core); the app runs them in a thread so that concurrent
requests really race and the unique constraint on (location, start), not luck, decides who gets
a slot. Times are stored naive in Amsterdam time, exactly as JCC answers them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    delete,
    insert,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from assistant.backends.appointments.calendar import is_office_day
from assistant.sandbox.db import create_tables

SLOT = timedelta(minutes=20)
FIRST_SLOT, LAST_SLOT = time(9, 0), time(16, 20)  # the last appointment ends at 16:40
HORIZON_DAYS = 42  # bookable from tomorrow for six weeks

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
appointments = Table(
    "jcc_appointments",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("activity_id", String(36), nullable=False),
    Column("location_id", String(36), nullable=False),
    Column("starts_at", DateTime, nullable=False),
    Column("ends_at", DateTime, nullable=False),
    Column("first_name", String(200), nullable=False),
    Column("last_name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("phone", String(50), nullable=False),
    Column("message", String(2000), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("location_id", "starts_at", name="uq_jcc_appointments_slot"),
)

PRODUCTS = [
    "Paspoort aanvragen",
    "Paspoort ophalen",
    "ID-kaart aanvragen",
    "ID-kaart ophalen",
    "Rijbewijs aanvragen",
    "Rijbewijs ophalen",
]
# (name, street, house number, postcode); the Overvecht address is illustrative.
OFFICES = [
    ("Stadskantoor", "Lange Viestraat", "2", "3511 BK"),
    ("Wijkbureau Overvecht", "Zamenhofdreef", "19", "3562 JW"),
]
_NAMESPACE = uuid.UUID("6f1d6a52-1c39-4d0e-9a51-6a2c3f0c1f10")


def stable_id(kind: str, name: str) -> str:
    """A GUID like JCC's that stays the same across restarts and databases."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


class JccStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def seed(self) -> None:
        """Create the tables and the six products and two Utrecht offices (idempotent)."""
        create_tables(self.engine, metadata)
        wanted = {
            activities: [
                {
                    "id": stable_id("activity", name),
                    "number": number,
                    "description": name,
                    "duration_seconds": int(SLOT.total_seconds()),
                }
                for number, name in enumerate(PRODUCTS, 1)
            ],
            locations: [
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
            ],
        }
        for table, rows in wanted.items():
            try:
                with self.engine.begin() as conn:
                    present = set(conn.execute(select(table.c.id)).scalars())
                    missing = [row for row in rows if row["id"] not in present]
                    if missing:
                        conn.execute(insert(table), missing)
            except IntegrityError:
                pass  # another process seeded the same rows at the same moment

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

    def free_slots(self, location_id: str, today: date, start: date, end: date) -> list[datetime]:
        """Free grid times at the location on office days in [start, end), within the horizon."""
        grid = list(_grid(today, start, end))
        if not grid:
            return []
        with self.engine.connect() as conn:
            query = select(appointments.c.starts_at).where(
                appointments.c.location_id == location_id,
                appointments.c.starts_at >= grid[0],
                appointments.c.starts_at <= grid[-1],
            )
            taken = set(conn.execute(query).scalars())
        return [moment for moment in grid if moment not in taken]

    def add(self, row: dict[str, Any]) -> bool:
        """Store an appointment; False when the slot was taken (the unique constraint decided)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(appointments), row)
        except IntegrityError:
            return False
        return True

    def remove(self, appointment_id: str) -> bool:
        with self.engine.begin() as conn:
            query = delete(appointments).where(appointments.c.id == appointment_id)
            return conn.execute(query).rowcount == 1

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


def _grid(today: date, start: date, end: date) -> Iterator[datetime]:
    day = max(start, today + timedelta(days=1))
    end = min(end, today + timedelta(days=HORIZON_DAYS + 1))
    while day < end:
        if is_office_day(day):
            moment, last = datetime.combine(day, FIRST_SLOT), datetime.combine(day, LAST_SLOT)
            while moment <= last:
                yield moment
                moment += SLOT
        day += timedelta(days=1)
