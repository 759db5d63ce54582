"""Ratings from the web chat, stored in a real PostgreSQL database (and the SQLite default)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from assistant.feedback import FeedbackStore


@pytest.fixture
def store(postgres_url: str) -> Iterator[FeedbackStore]:
    feedback = FeedbackStore(postgres_url)
    yield feedback
    feedback.dispose()


def rate(store: FeedbackStore, sender: str, message: str, helpful: bool, response: str) -> None:
    store.rate_answer(
        sender_id=sender,
        message_id=message,
        answer_text=f"Antwoord {message}",
        helpful=helpful,
        municipality="utrecht",
        response_name=response,
    )


def test_answer_rating_is_stored_and_can_be_changed(store: FeedbackStore) -> None:
    rate(store, "webchat-a", "m1", True, "utter_document_costs")
    rate(store, "webchat-a", "m2", False, "utter_greet")
    rate(store, "webchat-a", "m1", False, "utter_document_costs")  # the resident changed mind
    rate(store, "webchat-b", "m1", True, "utter_document_costs")  # another conversation

    assert store.ratings_for("webchat-a").answers == {"m1": False, "m2": False}
    assert store.ratings_for("webchat-b").answers == {"m1": True}
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM answer_rating")).scalar_one() == 3


def test_conversation_score_is_one_per_conversation(store: FeedbackStore) -> None:
    assert store.ratings_for("webchat-a").score is None
    store.rate_conversation(sender_id="webchat-a", score=4, municipality="zwolle")
    store.rate_conversation(sender_id="webchat-a", score=9, municipality="zwolle")

    assert store.ratings_for("webchat-a").score == 9
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT score, municipality FROM conversation_rating")).all()
    assert rows == [(9, "zwolle")]


@pytest.mark.parametrize("score", [0, 11, -1, True, 5.0, "7", None])
def test_scores_outside_one_to_ten_are_refused(store: FeedbackStore, score: object) -> None:
    with pytest.raises(ValueError, match="1 to 10"):
        store.rate_conversation(sender_id="webchat-a", score=score, municipality="utrecht")  # type: ignore[arg-type]
    assert store.ratings_for("webchat-a").score is None


def test_database_itself_rejects_scores_outside_the_scale(store: FeedbackStore) -> None:
    store.ensure_schema()
    check = "ck_conversation_rating_score"
    with pytest.raises(IntegrityError, match=check), store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO conversation_rating (sender_id, score, municipality, created_at) "
                "VALUES ('x', 12, 'utrecht', now())"
            )
        )


def test_only_the_assistants_words_are_stored(store: FeedbackStore) -> None:
    """Privacy: no column can hold what the resident typed."""
    store.ensure_schema()
    columns = {
        table: {column["name"] for column in inspect(store.engine).get_columns(table)}
        for table in ("answer_rating", "conversation_rating")
    }
    assert columns == {
        "answer_rating": {
            "id",
            "sender_id",
            "message_id",
            "response_name",
            "answer_text",
            "helpful",
            "municipality",
            "created_at",
        },
        "conversation_rating": {"id", "sender_id", "score", "municipality", "created_at"},
    }


def test_bad_answer_ratings_are_refused(store: FeedbackStore) -> None:
    with pytest.raises(ValueError):
        rate(store, "", "m1", True, "utter_greet")
    with pytest.raises(ValueError):
        store.rate_answer(
            sender_id="webchat-a",
            message_id="m1",
            answer_text="Antwoord",
            helpful="ja",  # type: ignore[arg-type]
            municipality="utrecht",
        )
    assert store.ratings_for("webchat-a").answers == {}


def test_summary_lists_the_least_helpful_answers_first(store: FeedbackStore) -> None:
    rate(store, "s1", "m1", True, "utter_greet")
    rate(store, "s2", "m1", True, "utter_greet")
    rate(store, "s1", "m2", False, "utter_document_costs")
    rate(store, "s2", "m2", False, "utter_document_costs")
    rate(store, "s3", "m2", True, "utter_document_costs")

    summary = store.answer_summary()
    assert [(s.response_name, s.helpful, s.not_helpful) for s in summary] == [
        ("utter_document_costs", 1, 2),
        ("utter_greet", 2, 0),
    ]
    assert store.answer_summary(municipality="zwolle") == []


def test_ratings_older_than_the_retention_period_are_removed(store: FeedbackStore) -> None:
    rate(store, "old", "m1", True, "utter_greet")
    store.rate_conversation(sender_id="old", score=7, municipality="utrecht")
    rate(store, "new", "m1", True, "utter_greet")
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)
    with store.engine.begin() as conn:
        for table in ("answer_rating", "conversation_rating"):
            conn.execute(
                text(f"UPDATE {table} SET created_at = :t WHERE sender_id = 'old'"),
                {"t": long_ago},
            )

    assert store.purge_older_than(30) == 2
    assert store.ratings_for("old").answers == {}
    assert store.ratings_for("old").score is None
    assert store.ratings_for("new").answers == {"m1": True}


def test_sqlite_default_creates_its_directory(tmp_path: Path) -> None:
    database = tmp_path / "var" / "feedback.sqlite"
    sqlite = FeedbackStore(f"sqlite:///{database}")
    try:
        sqlite.rate_conversation(sender_id="webchat-a", score=10, municipality="utrecht")
        assert database.is_file()
        assert sqlite.ratings_for("webchat-a").score == 10
    finally:
        sqlite.dispose()
