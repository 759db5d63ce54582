"""The kill test of `make bench` (scripts/bench_kill.py) against stand-ins for two Rasa instances.

The stand-ins speak the web chat protocol (channels/webchat.py) in this test's event loop and
share what PostgreSQL and Redis hold for the real instances: the conversations and the claims of
message ids. Killing one aborts its connections and refuses new ones, as a dead process does.
Each can be told to misbehave (lose a message, store it twice, answer a copy again), so the test
shows that the bench counts lost and duplicated messages, and that it counts none when every
message is answered once. A run lasts a few seconds (the residents' reconnect back-off is the
widget's); nothing here sleeps to wait for something to happen.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from scripts import bench
from scripts.bench_kill import KillResult, KillRun, Sent, kill_test
from tests.sandbox.serving import serving

SCRIPTS = (("hallo", "wat kost een paspoort", "dank u"), ("hoi", "mijn rijbewijs is weg"))
ORIGIN = "http://127.0.0.1:8080"


@dataclass
class Shared:
    """What every instance shares, and how it misbehaves."""

    claim_seconds: float = 0.5  # a claim left by a dead instance frees itself after this
    turn_seconds: float = 0.02
    lose: frozenset[str] = frozenset()  # texts acknowledged as done but never stored
    store_twice: frozenset[str] = frozenset()
    remember_ids: bool = True  # False: every copy is answered afresh
    histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    claims: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)

    def claim(self, key: tuple[str, str], now: float) -> str | None:
        if not self.remember_ids:
            return None
        state, expires = self.claims.get(key, ("", 0.0))
        if state and expires > now:
            return state
        self.claims[key] = ("pending", now + self.claim_seconds)
        return None


class Instance:
    """One stand-in Rasa instance. `turns`: "answer", "hang" (never finishes a turn: it is
    under way whenever the instance is killed) or "answer_unstored" (sends the answer, dies
    before storing it: the failure channels/webchat.py avoids by sending only stored answers)."""

    def __init__(self, shared: Shared, turns: str = "answer") -> None:
        self.shared = shared
        self.turns = turns
        self.alive = True
        self.dead = asyncio.Event()
        self.connections = 0
        self.connections_after_kill = 0
        self.requests: list[web.Request] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/webhooks/webchat/ws", self.chat)
        return app

    async def kill(self) -> None:
        self.alive = False
        self.dead.set()
        for request in self.requests:
            if request.transport is not None:
                request.transport.abort()

    async def chat(self, request: web.Request) -> web.StreamResponse:
        if not self.alive:
            self.connections_after_kill += 1
            return web.Response(status=502)
        self.connections += 1
        self.requests.append(request)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = ""
        async for raw in ws:
            frame = json.loads(raw.data)
            if frame["type"] == "hello":
                session = frame["session_id"]
                history = self.shared.histories.setdefault(session, [])
                await ws.send_json({"type": "history", "messages": list(history)})
                await ws.send_json({"type": "handoff", "state": "none"})
            elif frame["type"] == "message":
                await self.message(ws, session, frame["text"], frame["id"])
        return ws

    async def message(self, ws: web.WebSocketResponse, session: str, text: str, sent: str) -> None:
        shared, loop = self.shared, asyncio.get_running_loop()
        history = shared.histories[session]
        earlier = shared.claim((session, sent), loop.time())
        if earlier is not None:
            stored = any(item.get("id") == sent for item in history)
            if stored:
                shared.claims[(session, sent)] = ("done", float("inf"))
            state = "done" if stored else earlier
            await ws.send_json({"type": "ack", "id": sent, "state": state})
            return
        await ws.send_json({"type": "typing", "active": True})
        answer = [{"type": "bot", "id": secrets.token_hex(8), "text": f"antwoord op {text}"}]
        if self.turns == "hang":
            await self.dead.wait()
            return
        await asyncio.sleep(shared.turn_seconds)  # the stand-in's work
        if not self.alive:
            return  # killed during the turn: nothing stored, nothing sent
        if self.turns == "answer_unstored":
            for frame in answer:
                await ws.send_json(frame)
            await self.dead.wait()
            return
        if text not in shared.lose:
            user = {"role": "user", "text": text, "id": sent}
            history.extend([user, user] if text in shared.store_twice else [user])
            history.extend({"role": "bot", **frame} for frame in answer)
        for frame in answer:
            await ws.send_json(frame)
        await ws.send_json({"type": "typing", "active": False})
        shared.claims[(session, sent)] = ("done", float("inf"))
        await ws.send_json({"type": "ack", "id": sent, "state": "done"})


@pytest.fixture
async def start() -> AsyncIterator[Any]:
    """Serve stand-in instances on free loopback ports; returns their URLs."""
    async with AsyncExitStack() as servers:

        async def start_instances(*instances: Instance) -> list[str]:
            return [await servers.enter_async_context(serving(i.app())) for i in instances]

        yield start_instances


async def run(urls: list[str], victim: Instance, **options: Any) -> KillResult:
    loop = asyncio.get_running_loop()

    def kill() -> str:
        asyncio.run_coroutine_threadsafe(victim.kill(), loop).result(timeout=10)
        return "stand-in 2"

    settings: dict[str, Any] = {
        "residents": 6,
        "duration": 1.5,
        "give_up_after": 6.0,
        "seed": 7,
        "think_time": (0.01, 0.05),
        "pending_retry": 0.2,
        **options,
    }
    return await kill_test(urls, kill, SCRIPTS, origin=ORIGIN, **settings)


async def test_every_message_answered_once_through_a_kill_counts_nothing_lost(start) -> None:
    shared = Shared(claim_seconds=2.0)
    survivor, victim = Instance(shared), Instance(shared, turns="hang")
    result = await run(await start(survivor, victim), victim)

    assert result.killed == "stand-in 2"
    assert result.killed_at == pytest.approx(0.5, abs=0.3)
    assert len(result.messages) > 6
    assert result.lost == [] and result.duplicated == []
    assert result.answered == len(result.messages)
    assert all(m.in_history == 1 for m in result.messages)
    # The victim's residents were in the middle of a turn: sent again to the survivor, told
    # to wait while the dead one's claim lived, then answered.
    caught = result.caught
    assert len(caught) >= 3 and all(m.sends >= 2 and m.done_at is not None for m in caught)
    assert sum(m.pendings for m in caught) > 0
    assert result.recovery_seconds is not None and result.recovery_seconds > 1.0
    assert result.reconnects >= 3
    assert victim.connections == 3, "residents started spread over both instances"
    assert not result.hit_deadline


async def test_a_message_acknowledged_but_not_stored_is_lost(start) -> None:
    shared = Shared(lose=frozenset({"wat kost een paspoort"}))
    survivor, victim = Instance(shared), Instance(shared)
    result = await run(await start(survivor, victim), victim)

    lost = {m.text for m in result.lost}
    assert lost == {"wat kost een paspoort"}
    assert all(m.done_at is not None and m.in_history == 0 for m in result.lost)
    assert result.duplicated == []
    assert result.answered == len(result.messages) - len(result.lost)


async def test_a_message_stored_twice_is_duplicated(start) -> None:
    shared = Shared(store_twice=frozenset({"hoi"}))
    survivor, victim = Instance(shared), Instance(shared)
    result = await run(await start(survivor, victim), victim)

    assert {m.text for m in result.duplicated} == {"hoi"}
    assert all(m.in_history == 2 for m in result.duplicated)
    assert result.lost == []


async def test_an_answer_shown_and_then_given_again_is_duplicated(start) -> None:
    """The victim sends its answers but dies before storing them; a survivor that does not
    remember ids answers the copies again: the residents saw two answers."""
    shared = Shared(remember_ids=False)
    survivor, victim = Instance(shared), Instance(shared, turns="answer_unstored")
    result = await run(await start(survivor, victim), victim)

    assert result.duplicated, "answers on two connections"
    assert all(m.answers == 2 and m.in_history == 1 for m in result.duplicated)
    assert result.lost == []


def test_the_report_names_lost_and_duplicated_messages_and_the_time_to_recover() -> None:
    result = KillResult(instances=2, killed_at=20.0, killed="rasa-2: SIGKILL to processes [1]")
    result.messages = [
        Sent("a" * 24, "s1", "hallo", 1.0, done_at=1.5, in_history=1),
        Sent("b" * 24, "s1", "wat kost een paspoort", 19.0, caught=True, in_history=0),
        Sent("c" * 24, "s2", "dank u", 19.5, done_at=40.0, caught=True, sends=2, in_history=2),
    ]
    assert result.failed
    args = bench._arguments(["--profile", "production", "--kill", "--duration", "60"])
    run = KillRun(assistant="two stand-ins", result=result)
    started = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

    text = bench.kill_report(run, args, started)
    assert re.search(r"messages sent:\s+3\b", text)
    assert re.search(r"messages answered:\s+2\b", text)  # one of them twice
    assert re.search(r"LOST:\s+1\b", text) and re.search(r"DUPLICATED:\s+1\b", text)
    assert re.search(r"time to recover:\s+20\.5 s", text)
    assert f"lost message ids: {'b' * 24}" in text
    assert f"duplicated message ids: {'c' * 24}" in text
    assert "[NOT MET] kill test: 0 messages lost: 1" in text
    figures = bench.kill_json(run, args, started)
    assert (figures["lost"], figures["duplicated"], figures["recovery_seconds"]) == (1, 1, 20.5)
    assert [target["met"] for target in figures["targets"]] == [False, False]


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--kill"], "--kill needs --profile production"),
        (
            ["--kill", "--profile", "production", "--url", "http://127.0.0.1:5005"],
            "not with --url",
        ),
    ],
)
def test_the_kill_test_needs_its_own_production_instances(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        bench._arguments(argv)
    assert complaint in capsys.readouterr().err
