"""Who answers a conversation: the handoff requests and their state, in SQL.

A resident who asks for a person gets a handoff request: `waiting` in the queue, `taken` by one
KCC employee, then `closed` (back to the assistant, ended, timed out or left). The state lives in
the database, not in a process, so every Rasa process and console sees the same queue, and a
restart loses nothing. Taking a request is one conditional UPDATE (`... WHERE status =
'waiting'`): the database decides, so two employees can never take the same conversation.

SQLAlchemy Core, so the embedded default (`sqlite:///var/handoff.sqlite`) and PostgreSQL in
production run the same statements. Timers are timestamps in the rows (`expire_waiting` closes
what waited too long), never sleeping tasks in one process. Methods block; async callers run
them in a thread. Only what the queue needs is stored: the detected topic and a one-line
summary, not the conversation (that stays in Rasa's tracker).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, Row

from assistant.sql import engine_for

MAX_ID_LENGTH = 128
MAX_SUMMARY_LENGTH = 300
MAX_NAME_LENGTH = 100


class Status(str, Enum):
    WAITING = "waiting"
    TAKEN = "taken"
    CLOSED = "closed"


class Closed(str, Enum):
    """How a handoff ended."""

    TO_ASSISTANT = "to_assistant"  # the employee handed the conversation back
    ENDED = "ended"  # the employee closed the conversation
    TIMED_OUT = "timed_out"  # nobody took it within the configured time
    LEFT = "left"  # the resident stopped waiting


OPEN = (Status.WAITING.value, Status.TAKEN.value)

metadata = MetaData()

handoffs = Table(
    "handoff_request",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("conversation_id", String(MAX_ID_LENGTH), nullable=False, index=True),
    Column("municipality", String(64), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("topic", String(64), nullable=True),
    Column("summary", String(MAX_SUMMARY_LENGTH), nullable=False),
    Column("employee_id", String(64), nullable=True),
    Column("employee_name", String(MAX_NAME_LENGTH), nullable=True),
    Column("requested_at", DateTime(timezone=True), nullable=False, index=True),
    Column("taken_at", DateTime(timezone=True), nullable=True),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("closed_how", String(16), nullable=True),
    CheckConstraint(f"status IN {tuple(s.value for s in Status)}", name="handoff_status"),
)

# How residents rated the help of the employee who had their conversation (one score per
# handoff; asked for after the hand-back), apart from the ratings of the assistant's answers.
ratings = Table(
    "handoff_rating",
    metadata,
    Column("handoff_id", String(32), primary_key=True),
    Column("employee_id", String(64), nullable=False, index=True),
    Column("municipality", String(64), nullable=False),
    Column("score", Integer, nullable=False),
    Column("rated_at", DateTime(timezone=True), nullable=False, index=True),
    CheckConstraint("score BETWEEN 1 AND 10", name="handoff_rating_score"),
)


@dataclass(frozen=True)
class Handoff:
    id: str
    conversation_id: str
    municipality: str
    channel: str
    status: Status
    topic: str | None
    summary: str
    requested_at: dt.datetime
    employee_id: str | None = None
    employee_name: str | None = None
    taken_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    closed_how: Closed | None = None

    @property
    def is_open(self) -> bool:
        return self.status in (Status.WAITING, Status.TAKEN)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def aware(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands timestamps back without their zone; they were stored in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.timezone.utc)


def _handoff(row: Row) -> Handoff:
    return Handoff(
        id=row.id,
        conversation_id=row.conversation_id,
        municipality=row.municipality,
        channel=row.channel,
        status=Status(row.status),
        topic=row.topic,
        summary=row.summary,
        requested_at=aware(row.requested_at),  # type: ignore[arg-type]
        employee_id=row.employee_id,
        employee_name=row.employee_name,
        taken_at=aware(row.taken_at),
        closed_at=aware(row.closed_at),
        closed_how=Closed(row.closed_how) if row.closed_how else None,
    )


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    if len(line) <= MAX_SUMMARY_LENGTH:
        return line
    return line[: MAX_SUMMARY_LENGTH - 1].rstrip() + "…"


class HandoffStore:
    def __init__(self, url_or_engine: str | Engine) -> None:
        self._engine = (
            engine_for(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        )

    def ensure_schema(self) -> None:
        metadata.create_all(self._engine)

    def dispose(self) -> None:
        self._engine.dispose()

    def request(
        self,
        conversation_id: str,
        *,
        municipality: str,
        channel: str,
        summary: str,
        topic: str | None = None,
    ) -> Handoff:
        """The conversation's open request, or a new one in the queue. Asking twice (a button
        pressed again, a second channel message) does not queue the resident twice."""
        if not conversation_id or len(conversation_id) > MAX_ID_LENGTH:
            raise ValueError("conversation_id must be 1 to 128 characters")
        with self._engine.begin() as connection:
            if current := self._open(connection, conversation_id):
                return current
            row = {
                "id": uuid.uuid4().hex,
                "conversation_id": conversation_id,
                "municipality": municipality,
                "channel": channel,
                "status": Status.WAITING.value,
                "topic": topic,
                "summary": _one_line(summary),
                "requested_at": now(),
            }
            connection.execute(insert(handoffs).values(**row))
        return self.get(row["id"])  # type: ignore[return-value]

    def get(self, handoff_id: str) -> Handoff | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(handoffs).where(handoffs.c.id == handoff_id)).first()
        return _handoff(row) if row else None

    def latest_for(self, conversation_id: str) -> Handoff | None:
        """The conversation's most recent request, open or closed."""
        with self._engine.connect() as connection:
            row = connection.execute(
                select(handoffs)
                .where(handoffs.c.conversation_id == conversation_id)
                .order_by(handoffs.c.requested_at.desc())
            ).first()
        return _handoff(row) if row else None

    def open_for(self, conversation_id: str) -> Handoff | None:
        """The waiting or taken request of a conversation: what the router asks per message."""
        with self._engine.connect() as connection:
            return self._open(connection, conversation_id)

    def claim(self, handoff_id: str, employee_id: str, employee_name: str) -> Handoff | None:
        """Take a waiting request; None when it is no longer waiting (a colleague was first)."""
        with self._engine.begin() as connection:
            taken = connection.execute(
                update(handoffs)
                .where(and_(handoffs.c.id == handoff_id, handoffs.c.status == Status.WAITING.value))
                .values(
                    status=Status.TAKEN.value,
                    employee_id=employee_id,
                    employee_name=employee_name[:MAX_NAME_LENGTH],
                    taken_at=now(),
                )
            ).rowcount
        return self.get(handoff_id) if taken == 1 else None

    def close(
        self,
        handoff_id: str,
        how: Closed,
        *,
        employee_id: str | None = None,
        only_waiting: bool = False,
    ) -> bool:
        """Close an open request; False when it was not open (any more). With `employee_id`
        only the employee who holds it can; `only_waiting` leaves a taken one alone."""
        states = (Status.WAITING.value,) if only_waiting else OPEN
        condition = and_(handoffs.c.id == handoff_id, handoffs.c.status.in_(states))
        if employee_id is not None:
            condition = and_(condition, handoffs.c.employee_id == employee_id)
        with self._engine.begin() as connection:
            closed = connection.execute(
                update(handoffs)
                .where(condition)
                .values(status=Status.CLOSED.value, closed_at=now(), closed_how=how.value)
            ).rowcount
        return closed == 1

    def queue(self, municipality: str | None = None) -> list[Handoff]:
        """Waiting requests, longest waiting first."""
        query = select(handoffs).where(handoffs.c.status == Status.WAITING.value)
        if municipality is not None:
            query = query.where(handoffs.c.municipality == municipality)
        with self._engine.connect() as connection:
            rows = connection.execute(query.order_by(handoffs.c.requested_at)).all()
        return [_handoff(row) for row in rows]

    def taken(self) -> list[Handoff]:
        """Requests employees hold now."""
        query = select(handoffs).where(handoffs.c.status == Status.TAKEN.value)
        with self._engine.connect() as connection:
            rows = connection.execute(query.order_by(handoffs.c.taken_at)).all()
        return [_handoff(row) for row in rows]

    def position(self, handoff: Handoff) -> int:
        """The resident's place in their municipality's queue (1 = next)."""
        with self._engine.connect() as connection:
            ahead = connection.execute(
                select(func.count())
                .select_from(handoffs)
                .where(
                    and_(
                        handoffs.c.status == Status.WAITING.value,
                        handoffs.c.municipality == handoff.municipality,
                        handoffs.c.requested_at < handoff.requested_at,
                    )
                )
            ).scalar_one()
        return int(ahead) + 1

    def expire_waiting(
        self, waited_longer_than: dt.timedelta, municipality: str | None = None
    ) -> list[Handoff]:
        """Close the requests nobody took in time and return them (to offer a callback). A
        request a colleague takes meanwhile stays taken. Every process may sweep: each request
        is closed, and returned, by exactly one of them."""
        cutoff = now() - waited_longer_than
        expired = [h for h in self.queue(municipality) if h.requested_at < cutoff]
        closed = [h.id for h in expired if self.close(h.id, Closed.TIMED_OUT, only_waiting=True)]
        return [handoff for handoff_id in closed if (handoff := self.get(handoff_id))]

    def rate_help(self, conversation_id: str, score: int) -> bool:
        """The resident's score (1-10) for the employee who last helped in this conversation
        (handed it back or ended it); a second score replaces the first. False when no
        employee helped."""
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 10:
            raise ValueError("score must be a whole number from 1 to 10")
        helped = (Closed.TO_ASSISTANT.value, Closed.ENDED.value)
        with self._engine.begin() as connection:
            handoff = connection.execute(
                select(handoffs.c.id, handoffs.c.employee_id, handoffs.c.municipality)
                .where(
                    and_(
                        handoffs.c.conversation_id == conversation_id,
                        handoffs.c.closed_how.in_(helped),
                        handoffs.c.employee_id.is_not(None),
                    )
                )
                .order_by(handoffs.c.closed_at.desc())
            ).first()
            if handoff is None:
                return False
            connection.execute(delete(ratings).where(ratings.c.handoff_id == handoff.id))
            connection.execute(
                insert(ratings).values(
                    handoff_id=handoff.id,
                    employee_id=handoff.employee_id,
                    municipality=handoff.municipality,
                    score=score,
                    rated_at=now(),
                )
            )
        return True

    def help_score(self, handoff_id: str) -> int | None:
        with self._engine.connect() as connection:
            return connection.execute(
                select(ratings.c.score).where(ratings.c.handoff_id == handoff_id)
            ).scalar_one_or_none()

    def purge_older_than(self, retention: dt.timedelta) -> int:
        """Delete closed requests (and their ratings) older than the retention period."""
        cutoff = now() - retention
        with self._engine.begin() as connection:
            connection.execute(delete(ratings).where(ratings.c.rated_at < cutoff))
            return connection.execute(
                delete(handoffs).where(
                    and_(handoffs.c.status == Status.CLOSED.value, handoffs.c.closed_at < cutoff)
                )
            ).rowcount

    @staticmethod
    def _open(connection: Connection, conversation_id: str) -> Handoff | None:
        row = connection.execute(
            select(handoffs)
            .where(
                and_(
                    handoffs.c.conversation_id == conversation_id,
                    handoffs.c.status.in_(OPEN),
                )
            )
            .order_by(handoffs.c.requested_at.desc())
        ).first()
        return _handoff(row) if row else None
