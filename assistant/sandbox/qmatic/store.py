"""The Qmatic sandbox's data: tables prefixed `qmatic_`, the Zwolle seed, and Qmatic's ids.

The agenda itself (the slot grid, free, add, remove) is shared with JCC in
`assistant.sandbox.agenda`; the unique constraint on (branch, start) decides who gets a slot.
Times are stored naive in the branch's time zone, as Qmatic's dates and times calls answer them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import time, timedelta
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, select
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

__all__ = ["HORIZON_DAYS", "QmaticStore", "stable_id"]

SLOT = timedelta(minutes=15)
GRID = Grid(SLOT, time(8, 30), time(16, 15))  # the last appointment ends at 16:30

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
appointments = appointments_table(
    "qmatic_appointments",
    metadata,
    "branch_id",
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("public_id", String(64), nullable=False, unique=True),
    Column("branch_id", String(64), nullable=False),
    Column("service_id", String(64), nullable=False),
    *slot_columns(),
    Column("title", String(200), nullable=False),
    Column("notes", String(2000), nullable=False),
    *contact_columns(),
    Column("created_ms", BigInteger, nullable=False),  # Qmatic's epoch milliseconds
)

BRANCHES = [
    ("Stadskantoor", "Lübeckplein 2", "8017 JZ"),
    ("Stadhuis", "Grote Kerkplein 15", "8011 PK"),
]
_NAMESPACE = uuid.UUID("0b6f3f5e-3a47-4b8e-8f0e-5c2d9a7b1e42")


def stable_id(kind: str, name: str) -> str:
    """A publicId like Qmatic's (hex) that stays the same across restarts and databases."""
    return uuid.uuid5(_NAMESPACE, f"{kind}:{name}").hex


class QmaticStore(Agenda):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, appointments, GRID, place="branch_id", key="public_id")

    def seed(self) -> None:
        """Create the tables and the six services and two Zwolle branches (idempotent)."""
        create_tables(self.engine, metadata)
        offered = [
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
        ]
        desks = [
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
        ]
        insert_missing(self.engine, services, "public_id", offered)
        insert_missing(self.engine, branches, "public_id", desks)

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
