"""The desk's JSON API over a real desk: the queue per municipality, taking over, writing,
handing back, callbacks, and every refusal in Dutch with its status code.

Each test runs twice: SQLite with the in-process bus, and PostgreSQL with Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from assistant.console.accounts import AccountStore
from assistant.console.desk_input import (
    ACTIVE_NOT_BOOLEAN,
    NOT_JSON,
    TEXT_EMPTY,
    TEXT_NOT_TEXT,
    TEXT_SURROGATE,
    TEXT_TOO_LONG,
)
from assistant.console.desk_routes import (
    ALREADY_TAKEN,
    CALLBACK_DONE,
    CLOSED,
    NO_SUCH_CALLBACK,
    NO_SUCH_CONVERSATION,
    NOT_YOUR_MUNICIPALITY,
    NOT_YOURS,
    STOPPED_WAITING,
    TOO_MANY,
    DeskOptions,
)
from assistant.handoff.bus import CONSOLE_STREAM
from assistant.handoff.store import Closed, Status
from assistant.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from tests.assistant.console.desk_helpers import (
    FAST_LIVE,
    DeskConsole,
    DeskParts,
    desk_console,
    desk_parts,
    make_accounts,
)
from tests.assistant.console.helpers import FakeClock

REFUSED = "Deze actie is geweigerd"
OPTIONS = DeskOptions(typing_every_seconds=60, live=FAST_LIVE)


@pytest.fixture
def redis(request: pytest.FixtureRequest, database_url: str) -> tuple[str, str] | None:
    """Redis goes with PostgreSQL (production), the in-process bus with SQLite (make run)."""
    if database_url.startswith("sqlite"):
        return None
    return request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")


@pytest.fixture
async def parts(database_url: str, redis: tuple[str, str] | None) -> AsyncIterator[DeskParts]:
    async with desk_parts(database_url, redis) as found:
        yield found


@pytest.fixture
async def world(
    parts: DeskParts, database_url: str, accounts: AccountStore, clock: FakeClock
) -> AsyncIterator[DeskConsole]:
    make_accounts(accounts)
    async with desk_console(parts, database_url, accounts, clock, options=OPTIONS) as console:
        yield console


def conversation(handoff_id: str) -> str:
    return f"/api/conversations/{handoff_id}"


# --- the queue -------------------------------------------------------------------------------


async def test_each_employee_sees_the_queue_of_their_own_municipalities(
    world: DeskConsole,
) -> None:
    utrecht, utrecht_conversation = await world.parts.waiting("utrecht")
    zwolle, _ = await world.parts.waiting("zwolle", summary="container niet geleegd", topic=None)
    sanne, piet = await world.browser("sanne"), await world.browser("piet")

    status, state = await sanne.get("/api/state")
    assert status == 200
    (waiting,) = state["queue"]
    assert waiting == {
        "id": utrecht,
        "municipality": "utrecht",
        "municipality_name": "Utrecht",
        "channel": "webchat",
        "channel_name": "Webchat",
        "topic": "Paspoort kwijt",
        "summary": "ik ben mijn paspoort kwijt",
        "requested_at": waiting["requested_at"],
    }
    assert state["mine"] == state["held"] == state["callbacks"] == []
    assert state["now"] >= waiting["requested_at"]

    _, theirs = await piet.get("/api/state")
    assert [(w["id"], w["municipality_name"], w["topic"]) for w in theirs["queue"]] == [
        (zwolle, "Zwolle", "")
    ]
    raw = await (await sanne.session.get("/api/state")).text()
    assert utrecht_conversation not in raw, "the resident's key to the chat stays on the server"


async def test_the_first_to_take_over_gets_it_and_a_colleague_hears_409(
    world: DeskConsole,
) -> None:
    handoff_id, _ = await world.parts.waiting()
    sanne, joost, piet = [await world.browser(name) for name in ("sanne", "joost", "piet")]

    status, taken = await sanne.post(f"{conversation(handoff_id)}/take")
    assert status == 200
    assert taken["conversation"]["id"] == handoff_id
    assert taken["conversation"]["employee"] == "Sanne"
    assert await joost.post(f"{conversation(handoff_id)}/take") == (409, {"error": ALREADY_TAKEN})
    assert await piet.post(f"{conversation(handoff_id)}/take") == (
        403,
        {"error": NOT_YOUR_MUNICIPALITY},
    )
    again = await sanne.post(f"{conversation(handoff_id)}/take")
    assert again == (200, taken), "a double click takes nothing from anyone"

    _, mine = await sanne.get("/api/state")
    assert [h["id"] for h in mine["mine"]] == [handoff_id] and mine["queue"] == []
    _, colleague = await joost.get("/api/state")
    assert [(h["id"], h["employee"]) for h in colleague["held"]] == [(handoff_id, "Sanne")]
    assert colleague["mine"] == []


async def test_a_conversation_that_is_gone_or_never_was_is_said_so(world: DeskConsole) -> None:
    sanne = await world.browser("sanne")
    assert await sanne.post(f"{conversation('0' * 32)}/take") == (
        404,
        {"error": NO_SUCH_CONVERSATION},
    )
    status, body = await sanne.post("/api/conversations/niet-een-id/take")
    assert status == 404 and body["error"].startswith("Deze pagina bestaat niet")

    handoff_id, conversation_id = await world.parts.waiting()
    assert await world.parts.router.stop_waiting(conversation_id)
    assert await sanne.post(f"{conversation(handoff_id)}/take") == (
        409,
        {"error": STOPPED_WAITING},
    )


# --- one conversation ------------------------------------------------------------------------


async def test_only_the_employee_who_holds_a_conversation_reads_and_writes_in_it(
    world: DeskConsole,
) -> None:
    handoff_id, conversation_id = await world.parts.waiting()
    sanne, joost, piet = [await world.browser(name) for name in ("sanne", "joost", "piet")]
    path = conversation(handoff_id)
    for browser in (sanne, joost):  # nobody holds it yet
        assert (await browser.post(f"{path}/messages", {"text": "Hallo"}))[0] == 403
    await sanne.post(f"{path}/take")
    await world.parts.resident_says(conversation_id, "mijn paspoort is gestolen")

    for action, body in (
        ("messages", {"text": "Ik neem het over"}),
        ("typing", {"active": True}),
        ("hand-back", None),
        ("end", None),
    ):
        assert await joost.post(f"{path}/{action}", body) == (403, {"error": NOT_YOURS}), action
        assert await piet.post(f"{path}/{action}", body) == (
            403,
            {"error": NOT_YOUR_MUNICIPALITY},
        ), action
    assert await joost.get(f"{path}/transcript") == (403, {"error": NOT_YOURS})

    status, sent = await sanne.post(f"{path}/messages", {"text": "Dan doet u eerst aangifte."})
    assert status == 201
    assert sent["line"]["role"] == "employee" and sent["line"]["employee"] == "Sanne"
    status, transcript = await sanne.get(f"{path}/transcript")
    assert status == 200
    assert [(line["role"], line["text"]) for line in transcript["lines"]][-3:] == [
        ("notice", "Sanne van de gemeente neemt het gesprek over. U kunt nu uw vraag stellen."),
        ("resident", "mijn paspoort is gestolen"),
        ("employee", "Dan doet u eerst aangifte."),
    ]
    assert transcript["lines"][-1]["id"] == sent["line"]["id"], "one id, live and in history"


async def test_handing_back_and_ending_close_the_conversation_for_good(
    world: DeskConsole,
) -> None:
    sanne = await world.browser("sanne")
    back, _ = await world.parts.waiting()
    ended, ended_conversation = await world.parts.waiting()
    for handoff_id in (back, ended):
        await sanne.post(f"{conversation(handoff_id)}/take")

    assert await sanne.post(f"{conversation(back)}/hand-back") == (204, None)
    assert await sanne.post(f"{conversation(ended)}/end") == (204, None)
    assert world.parts.store.get(back).closed_how is Closed.TO_ASSISTANT
    assert world.parts.store.get(ended).closed_how is Closed.ENDED
    tracker = await world.parts.agent.tracker_store.retrieve(ended_conversation)
    assert not tracker.is_paused(), "the assistant answers the resident again"

    for action, body in (("messages", {"text": "nog iets"}), ("end", None), ("hand-back", None)):
        assert await sanne.post(f"{conversation(back)}/{action}", body) == (
            409,
            {"error": CLOSED},
        ), action
    _, state = await sanne.get("/api/state")
    assert state["mine"] == []


async def test_the_standard_answers_are_those_of_the_conversations_municipality(
    world: DeskConsole,
) -> None:
    handoff_id, _ = await world.parts.waiting("utrecht")
    sanne, piet = await world.browser("sanne"), await world.browser("piet")
    status, answers = await sanne.get(f"{conversation(handoff_id)}/answers")
    assert status == 200 and answers["municipality_name"] == "Utrecht"
    titles = [answer["title"] for answer in answers["answers"]]
    assert titles[:2] == ["Begroeting", "Even zoeken"]
    assert "gemeente Utrecht" in answers["answers"][0]["text"]
    assert await piet.get(f"{conversation(handoff_id)}/answers") == (
        403,
        {"error": NOT_YOUR_MUNICIPALITY},
    )


# --- input and limits ------------------------------------------------------------------------


async def test_a_message_is_cleaned_and_refused_in_dutch_when_it_cannot_be_sent(
    world: DeskConsole,
) -> None:
    handoff_id, _ = await world.parts.waiting()
    sanne = await world.browser("sanne")
    await sanne.post(f"{conversation(handoff_id)}/take")
    messages = f"{conversation(handoff_id)}/messages"

    for body, error in (
        ({"text": ""}, TEXT_EMPTY),
        ({"text": " \u200b\u202e \n\t "}, TEXT_EMPTY),
        ({}, TEXT_NOT_TEXT),
        ({"text": 5}, TEXT_NOT_TEXT),
        ({"text": ["Hallo"]}, TEXT_NOT_TEXT),
        ({"text": "x" * 1001}, TEXT_TOO_LONG),
        (["Hallo"], NOT_JSON),
        ("Hallo", NOT_JSON),
    ):
        assert await sanne.post(messages, body) == (400, {"error": error}), body
    assert await sanne.post(messages, raw="Hallo") == (400, {"error": NOT_JSON})
    assert await sanne.post(messages, raw='{"text": "pas\\ud800poort"}') == (
        400,
        {"error": TEXT_SURROGATE},
    )

    status, sent = await sanne.post(
        messages, {"text": "  Stap 1:\u200b aangifte\r\n\n\n\nStap\t 2: afspraak  "}
    )
    assert status == 201
    assert sent["line"]["text"] == "Stap 1: aangifte\n\nStap 2: afspraak"
    status, _ = await sanne.post(messages, {"text": "é" * 1000})
    assert status == 201, "1000 characters is the limit, not over it"

    typing = f"{conversation(handoff_id)}/typing"
    for body in ({"active": "ja"}, {"active": 1}, {}, [True]):
        expected = NOT_JSON if isinstance(body, list) else ACTIVE_NOT_BOOLEAN
        assert await sanne.post(typing, body) == (400, {"error": expected}), body


async def test_without_the_csrf_token_no_change_is_accepted(world: DeskConsole) -> None:
    handoff_id, _ = await world.parts.waiting()
    callback = world.parts.callback()
    sanne = await world.browser("sanne")
    path = conversation(handoff_id)
    for change, body in (
        (f"{path}/take", None),
        (f"{path}/messages", {"text": "Hallo"}),
        (f"{path}/typing", {"active": True}),
        (f"{path}/hand-back", None),
        (f"{path}/end", None),
        (f"/api/callbacks/{callback.id}/done", None),
        ("/api/session", None),
    ):
        status, refused = await sanne.post(change, body, token=False)
        assert status == 403 and refused["error"].startswith(REFUSED), change
    assert world.parts.store.get(handoff_id).status is Status.WAITING
    assert world.parts.callbacks.get(callback.id).done_by is None


@pytest.fixture
def limiter(redis: tuple[str, str] | None) -> RateLimiter:
    return RedisRateLimiter(redis[0], redis[1] + "limits:") if redis else MemoryRateLimiter()


async def test_an_employee_sends_at_most_so_many_messages_a_minute(
    parts: DeskParts,
    database_url: str,
    accounts: AccountStore,
    clock: FakeClock,
    limiter: RateLimiter,
) -> None:
    make_accounts(accounts)
    options = DeskOptions(messages_per_minute=3, live=FAST_LIVE)
    try:
        async with desk_console(
            parts, database_url, accounts, clock, limiter=limiter, options=options
        ) as world:
            sanne, joost = await world.browser("sanne"), await world.browser("joost")
            first, _ = await parts.waiting()
            second, _ = await parts.waiting()
            await sanne.post(f"{conversation(first)}/take")
            await joost.post(f"{conversation(second)}/take")
            for number in range(3):
                status, _ = await sanne.post(
                    f"{conversation(first)}/messages", {"text": f"Bericht {number}"}
                )
                assert status == 201
            assert await sanne.post(f"{conversation(first)}/messages", {"text": "Nog een"}) == (
                429,
                {"error": TOO_MANY},
            )
            status, _ = await joost.post(f"{conversation(second)}/messages", {"text": "Hallo"})
            assert status == 201, "a colleague has a budget of their own"
    finally:
        if isinstance(limiter, RedisRateLimiter):
            await limiter.close()


async def test_typing_reaches_the_resident_throttled_and_stopping_always(
    world: DeskConsole,
) -> None:
    handoff_id, conversation_id = await world.parts.waiting()
    sanne = await world.browser("sanne")
    await sanne.post(f"{conversation(handoff_id)}/take")
    stream = world.parts.bus.conversation_stream(conversation_id)
    start = await world.parts.bus.tail(stream)

    typing = f"{conversation(handoff_id)}/typing"
    for active in (True, True, True, False, True):
        assert await sanne.post(typing, {"active": active}) == (204, None)
    events = await world.parts.bus.read(stream, after=start)
    assert [(e.kind, e.active, e.employee) for e in events] == [
        ("typing", True, "Sanne"),
        ("typing", False, "Sanne"),
        ("typing", True, "Sanne"),
    ]


# --- callback requests -----------------------------------------------------------------------


async def test_callback_requests_are_listed_per_municipality_and_done_once(
    world: DeskConsole,
) -> None:
    callback = world.parts.callback("utrecht")
    sanne, joost, piet = [await world.browser(name) for name in ("sanne", "joost", "piet")]
    _, state = await sanne.get("/api/state")
    (listed,) = state["callbacks"]
    assert (listed["id"], listed["name"], listed["phone"], listed["topic"]) == (
        callback.id,
        "Fatima de Vries",
        "0612345678",
        "Vraag over de afvalpas",
    )
    assert listed["due_at"] > listed["requested_at"]
    assert (await piet.get("/api/state"))[1]["callbacks"] == []

    done = f"/api/callbacks/{callback.id}/done"
    assert await piet.post(done) == (404, {"error": NO_SUCH_CALLBACK})
    assert await sanne.post(done) == (204, None)
    assert await joost.post(done) == (409, {"error": CALLBACK_DONE})
    assert await sanne.post(f"/api/callbacks/{'0' * 32}/done") == (
        404,
        {"error": NO_SUCH_CALLBACK},
    )
    assert (await joost.get("/api/state"))[1]["callbacks"] == []
    assert world.parts.callbacks.get(callback.id).done_by == world.accounts.by_username("sanne").id


async def test_the_console_stream_carries_what_the_api_did(world: DeskConsole) -> None:
    """The API goes through the desk, so the resident's chat hears of it (the bus)."""
    handoff_id, conversation_id = await world.parts.waiting()
    start = await world.parts.bus.tail(CONSOLE_STREAM)
    sanne = await world.browser("sanne")
    await sanne.post(f"{conversation(handoff_id)}/take")
    await sanne.post(f"{conversation(handoff_id)}/messages", {"text": "Goedemorgen!"})
    await sanne.post(f"{conversation(handoff_id)}/hand-back")
    events = await world.parts.bus.read(CONSOLE_STREAM, after=start)
    assert [(e.kind, e.conversation_id) for e in events] == [
        ("joined", conversation_id),
        ("employee", conversation_id),
        ("assistant_back", conversation_id),
    ]
