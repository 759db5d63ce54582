"""Ratings residents give in the web chat: per answer (helpful or not) and per conversation (1-10).

Stored in SQL through SQLAlchemy Core so the same code runs on the embedded SQLite default
(`sqlite:///var/feedback.sqlite`) and on PostgreSQL in production (FEEDBACK_DATABASE_URL).

Privacy: we store what the *assistant* said (the answer's id, the name of the response that
produced it and its text) and the pseudonymous conversation id, never anything the resident
typed. Rows older than the retention period are removed with `purge_older_than`.

All methods are blocking (plain SQLAlchemy); async callers run them in a thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from assistant.sql import engine_for

MAX_ID_LENGTH = 128
MAX_NAME_LENGTH = 200
MAX_ANSWER_LENGTH = 10_000

metadata = MetaData()

answer_ratings = Table(
    "answer_rating",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(MAX_ID_LENGTH), nullable=False, index=True),
    Column("message_id", String(MAX_ID_LENGTH), nullable=False),
    # The domain response that produced the answer (e.g. "utter_document_costs"), when known:
    # lets analysts group ratings per answer type rather than per literal text.
    Column("response_name", String(MAX_NAME_LENGTH), nullable=True),
    Column("answer_text", Text, nullable=False),
    Column("helpful", Boolean, nullable=False),
    Column("municipality", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    UniqueConstraint("sender_id", "message_id", name="uq_answer_rating_message"),
)

conversation_ratings = Table(
    "conversation_rating",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(MAX_ID_LENGTH), nullable=False, unique=True),
    Column("score", SmallInteger, nullable=False),
    Column("municipality", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    CheckConstraint("score BETWEEN 1 AND 10", name="ck_conversation_rating_score"),
)


@dataclass(frozen=True)
class ConversationRatings:
    """What a resident already rated in one conversation (to show it again after a reload)."""

    answers: dict[str, bool] = field(default_factory=dict)
    score: int | None = None


@dataclass(frozen=True)
class AnswerSummary:
    response_name: str | None
    helpful: int
    not_helpful: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _require_text(name: str, value: object, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    if len(value) > max_length:
        raise ValueError(f"{name} is longer than {max_length} characters")
    return value


def validate_score(score: object) -> int:
    # bool is a subclass of int: True must not count as a score of 1.
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 10:
        raise ValueError("score must be a whole number from 1 to 10")
    return score


class FeedbackStore:
    """Reads and writes ratings. Create once per process; it holds a connection pool."""

    def __init__(self, url_or_engine: str | Engine) -> None:
        self._engine = (
            engine_for(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        )
        self._schema_ready = False

    @property
    def engine(self) -> Engine:
        return self._engine

    def ensure_schema(self) -> None:
        """Create the tables when missing (idempotent; cheap after the first call)."""
        if not self._schema_ready:
            metadata.create_all(self._engine)
            self._schema_ready = True

    def dispose(self) -> None:
        self._engine.dispose()

    def rate_answer(
        self,
        *,
        sender_id: str,
        message_id: str,
        answer_text: str,
        helpful: bool,
        municipality: str,
        response_name: str | None = None,
    ) -> None:
        """Record (or change) the resident's verdict on one answer of the assistant."""
        _require_text("sender_id", sender_id, MAX_ID_LENGTH)
        _require_text("message_id", message_id, MAX_ID_LENGTH)
        _require_text("municipality", municipality, 64)
        if not isinstance(answer_text, str):
            raise ValueError("answer_text must be a string")
        if not isinstance(helpful, bool):
            raise ValueError("helpful must be true or false")
        if response_name is not None:
            _require_text("response_name", response_name, MAX_NAME_LENGTH)
        values = {
            "response_name": response_name,
            "answer_text": answer_text[:MAX_ANSWER_LENGTH],
            "helpful": helpful,
            "municipality": municipality,
            "created_at": _now(),
        }
        key = and_(
            answer_ratings.c.sender_id == sender_id, answer_ratings.c.message_id == message_id
        )
        self._upsert(
            answer_ratings, key, {"sender_id": sender_id, "message_id": message_id}, values
        )

    def rate_conversation(self, *, sender_id: str, score: int, municipality: str) -> None:
        """Record (or change) the resident's score for the whole conversation."""
        _require_text("sender_id", sender_id, MAX_ID_LENGTH)
        _require_text("municipality", municipality, 64)
        values = {
            "score": validate_score(score),
            "municipality": municipality,
            "created_at": _now(),
        }
        key = conversation_ratings.c.sender_id == sender_id
        self._upsert(conversation_ratings, key, {"sender_id": sender_id}, values)

    def ratings_for(self, sender_id: str) -> ConversationRatings:
        self.ensure_schema()
        with self._engine.connect() as conn:
            answers = {
                row.message_id: row.helpful
                for row in conn.execute(
                    select(answer_ratings.c.message_id, answer_ratings.c.helpful).where(
                        answer_ratings.c.sender_id == sender_id
                    )
                )
            }
            score = conn.execute(
                select(conversation_ratings.c.score).where(
                    conversation_ratings.c.sender_id == sender_id
                )
            ).scalar_one_or_none()
        return ConversationRatings(answers=answers, score=score)

    def answer_summary(self, municipality: str | None = None) -> list[AnswerSummary]:
        """Helpful / not helpful counts per response, worst first: where to improve content."""
        self.ensure_schema()
        helpful = func.sum(func.cast(answer_ratings.c.helpful, Integer))
        total = func.count()
        query = select(answer_ratings.c.response_name, helpful, total).group_by(
            answer_ratings.c.response_name
        )
        if municipality is not None:
            query = query.where(answer_ratings.c.municipality == municipality)
        with self._engine.connect() as conn:
            rows = [
                AnswerSummary(name, int(yes or 0), int(count) - int(yes or 0))
                for name, yes, count in conn.execute(query)
            ]
        return sorted(rows, key=lambda r: (-r.not_helpful, r.helpful, r.response_name or ""))

    def purge_older_than(self, days: int) -> int:
        """Delete ratings older than `days` days; returns the number of rows removed."""
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError("days must be a positive whole number")
        self.ensure_schema()
        cutoff = _now() - dt.timedelta(days=days)
        removed = 0
        with self._engine.begin() as conn:
            for table in (answer_ratings, conversation_ratings):
                removed += conn.execute(delete(table).where(table.c.created_at < cutoff)).rowcount
        return removed

    def _upsert(self, table: Table, key, identity: dict, values: dict) -> None:
        # Portable update-then-insert (SQLite and PostgreSQL spell ON CONFLICT differently in
        # SQLAlchemy Core). A concurrent insert of the same key loses the race on the unique
        # constraint; the retry then updates the row the other request created.
        self.ensure_schema()
        for _attempt in range(2):
            try:
                with self._engine.begin() as conn:
                    if conn.execute(update(table).where(key).values(**values)).rowcount == 0:
                        conn.execute(insert(table).values(**identity, **values))
                return
            except IntegrityError:
                continue
        raise RuntimeError("could not store the rating after a concurrent update")
