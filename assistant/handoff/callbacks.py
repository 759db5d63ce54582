"""Callback requests: when no employee can chat (outside hours, or nobody picked up in time).

The resident leaves a name, a phone number and what it is about; the request waits in the KCC's
queue until an employee calls back and marks it done. `due_at` is when the KCC opens next
(`Kcc.next_opening`), so the queue shows what is due first and the assistant can tell the
resident when to expect the call.

The same database as the handoff requests (`assistant/handoff/store.py`, one schema).
Name and phone number are personal data: they are only for the call, and every request, done
or not, is deleted after the retention period. Methods block; async callers use a thread.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import Column, DateTime, String, Table, and_, delete, insert, select, update
from sqlalchemy.engine import Engine, Row

from assistant.handoff.store import (
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    aware,
    metadata,
    now,
)
from assistant.sql import engine_for

MAX_TOPIC_LENGTH = 200
# What `assistant.contact_details.phone_in` gives: a Dutch national number or E.164.
_PHONE = re.compile(r"^(?:0\d{9}|\+[1-9]\d{7,14})$")


class CallbackStatus(str, Enum):
    OPEN = "open"
    DONE = "done"


callbacks = Table(
    "callback_request",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("conversation_id", String(MAX_ID_LENGTH), nullable=False),
    Column("municipality", String(64), nullable=False, index=True),
    Column("channel", String(32), nullable=False),
    Column("name", String(MAX_NAME_LENGTH), nullable=False),
    Column("phone", String(16), nullable=False),
    Column("topic", String(MAX_TOPIC_LENGTH), nullable=False),
    Column("status", String(8), nullable=False, index=True),
    Column("requested_at", DateTime(timezone=True), nullable=False, index=True),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("done_by", String(64), nullable=True),
    Column("done_at", DateTime(timezone=True), nullable=True),
)


@dataclass(frozen=True)
class Callback:
    id: str
    conversation_id: str
    municipality: str
    channel: str
    name: str
    phone: str
    topic: str
    status: CallbackStatus
    requested_at: dt.datetime
    due_at: dt.datetime
    done_by: str | None = None
    done_at: dt.datetime | None = None

    def __repr__(self) -> str:  # name and phone stay out of logs and tracebacks
        return f"Callback(id={self.id!r}, status={self.status.value!r})"


def _callback(row: Row) -> Callback:
    return Callback(
        id=row.id,
        conversation_id=row.conversation_id,
        municipality=row.municipality,
        channel=row.channel,
        name=row.name,
        phone=row.phone,
        topic=row.topic,
        status=CallbackStatus(row.status),
        requested_at=aware(row.requested_at),  # type: ignore[arg-type]
        due_at=aware(row.due_at),  # type: ignore[arg-type]
        done_by=row.done_by,
        done_at=aware(row.done_at),
    )


def _required(field: str, value: str, max_length: int) -> str:
    cleaned = " ".join(value.split()) if isinstance(value, str) else ""
    if not cleaned or len(cleaned) > max_length:
        raise ValueError(f"{field} must be 1 to {max_length} characters")
    return cleaned


class CallbackStore:
    def __init__(self, url_or_engine: str | Engine) -> None:
        self._engine = (
            engine_for(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        )

    def ensure_schema(self) -> None:
        """Both tables (they share the handoff store's metadata): the action server may write a
        callback before any Rasa process has started."""
        metadata.create_all(self._engine)

    def request(
        self,
        conversation_id: str,
        *,
        municipality: str,
        channel: str,
        name: str,
        phone: str,
        topic: str,
        due_at: dt.datetime,
    ) -> Callback:
        """Queue a callback. `phone` as `phone_in` gives it; `due_at` an aware datetime."""
        if not _PHONE.match(phone or ""):
            raise ValueError("phone must be a national (0612345678) or E.164 number")
        if due_at.tzinfo is None:
            raise ValueError("due_at must be timezone-aware")
        row = {
            "id": uuid.uuid4().hex,
            "conversation_id": _required("conversation_id", conversation_id, MAX_ID_LENGTH),
            "municipality": municipality,
            "channel": channel,
            "name": _required("name", name, MAX_NAME_LENGTH),
            "phone": phone,
            "topic": _required("topic", topic, MAX_TOPIC_LENGTH),
            "status": CallbackStatus.OPEN.value,
            "requested_at": now(),
            # UTC in the row: SQLite keeps a timestamp's digits and drops its zone.
            "due_at": due_at.astimezone(dt.timezone.utc),
        }
        with self._engine.begin() as connection:
            connection.execute(insert(callbacks).values(**row))
        return self.get(row["id"])  # type: ignore[return-value]

    def get(self, callback_id: str) -> Callback | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(callbacks).where(callbacks.c.id == callback_id)).first()
        return _callback(row) if row else None

    def open(self, municipality: str | None = None) -> list[Callback]:
        """Callbacks still to make, the one due first first."""
        query = select(callbacks).where(callbacks.c.status == CallbackStatus.OPEN.value)
        if municipality is not None:
            query = query.where(callbacks.c.municipality == municipality)
        with self._engine.connect() as connection:
            rows = connection.execute(query.order_by(callbacks.c.due_at, callbacks.c.requested_at))
            return [_callback(row) for row in rows]

    def done(self, callback_id: str, employee_id: str) -> bool:
        """Mark a callback made; False when it was done already (by a colleague)."""
        with self._engine.begin() as connection:
            changed = connection.execute(
                update(callbacks)
                .where(
                    and_(
                        callbacks.c.id == callback_id,
                        callbacks.c.status == CallbackStatus.OPEN.value,
                    )
                )
                .values(status=CallbackStatus.DONE.value, done_by=employee_id, done_at=now())
            ).rowcount
        return changed == 1

    def purge_older_than(self, retention: dt.timedelta) -> int:
        """Delete every callback requested before the retention period, made or not."""
        with self._engine.begin() as connection:
            return connection.execute(
                delete(callbacks).where(callbacks.c.requested_at < now() - retention)
            ).rowcount
