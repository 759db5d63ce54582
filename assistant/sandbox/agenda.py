"""The agenda both calendar stand-ins (JCC, Qmatic) keep: equal slots on office days, and
appointments that each take one slot at one place.

The vendors differ in wire shapes, ids and slot length, not in when a slot is free or taken, so
that is decided here once: a slot is free when no appointment at the place starts at it, and the
unique constraint on (place, start), not a read before the write, decides which of two
concurrent bookings gets it. Every method is blocking (SQLAlchemy Core); the apps run them in a
thread so that concurrent requests really race.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
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

HORIZON_DAYS = 42  # bookable from tomorrow for six weeks
# What both stand-ins offer: the document products the assistant books appointments for.
PRODUCTS = [
    "Paspoort aanvragen",
    "Paspoort ophalen",
    "ID-kaart aanvragen",
    "ID-kaart ophalen",
    "Rijbewijs aanvragen",
    "Rijbewijs ophalen",
]


@dataclass(frozen=True)
class Grid:
    """A slot every `slot` from `first` to `last` (the last start) on each office day."""

    slot: timedelta
    first: time
    last: time

    def times(self, today: date, start: date, end: date) -> Iterator[datetime]:
        """The grid in [start, end), clipped to tomorrow up to the horizon."""
        day = max(start, today + timedelta(days=1))
        end = min(end, today + timedelta(days=HORIZON_DAYS + 1))
        while day < end:
            if is_office_day(day):
                moment, last = datetime.combine(day, self.first), datetime.combine(day, self.last)
                while moment <= last:
                    yield moment
                    moment += self.slot
            day += timedelta(days=1)


def slot_columns() -> list[Column[Any]]:
    """When an appointment starts and ends, naive in the place's local time."""
    return [
        Column("starts_at", DateTime, nullable=False),
        Column("ends_at", DateTime, nullable=False),
    ]


def contact_columns() -> list[Column[Any]]:
    """Who booked: the name and the contact `verify_owner` checks later."""
    return [
        Column("first_name", String(200), nullable=False),
        Column("last_name", String(200), nullable=False),
        Column("email", String(320), nullable=False),
        Column("phone", String(50), nullable=False),
    ]


def appointments_table(name: str, metadata: MetaData, place: str, *columns: Any) -> Table:
    """An appointments table whose unique (place, starts_at) lets only one booking of a slot in."""
    slot = UniqueConstraint(place, "starts_at", name=f"uq_{name}_slot")
    return Table(name, metadata, *columns, slot)


class Agenda:
    """Free, add and remove over an appointments table; `place` names its column of the desk
    (location, branch), `key` the column of the vendor's appointment id."""

    def __init__(self, engine: Engine, table: Table, grid: Grid, *, place: str, key: str) -> None:
        self.engine, self.table, self.grid = engine, table, grid
        self._place, self._key = table.c[place], table.c[key]

    def free_slots(self, place_id: str, today: date, start: date, end: date) -> list[datetime]:
        """Free grid times at the place on office days in [start, end), within the horizon."""
        grid = list(self.grid.times(today, start, end))
        if not grid:
            return []
        starts_at = self.table.c.starts_at
        with self.engine.connect() as conn:
            query = select(starts_at).where(
                self._place == place_id, starts_at >= grid[0], starts_at <= grid[-1]
            )
            taken = set(conn.execute(query).scalars())
        return [moment for moment in grid if moment not in taken]

    def add(self, row: dict[str, Any]) -> bool:
        """Store an appointment; False when the slot was taken (the unique constraint decided)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(self.table), row)
        except IntegrityError:
            return False
        return True

    def remove(self, key: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(self.table).where(self._key == key)).rowcount == 1


def insert_missing(engine: Engine, table: Table, key: str, rows: list[dict[str, Any]]) -> None:
    """Seed `rows` not yet present by `key`; idempotent, and safe when two processes seed."""
    try:
        with engine.begin() as conn:
            present = set(conn.execute(select(table.c[key])).scalars())
            missing = [row for row in rows if row[key] not in present]
            if missing:
                conn.execute(insert(table), missing)
    except IntegrityError:
        pass  # another process seeded the same rows at the same moment
