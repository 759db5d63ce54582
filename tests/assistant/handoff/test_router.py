"""The router and the desk over real parts: Rasa's tracker and lock stores (without a model:
no message here needs one), the SQL queue (SQLite and PostgreSQL) and the live bus (in-process
and Redis, two connections standing for two Rasa processes)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    SessionStarted,
    UserUttered,
)

from assistant.handoff.bus import CONSOLE_STREAM, MessageBus
from assistant.handoff.bus_memory import MemoryMessageBus
from assistant.handoff.bus_redis import RedisMessageBus
from assistant.handoff.callbacks import CallbackStore
from assistant.handoff.conversation_log import ConversationLog
from assistant.handoff.desk import AlreadyTaken, Desk, Employee, NotAllowed
from assistant.handoff.live import LiveDispatcher
from assistant.handoff.router import Router
from assistant.handoff.store import Closed, HandoffStore, Status
from tests.domain_files import DOMAIN_DIR

SANNE = Employee("emp-sanne", "Sanne", frozenset({"utrecht"}))
JOOST = Employee("emp-joost", "Joost")
ZWOLLE_ONLY = Employee("emp-piet", "Piet", frozenset({"zwolle"}))
CONVERSATION = "webchat-AbCdEfGhIjKlMnOpQrStUv"


@dataclass
class Parts:
    store: HandoffStore
    agent: Agent
    router: Router
    desk: Desk
    bus: MessageBus
    other_bus: MessageBus  # the same bus as another process sees it


@pytest.fixture(params=["sqlite-memory", "postgresql-redis"])
async def parts(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Parts]:
    if request.param == "sqlite-memory":
        url = f"sqlite:///{tmp_path / 'handoff.sqlite'}"
        bus = other = MemoryMessageBus()
    else:
        url = request.getfixturevalue("postgres_url")
        redis_url, prefix = (
            request.getfixturevalue("redis_url"),
            request.getfixturevalue("redis_prefix"),
        )
        bus, other = RedisMessageBus(redis_url, prefix), RedisMessageBus(redis_url, prefix)
    store = HandoffStore(url)
    store.ensure_schema()
    domain = Domain.load(str(DOMAIN_DIR))
    agent = Agent(
        domain=domain, tracker_store=InMemoryTrackerStore(domain), lock_store=InMemoryLockStore()
    )
    router = Router(store, bus, ConversationLog(lambda: agent), municipalities=lambda: [])
    try:
        yield Parts(
            store, agent, router, Desk(store, CallbackStore(store._engine), router), bus, other
        )
    finally:
        await bus.close()
        if other is not bus:
            await other.close()
        store.dispose()


async def paused_conversation(parts: Parts, *, hours_ago: float = 0) -> str:
    """A conversation that asked for a person: what action_handoff_accept leaves behind."""
    at = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours_ago)).timestamp()
    await parts.router.log.append(
        CONVERSATION,
        [
            ActionExecuted("action_session_start", timestamp=at),
            SessionStarted(timestamp=at),
            ActionExecuted("action_listen", timestamp=at),
            UserUttered("ik wil een medewerker", timestamp=at),
            BotUttered("U staat in de wachtrij.", timestamp=at),
            ConversationPaused(timestamp=at),
        ],
    )
    handoff = parts.store.request(
        CONVERSATION, municipality="utrecht", channel="webchat", summary="paspoort kwijt"
    )
    return handoff.id


class Rasa:
    """Records what the router passes on to Rasa's message handling."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message.text or "")


def message(text: str) -> UserMessage:
    return UserMessage(text, CollectingOutputChannel(), CONVERSATION, input_channel="webchat")


async def tracker_events(parts: Parts) -> list:
    tracker = await parts.agent.tracker_store.retrieve(CONVERSATION)
    return list(tracker.events) if tracker else []


# --- the router ----------------------------------------------------------------------------


