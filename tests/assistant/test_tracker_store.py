"""The production tracker store (assistant/tracker_store.py) on a real PostgreSQL database.

It must store exactly what Rasa's SQLTrackerStore stores, read back by Rasa's own store, while
other conversations in the same worker go on during its database work.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import psycopg2
import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.tracker_store import PostgresTrackerStore

DOMAIN = Domain.from_dict({"intents": ["vraag"], "slots": {}})


@pytest.fixture
def stores(postgres_url: str) -> Iterator[tuple[PostgresTrackerStore, PostgresTrackerStore]]:
    """Two instances on one database, as two Rasa workers have."""
    # A host containing "://" is used by Rasa as the complete database URL.
    made = [PostgresTrackerStore(DOMAIN, dialect="postgresql", host=postgres_url) for _ in "ab"]
    yield made[0], made[1]
    for store in made:
        store.engine.dispose()


def rasa_store(postgres_url: str) -> SQLTrackerStore:
    return SQLTrackerStore(DOMAIN, dialect="postgresql", host=postgres_url)


def turn(question: str, answer: str) -> list:
    return [
        UserUttered(question, intent={"name": "vraag", "confidence": 1.0}),
        ActionExecuted("utter_antwoord"),
        BotUttered(answer),
        ActionExecuted("action_listen"),
    ]


def opening() -> list:
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
    ]


QUESTIONS = (
    ("Wat moet ik meenemen?", "Een pasfoto."),
    ("Hoe lang duurt het?", "Vijf werkdagen."),
    ("Bedankt", "Graag gedaan."),
)


async def converse(stores: list[SQLTrackerStore], sender: str) -> None:
    """A conversation whose turns are taken by the stores in turn, as by the workers of Rasa
    that the turns reached: each turn read, extended and saved (twice: nothing may double)."""
    tracker = DialogueStateTracker.from_events(sender, opening() + turn("Paspoort?", "€ 84"), [])
    await stores[0].save(tracker)  # a new conversation: nothing was read
    for number, (question, answer) in enumerate(QUESTIONS, start=1):
        store = stores[number % len(stores)]
        tracker = await store.retrieve(sender)
        assert tracker is not None
        for event in turn(question, answer):
            tracker.update(event)
        await store.save(tracker)
        await store.save(tracker)


def what_was_said(tracker: DialogueStateTracker | None) -> list[tuple[str, str | None]]:
    assert tracker is not None
    return [
        (e.type_name, getattr(e, "text", getattr(e, "action_name", None))) for e in tracker.events
    ]


async def test_turns_saved_by_either_worker_are_stored_as_rasas_own_store_stores_them(
    stores: tuple[PostgresTrackerStore, PostgresTrackerStore], postgres_url: str
) -> None:
    ours, theirs = f"ours-{uuid.uuid4().hex}", f"rasa-{uuid.uuid4().hex}"
    reference = rasa_store(postgres_url)
    try:
        await converse(list(stores), ours)
        await converse([reference], theirs)
        read = {sender: await reference.retrieve(sender) for sender in (ours, theirs)}
        full = {sender: await reference.retrieve_full_tracker(sender) for sender in (ours, theirs)}
    finally:
        reference.engine.dispose()

    assert what_was_said(read[ours]) == what_was_said(read[theirs])
    assert what_was_said(full[ours]) == what_was_said(full[theirs])
    said = [text for kind, text in what_was_said(full[ours]) if kind == "user"]
    assert said == ["Paspoort?", *(question for question, _ in QUESTIONS)]


async def test_a_new_session_is_read_from_its_start_like_rasa_does(
    stores: tuple[PostgresTrackerStore, PostgresTrackerStore], postgres_url: str
) -> None:
    store, _ = stores
    sender = f"store-{uuid.uuid4().hex}"
    old = DialogueStateTracker.from_events(sender, opening() + turn("Paspoort?", "€ 84"), [])
    await store.save(old)
    tracker = await store.retrieve(sender)
    assert tracker is not None
    for event in [*opening(), *turn("Rijbewijs?", "€ 45")]:  # the next day: a new session
        event.timestamp = old.events[-1].timestamp + 86400
        tracker.update(event)
    await store.save(tracker)

    ours = await store.retrieve(sender)
    reader = rasa_store(postgres_url)
    try:
        theirs = await reader.retrieve(sender)
        everything = await reader.retrieve_full_tracker(sender)
    finally:
        reader.engine.dispose()
    assert ours is not None and theirs is not None and everything is not None
    assert [e.as_dict() for e in ours.events] == [e.as_dict() for e in theirs.events]
    assert [e.text for e in ours.events if isinstance(e, UserUttered)] == ["Rijbewijs?"]
    assert len(everything.events) == 2 * (len(opening()) + 4)


async def test_other_conversations_go_on_while_a_save_waits_for_the_database(
    stores: tuple[PostgresTrackerStore, PostgresTrackerStore], postgres_url: str
) -> None:
    store, _ = stores
    sender = f"store-{uuid.uuid4().hex}"
    tracker = DialogueStateTracker.from_events(sender, opening() + turn("Paspoort?", "€ 84"), [])
    # Another session holds the table: the save has to wait inside PostgreSQL.
    blocker = psycopg2.connect(postgres_url)
    watcher = psycopg2.connect(postgres_url)
    watcher.autocommit = True
    try:
        with blocker.cursor() as cursor:
            cursor.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        save = asyncio.create_task(store.save(tracker))

        async def save_is_waiting_on_the_lock() -> None:
            # Runs on the same event loop as the save: with a blocking store it would not run
            # at all until the save was done.
            while True:
                with watcher.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                    )
                    if cursor.fetchone()[0]:
                        return
                await asyncio.sleep(0.02)

        await asyncio.wait_for(save_is_waiting_on_the_lock(), timeout=30)
        assert not save.done()
    finally:
        blocker.rollback()
        blocker.close()
        watcher.close()
    await asyncio.wait_for(save, timeout=30)
    stored = await store.retrieve(sender)
    assert [e.text for e in stored.events if isinstance(e, UserUttered)] == ["Paspoort?"]
