"""Rasa's SQL tracker store for production, without stalling the worker it runs in.

Rasa's `SQLTrackerStore` talks to the database synchronously inside its async methods: while a
query runs, and while PostgreSQL makes a commit durable, the worker's event loop stands still
and every other conversation in that worker waits. Before each save it also counts the stored
events of the conversation again to find out which ones are new. `make profile` measured the
two as the largest share of a turn after the NLU (README, Performance).

This store keeps Rasa's table, queries and tracker format (so the retention job, Rasa's tools
and a switch back to `type: SQL` all keep working) and changes two things: the database work
runs in a thread, and the number of stored events is remembered from the read the turn began
with. A turn holds the conversation's lock from that read to its save, so nobody else can have
written in between; a tracker this store did not read is counted in the database as Rasa does.

Configured in deploy/endpoints.production.yml as
`type: assistant.tracker_store.PostgresTrackerStore`, with the settings of Rasa's `type: SQL`.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY


class PostgresTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` with its database work off the event loop and one query less a save."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # id(tracker) -> (the tracker, how many of its events are stored). Trackers compare by
        # value and cannot be hashed, so they are keyed by identity and forgotten with them.
        self._stored: dict[int, tuple[weakref.ref[DialogueStateTracker], int]] = {}

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        events = await asyncio.to_thread(
            self._stored_events, sender_id, fetch_events_from_all_sessions
        )
        if not self.domain or not events:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions:  # the events Rasa counts before a save
            self._remember(tracker, len(events))
        return tracker

    def _stored_events(self, sender_id: str, fetch_events_from_all_sessions: bool) -> list[dict]:
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions).all()
            return [json.loads(row.data) for row in rows]

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        remembered = self._stored.get(id(tracker))
        stored = remembered[1] if remembered and remembered[0]() is tracker else None
        rows = await asyncio.to_thread(self._insert_new_events, tracker, stored)
        self._remember(tracker, rows)

    def _insert_new_events(self, tracker: DialogueStateTracker, stored: int | None) -> int:
        """Store the events after the first `stored` (None: count them in the database);
        return how many of the tracker's events are stored now."""
        with self.session_scope() as session:
            if stored is None:
                stored = self._event_query(
                    session, tracker.sender_id, fetch_events_from_all_sessions=False
                ).count()
            events = list(tracker.events)
            rows = [
                self._row(tracker.sender_id, event.type_name, event.as_dict())
                for event in events[stored:]
            ]
            if rows:
                session.execute(sa.insert(self.SQLEvent.__table__), rows)
                session.commit()
            return len(events)

    @staticmethod
    def _row(sender_id: str, type_name: str, data: dict[str, Any]) -> dict[str, Any]:
        """The columns Rasa's SQLTrackerStore.save writes for one event."""
        return {
            "sender_id": sender_id,
            "type_name": type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }

    def _remember(self, tracker: DialogueStateTracker, stored: int) -> None:
        key = id(tracker)
        if key not in self._stored:
            weakref.finalize(tracker, self._stored.pop, key, None)
        self._stored[key] = (weakref.ref(tracker), stored)
