"""The live feed (`/api/live`) over a real desk: the state and the events an employee may see,
nothing missed or doubled over a reconnect, and the session's end still ending it.

No sleeps: a socket's reads are bounded by its receive timeout, and "nothing arrived" is
checked against a later marker event, which the feed delivers in order.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from assistant.console.accounts import AccountStore
from assistant.console.desk_routes import DeskOptions
from assistant.console.live import SESSION_ENDED
from assistant.handoff.bus import parse_id
from tests.assistant.console.desk_helpers import (
    FAST_LIVE,
    DeskConsole,
    DeskParts,
    desk_console,
    desk_parts,
    make_accounts,
)
from tests.assistant.console.helpers import FakeClock

Message = dict[str, Any]


@pytest.fixture
def redis(request: pytest.FixtureRequest, database_url: str) -> tuple[str, str] | None:
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
    options = DeskOptions(live=FAST_LIVE)
    async with desk_console(parts, database_url, accounts, clock, options=options) as console:
        yield console


class SocketClosed(AssertionError):
    def __init__(self, code: int | None) -> None:
        super().__init__(f"the feed closed with code {code}")
        self.code = code


async def receive(socket: aiohttp.ClientWebSocketResponse) -> Message:
    message = await socket.receive()  # bounded by the socket's receive_timeout
    if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
        raise SocketClosed(socket.close_code)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


async def until(
    socket: aiohttp.ClientWebSocketResponse, wanted: Callable[[Message], bool]
) -> tuple[list[Message], Message]:
    """The messages before the first one `wanted`, and that one."""
    before = []
    while not wanted(message := await receive(socket)):
        before.append(message)
    return before, message


def is_state(message: Message) -> bool:
    return message["type"] == "state"


def events(messages: list[Message]) -> list[Message]:
    return [message for message in messages if message["type"] == "event"]


def waiting_in(handoff_id: str) -> Callable[[Message], bool]:
    return lambda m: is_state(m) and handoff_id in [w["id"] for w in m["state"]["queue"]]


def event(kind: str, handoff_id: str | None = None) -> Callable[[Message], bool]:
    return lambda m: (
        m["type"] == "event"
        and m["kind"] == kind
        and (handoff_id is None or m["conversation"] == handoff_id)
    )


async def test_the_feed_starts_with_the_session_end_its_place_and_the_state(
    world: DeskConsole,
) -> None:
    handoff_id, _ = await world.parts.waiting()
    tail = await world.parts.desk.tail()
    sanne = await world.browser("sanne")
    socket = await sanne.live()
    session = await receive(socket)
    assert session["type"] == "session" and session["expires_at"] > session["now"]
    assert await receive(socket) == {"type": "cursor", "after": tail}
    state = await receive(socket)
    assert is_state(state)
    assert [w["id"] for w in state["state"]["queue"]] == [handoff_id]


async def test_events_arrive_live_and_a_reconnect_misses_nothing_and_repeats_nothing(
    world: DeskConsole,
) -> None:
    sanne = await world.browser("sanne")
    socket = await sanne.live()
    await until(socket, is_state)

    handoff_id, conversation_id = await world.parts.waiting()
    before, _ = await until(socket, waiting_in(handoff_id))
    await sanne.post(f"/api/conversations/{handoff_id}/take")
    _, joined = await until(socket, event("joined", handoff_id))
    assert joined["text"].startswith("Sanne van de gemeente neemt het gesprek over")
    assert joined["employee"] == "Sanne" and joined["message_id"]
    await world.parts.resident_says(conversation_id, "mijn paspoort is gestolen")
    _, said = await until(socket, event("resident", handoff_id))
    assert said["text"] == "mijn paspoort is gestolen"
    await world.parts.resident_types(conversation_id)
    _, typing = await until(socket, event("typing", handoff_id))
    assert (typing["active"], typing["employee"]) == (True, "")
    assert conversation_id not in json.dumps([*before, joined, said, typing])
    await socket.close()

    # Away for a moment: a message each way.
    status, sent = await sanne.post(
        f"/api/conversations/{handoff_id}/messages", {"text": "Dan doet u aangifte."}
    )
    assert status == 201
    await world.parts.resident_says(conversation_id, "waar kan dat?")

    again = await sanne.live(after=typing["id"])
    _, state = await until(again, is_state)
    assert [h["id"] for h in state["state"]["mine"]] == [handoff_id]
    _, first = await until(again, lambda m: m["type"] == "event")
    _, second = await until(again, lambda m: m["type"] == "event")
    assert [(e["kind"], e["text"]) for e in (first, second)] == [
        ("employee", "Dan doet u aangifte."),
        ("resident", "waar kan dat?"),
    ]
    assert first["message_id"] == sent["line"]["id"], "the page shows it once"
    assert parse_id(typing["id"]) < parse_id(first["id"]) < parse_id(second["id"])


async def test_colleagues_hear_that_the_queue_changed_but_not_what_was_said(
    world: DeskConsole,
) -> None:
    sanne, joost, piet = [await world.browser(name) for name in ("sanne", "joost", "piet")]
    feeds = {name: await browser.live() for name, browser in (("joost", joost), ("piet", piet))}
    for feed in feeds.values():
        await until(feed, is_state)

    handoff_id, conversation_id = await world.parts.waiting("utrecht")
    await sanne.post(f"/api/conversations/{handoff_id}/take")
    await world.parts.resident_says(conversation_id, "mijn BSN is 123456782")
    await sanne.post(f"/api/conversations/{handoff_id}/messages", {"text": "Dank u wel."})
    # Markers: a later waiting resident in each municipality; the feed keeps order.
    utrecht_marker, _ = await world.parts.waiting("utrecht")
    zwolle_marker, _ = await world.parts.waiting("zwolle")

    joost_saw, _ = await until(feeds["joost"], waiting_in(utrecht_marker))
    assert [(e["kind"], e["conversation"], e["text"]) for e in events(joost_saw)] == [
        ("waiting", handoff_id, ""),
        ("joined", handoff_id, ""),
    ]
    held = [m for m in joost_saw if is_state(m)][-1]["state"]["held"]
    assert [(h["id"], h["employee"]) for h in held] == [(handoff_id, "Sanne")]

    piet_saw, _ = await until(feeds["piet"], waiting_in(zwolle_marker))
    assert not any(e["conversation"] in (handoff_id, utrecht_marker) for e in events(piet_saw)), (
        "Piet does not serve Utrecht"
    )
    for message in piet_saw:
        if is_state(message):
            assert handoff_id not in json.dumps(message)
    for seen in (joost_saw, piet_saw):
        text = json.dumps(seen)
        assert "123456782" not in text and "Dank u wel" not in text


async def test_an_open_feed_does_not_keep_a_session_alive(world: DeskConsole) -> None:
    sanne = await world.browser("sanne")
    socket = await sanne.live()
    await until(socket, is_state)

    world.clock.advance(minutes=20)  # the feed reads the session, without renewing it
    second, _ = await world.parts.waiting()
    await until(socket, waiting_in(second))  # the feed checked the session after this batch
    world.clock.advance(minutes=11)
    with pytest.raises(SocketClosed) as closed:
        await until(socket, lambda m: False)
    assert closed.value.code == SESSION_ENDED
    status, _ = await sanne.get("/api/state")
    assert status == 401


async def test_staying_logged_in_moves_the_end_the_feed_announces(world: DeskConsole) -> None:
    sanne = await world.browser("sanne")
    socket = await sanne.live()
    first = (await until(socket, lambda m: m["type"] == "session"))[1]
    world.clock.advance(minutes=28)
    status, renewed = await sanne.post("/api/session")
    assert status == 200 and renewed["expires_at"] > first["expires_at"]
    _, announced = await until(socket, lambda m: m["type"] == "session")
    assert announced["expires_at"] == renewed["expires_at"]
    world.clock.advance(minutes=28)
    await world.parts.waiting()  # a batch, after which the feed checks again
    await until(socket, is_state)


async def test_logging_out_closes_the_feed(world: DeskConsole) -> None:
    sanne = await world.browser("sanne")
    socket = await sanne.live()
    await until(socket, is_state)
    response = await sanne.session.post(
        "/logout", data={"csrf_token": sanne.token}, allow_redirects=False
    )
    assert response.status == 303
    await world.parts.waiting()
    with pytest.raises(SocketClosed) as closed:
        await until(socket, lambda m: False)
    assert closed.value.code == SESSION_ENDED


async def test_the_feed_needs_the_token_and_a_well_formed_after(world: DeskConsole) -> None:
    sanne = await world.browser("sanne")
    origin = {"Origin": world.origin}
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await sanne.session.ws_connect("/api/live", headers=origin)
    assert refused.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await sanne.session.ws_connect(
            f"/api/live?csrf_token={sanne.token}&after=gisteren", headers=origin
        )
    assert refused.value.status == 400
    other = aiohttp.ClientSession(base_url=world.origin)
    try:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await other.ws_connect(f"/api/live?csrf_token={sanne.token}", headers=origin)
        assert refused.value.status == 401, "no session, no feed"
    finally:
        await other.close()
