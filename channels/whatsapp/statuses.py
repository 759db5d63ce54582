"""What became of the messages we sent: Meta's status callbacks, in the handoff database.

Each message the Graph API accepts is recorded with its conversation; Meta then reports it
`sent`, `delivered`, `read` or `failed`. Callbacks arrive out of order and "delivered" may be
skipped, so a status only ever moves up (sent < delivered < read), whichever order they come
in; `failed` wins over all of them and keeps its error code. A callback may even come before we
recorded the send (the Graph API answered slowly): the row is made by whichever comes first.

Rows are keyed by a hash of the message id: a "wamid.…" is base64 that spells the resident's
phone number. They are removed after the retention period (ASSISTANT_RETENTION_DAYS).

SQLAlchemy Core on the handoff database (HANDOFF_DATABASE_URL), like the handoff store; methods
block, async callers run them in a thread. Each change is one conditional UPDATE or an INSERT,
so two processes recording the same message never lose a status.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, delete, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from assistant.handoff.store import aware, now

# Higher wins. "accepted": the Graph API took the message, no callback yet.
RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}

metadata = MetaData()

deliveries = Table(
    "whatsapp_delivery",
    metadata,
    Column("message_key", String(64), primary_key=True),
    Column("conversation_id", String(128), nullable=True, index=True),
    Column("status", String(16), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("error_code", String(16), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, index=True),
)


@dataclass(frozen=True)
class Delivery:
    conversation_id: str | None
    status: str
    error_code: str | None
    updated_at: dt.datetime


def message_key(message_id: str) -> str:
    return hashlib.sha256(message_id.encode("utf-8")).hexdigest()


class DeliveryStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def ensure_schema(self) -> None:
        metadata.create_all(self._engine)

    def dispose(self) -> None:
        self._engine.dispose()

    def record_sent(self, message_id: str, conversation_id: str) -> None:
        """The Graph API accepted `message_id` for this conversation."""
        key = message_key(message_id)
        with self._engine.begin() as connection:
            # A callback may have come first and made the row without the conversation.
            done = connection.execute(
                sql_update(deliveries)
                .where(deliveries.c.message_key == key)
                .values(conversation_id=conversation_id)
            ).rowcount
        if not done:
            self._insert_or(key, conversation_id, "accepted", None)

    def record_status(self, message_id: str, status: str, error_code: str | None = None) -> bool:
        """A status callback; False when the row already had this status or a later one."""
        if status not in RANK or status == "accepted":
            raise ValueError(f"unknown delivery status {status!r}")
        key = message_key(message_id)
        if self._raise(key, status, error_code):
            return True
        return self._insert_or(key, None, status, error_code)

    def get(self, message_id: str) -> Delivery | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(deliveries).where(deliveries.c.message_key == message_key(message_id))
            ).first()
        if row is None:
            return None
        return Delivery(row.conversation_id, row.status, row.error_code, aware(row.updated_at))  # type: ignore[arg-type]

    def purge_older_than(self, retention: dt.timedelta) -> int:
        with self._engine.begin() as connection:
            return connection.execute(
                delete(deliveries).where(deliveries.c.updated_at < now() - retention)
            ).rowcount

    def _raise(self, key: str, status: str, error_code: str | None) -> bool:
        """Move the row's status up to `status`; False when it is missing or already there."""
        with self._engine.begin() as connection:
            return bool(
                connection.execute(
                    sql_update(deliveries)
                    .where(deliveries.c.message_key == key, deliveries.c.rank < RANK[status])
                    .values(
                        status=status, rank=RANK[status], error_code=error_code, updated_at=now()
                    )
                ).rowcount
            )

    def _insert_or(
        self, key: str, conversation_id: str | None, status: str, error_code: str | None
    ) -> bool:
        """A new row; when another writer made it first, apply ours to theirs instead."""
        row = {
            "message_key": key,
            "conversation_id": conversation_id,
            "status": status,
            "rank": RANK[status],
            "error_code": error_code,
            "updated_at": now(),
        }
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(deliveries).values(**row))
            return True
        except IntegrityError:
            if conversation_id is not None:
                with self._engine.begin() as connection:
                    connection.execute(
                        sql_update(deliveries)
                        .where(deliveries.c.message_key == key)
                        .values(conversation_id=conversation_id)
                    )
            return status != "accepted" and self._raise(key, status, error_code)