async def test_without_a_handoff_every_message_goes_to_the_assistant(parts: Parts) -> None:
    rasa = Rasa()
    routed = await parts.router.route(message("wat kost een paspoort"), rasa)
    assert rasa.messages == ["wat kost een paspoort"]
    assert routed.handoff is None and not routed.to_person
    assert await tracker_events(parts) == [], "the router itself recorded nothing"


async def test_while_waiting_messages_are_kept_for_the_employee_not_answered(
    parts: Parts,
) -> None:
    await paused_conversation(parts)
    start = await parts.other_bus.tail(CONSOLE_STREAM)
    rasa = Rasa()
    routed = await parts.router.route(message("het gaat om mijn paspoort"), rasa)
    assert rasa.messages == [] and routed.to_person
    last = (await tracker_events(parts))[-1]
    assert isinstance(last, UserUttered) and last.text == "het gaat om mijn paspoort"
    (event,) = await parts.other_bus.read(CONSOLE_STREAM, after=start)
    assert (event.kind, event.text) == ("resident", "het gaat om mijn paspoort")


async def test_restart_and_buttons_cannot_end_a_takeover(parts: Parts) -> None:
    handoff_id = await paused_conversation(parts)
    await parts.desk.take(handoff_id, SANNE)
    rasa = Rasa()
    routed = await parts.router.route(message("/restart"), rasa)
    assert rasa.messages == [] and routed.refused and not routed.to_person
    tracker = await parts.agent.tracker_store.retrieve(CONVERSATION)
    assert tracker.is_paused()
    assert parts.store.open_for(CONVERSATION).status is Status.TAKEN


async def test_a_message_after_the_session_expired_stays_with_the_employee(
    parts: Parts,
) -> None:
    handoff_id = await paused_conversation(parts, hours_ago=3)  # sessions expire after 60 min
    await parts.desk.take(handoff_id, SANNE)
    rasa = Rasa()
    await parts.router.route(message("bent u er nog?"), rasa)
    assert rasa.messages == []
    events = await tracker_events(parts)
    assert sum(isinstance(e, SessionStarted) for e in events) == 1, "no new session started"
    tracker = await parts.agent.tracker_store.retrieve(CONVERSATION)
    assert tracker.is_paused()


async def test_a_resident_can_stop_waiting_but_not_leave_an_employee_that_way(
    parts: Parts,
) -> None:
    await paused_conversation(parts)
    assert await parts.router.stop_waiting(CONVERSATION)
    assert parts.store.open_for(CONVERSATION) is None
    tracker = await parts.agent.tracker_store.retrieve(CONVERSATION)
    assert not tracker.is_paused()
    handoff_id = await paused_conversation(parts)
    await parts.desk.take(handoff_id, SANNE)
    assert not await parts.router.stop_waiting(CONVERSATION)
    assert parts.store.open_for(CONVERSATION).status is Status.TAKEN


# --- the desk --------------------------------------------------------------------------------


async def test_two_employees_racing_for_one_conversation_one_gets_it(parts: Parts) -> None:
    handoff_id = await paused_conversation(parts)
    results = await asyncio.gather(
        parts.desk.take(handoff_id, SANNE),
        parts.desk.take(handoff_id, JOOST),
        return_exceptions=True,
    )
    taken = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, AlreadyTaken)]
    assert len(taken) == 1 and len(refused) == 1, results
    joined = [e for e in await tracker_events(parts) if isinstance(e, BotUttered)][-1]
    assert joined.text.startswith(taken[0].employee_name + " van de gemeente neemt")


