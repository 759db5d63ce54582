"""The Qmatic sandbox's data: tables prefixed `qmatic_`, the Zwolle seed, and the free slots.

Every method is blocking (SQLAlchemy Core); the app runs them in a thread so that concurrent
requests really race and the unique constraint on (branch, start) decides who gets a slot.
Times are stored naive in the branch's time zone, as Qmatic's dates and times calls answer them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
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

SLOT = timedelta(minutes=15)
FIRST_SLOT, LAST_SLOT = time(8, 30), time(16, 15)  # the last appointment ends at 16:30
HORIZON_DAYS = 42  # bookable from tomorrow for six weeks

metadata = MetaData()
services = Table(
    "qmatic_services",
    metadata,
    Column("public_id", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("duration", Integer, nullable=False),  # minutes
    Column("additional_customer_duration", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("public_enabled", Boolean, nullable=False),
)
branches = Table(
    "qmatic_branches",
    metadata,
    Column("public_id", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("address_line1", String(200), nullable=False),
    Column("address_zip", String(10), nullable=False),
    Column("address_city", String(100), nullable=False),
    Column("phone", String(50), nullable=False),
    Column("time_zone", String(64), nullable=False),
)
appointments = Table(
    "qmatic_appointments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("public_id", String(64), nullable=False, unique=True),
    Column("branch_id", String(64), nullable=False),
    Column("service_id", String(64), nullable=False),
    Column("starts_at", DateTime, nullable=False),
    Column("ends_at", DateTime, nullable=False),
    Column("title", String(200), nullable=False),
    Column("notes", String(2000), nullable=False),
    Column("first_name", String(200), nullable=False),
    Column("last_name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("phone", String(50), nullable=False),
    Column("created_ms", BigInteger, nullable=False),  # Qmatic's epoch milliseconds
    UniqueConstraint("branch_id", "starts_at", name="uq_qmatic_appointments_slot"),
)

PRODUCTS = [
    "Paspoort aanvragen",
    "Paspoort ophalen",
    "ID-kaart aanvragen",
    "ID-kaart ophalen",
    "Rijbewijs aanvragen",
    "Rijbewijs ophalen",
]
BRANCHES = [
    ("Stadskantoor", "Lübeckplein 2", "8017 JZ"),
    ("Stadhuis", "Grote Kerkplein 15", "8011 PK"),
]
_NAMESPACE = uuid.UUID("0b6f3f5e-3a47-4b8e-8f0e-5c2d9a7b1e42")


def stable_id(kind: str, name: str) -> str:
    """A publicId like Qmatic's (hex) that stays the same across restarts and databases."""
    return uuid.uuid5(_NAMESPACE, f"{kind}:{name}").hex


class QmaticStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def seed(self) -> None:
        """Create the tables and the six services and two Zwolle branches (idempotent)."""
        create_tables(self.engine, metadata)
        wanted = {
            services: [
                {
                    "public_id": stable_id("service", name),
                    "position": position,
                    "name": name,
                    "duration": int(SLOT.total_seconds() // 60),
                    "additional_customer_duration": 5,
                    "active": True,
                    "public_enabled": True,
                }
                for position, name in enumerate(PRODUCTS, 1)
            ],
            branches: [
                {
                    "public_id": stable_id("branch", name),
                    "position": position,
                    "name": name,
                    "address_line1": street,
                    "address_zip": postcode,
                    "address_city": "Zwolle",
                    "phone": "14 038",
                    "time_zone": "Europe/Amsterdam",
                }
                for position, (name, street, postcode) in enumerate(BRANCHES, 1)
            ],
        }
        for table, rows in wanted.items():
            try:
                with self.engine.begin() as conn:
                    present = set(conn.execute(select(table.c.public_id)).scalars())
                    missing = [row for row in rows if row["public_id"] not in present]
                    if missing:
                        conn.execute(insert(table), missing)
            except IntegrityError:
                pass  # another process seeded the same rows at the same moment

    def services(self) -> list[Mapping[str, Any]]:
        with self.engine.connect() as conn:
            query = select(services).order_by(services.c.position)
            return [row._mapping for row in conn.execute(query)]

    def branches(self) -> list[Mapping[str, Any]]:
        with self.engine.connect() as conn:
            query = select(branches).order_by(branches.c.position)
            return [row._mapping for row in conn.execute(query)]

    def service(self, public_id: str) -> Mapping[str, Any] | None:
        return self._one(services, public_id)

    def branch(self, public_id: str) -> Mapping[str, Any] | None:
        return self._one(branches, public_id)

    def free_slots(self, branch_id: str, today: date, start: date, end: date) -> list[datetime]:
        """Free grid times at the branch on office days in [start, end), within the horizon."""
        grid = list(_grid(today, start, end))
        if not grid:
            return []
        with self.engine.connect() as conn:
            query = select(appointments.c.starts_at).where(
                appointments.c.branch_id == branch_id,
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

    def remove(self, public_id: str) -> bool:
        with self.engine.begin() as conn:
            query = delete(appointments).where(appointments.c.public_id == public_id)
            return conn.execute(query).rowcount == 1

    def appointment(self, public_id: str) -> dict[str, Any] | None:
        """The appointment with its service and branch rows, or None."""
        with self.engine.connect() as conn:
            query = select(appointments).where(appointments.c.public_id == public_id)
            row = conn.execute(query).first()
        if row is None:
            return None
        found = dict(row._mapping)
        found["service"] = self.service(found["service_id"])
        found["branch"] = self.branch(found["branch_id"])
        return found

    def _one(self, table: Table, public_id: str) -> Mapping[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.public_id == public_id)).first()
        return None if row is None else row._mapping


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