async def test_employees_see_only_their_municipalities_and_write_only_in_their_own(
    parts: Parts,
) -> None:
    handoff_id = await paused_conversation(parts)
    assert [h.id for h in await parts.desk.queue(SANNE)] == [handoff_id]
    assert await parts.desk.queue(ZWOLLE_ONLY) == []
    with pytest.raises(NotAllowed):
        await parts.desk.take(handoff_id, ZWOLLE_ONLY)
    await parts.desk.take(handoff_id, SANNE)
    with pytest.raises(NotAllowed):
        await parts.desk.send(handoff_id, JOOST, "Ik neem het over")
    with pytest.raises(NotAllowed):
        await parts.desk.transcript(handoff_id, JOOST)


async def test_the_whole_loop_is_in_the_history_and_the_assistant_is_back(parts: Parts) -> None:
    handoff_id = await paused_conversation(parts)
    await parts.desk.take(handoff_id, SANNE)
    await parts.router.route(message("mijn paspoort is gestolen"), Rasa())
    sent = await parts.desk.send(handoff_id, SANNE, "Dan doet u eerst aangifte bij de politie.")
    await parts.desk.hand_back(handoff_id, SANNE)

    transcript = [(line.role, line.text) for line in await tracker_lines(parts)]
    assert transcript[-4:] == [
        ("notice", "Sanne van de gemeente neemt het gesprek over. U kunt nu uw vraag stellen."),
        ("resident", "mijn paspoort is gestolen"),
        ("employee", "Dan doet u eerst aangifte bij de politie."),
        (
            "notice",
            "Sanne heeft het gesprek teruggegeven. U praat weer met de digitale assistent.",
        ),
    ]
    assert sent.id in {line.id for line in await tracker_lines(parts)}
    tracker = await parts.agent.tracker_store.retrieve(CONVERSATION)
    assert not tracker.is_paused()
    assert parts.store.get(handoff_id).closed_how is Closed.TO_ASSISTANT
    rasa = Rasa()
    await parts.router.route(message("wat kost een paspoort"), rasa)
    assert rasa.messages == ["wat kost een paspoort"], "the assistant answers again"
    with pytest.raises(NotAllowed):
        await parts.desk.send(handoff_id, SANNE, "nog iets")


async def tracker_lines(parts: Parts) -> list:
    from assistant.transcript import lines

    return lines(await tracker_events(parts))


async def test_a_console_sees_the_words_of_its_own_conversations_only(parts: Parts) -> None:
    handoff_id = await paused_conversation(parts)
    start = await parts.desk.tail()
    await parts.desk.take(handoff_id, SANNE)
    await parts.router.route(message("mijn adres is Stadsplateau 1"), Rasa())

    mine, after = await parts.desk.events(SANNE, start, block_ms=0)
    assert [(e.kind, bool(e.text)) for e in mine] == [("joined", True), ("resident", True)]
    theirs, _ = await parts.desk.events(JOOST, start, block_ms=0)
    assert [(e.kind, e.text) for e in theirs] == [("joined", "")], "only that the queue changed"

    # A console that reconnects with the last id it saw misses nothing and gets nothing twice.
    await parts.desk.send(handoff_id, SANNE, "Dank u, ik kijk het na.")
    again, _ = await parts.desk.events(SANNE, after, block_ms=0)
    assert [(e.kind, e.text) for e in again] == [("employee", "Dank u, ik kijk het na.")]


async def test_live_events_reach_the_process_that_holds_the_residents_connection(
    parts: Parts,
) -> None:
    handoff_id = await paused_conversation(parts)
    live = LiveDispatcher(parts.other_bus)  # the resident's chat is open in another process
    try:
        async with live.subscribe(CONVERSATION) as events, live.subscribe("webchat-other") as none:
            await parts.desk.take(handoff_id, SANNE)
            await parts.desk.send(handoff_id, SANNE, "Goedemorgen!")
            joined = await asyncio.wait_for(events.get(), 10)
            said = await asyncio.wait_for(events.get(), 10)
            assert (joined.kind, joined.employee) == ("joined", "Sanne")
            assert (said.kind, said.text) == ("employee", "Goedemorgen!")
            assert none.empty()
    finally:
        await live.stop()
