"""The kill test of `make bench` (`--kill`): one of two Rasa instances dies under load, and every
resident's message must still be answered, once.

Simulated residents speak the web chat's protocol (channels/webchat.py) as the widget does
(webchat/widget.js): a `hello` with a random session id per conversation, every message with an
id of its own, kept until an `ack` says `done`; an `ack` `pending` is asked again after
PENDING_RETRY_SECONDS. When the connection drops, a resident reconnects after the widget's
back-off, takes from the `history` what was answered meanwhile (a user item with the message's
id) and sends the rest again, with the same id. Connections go to the instances as a proxy would
send them: residents start spread over the instances, and a connection an instance refuses is
tried on the next one, so after the kill everybody reaches the survivor. A resident sends the
next message of its script only after the last one was answered, after a think time.

After a third of the duration, `kill` ends one instance, every process of it at once (SIGKILL).
When the duration is over nobody starts a message; what is still under way may take until its
own deadline. Then every conversation is opened once more and its `history` read.

Per message id:

- answered: acknowledged `done` (or found in the history after a reconnect) and in the final
  history;
- LOST: never answered so, or not in the final history (a turn that failed with an error is
  lost too: the resident got no answer);
- DUPLICATED: in the final history more than once, or answered twice: `bot` frames with ids
  not seen before for it arrived on two connections;
- caught by the kill: it was waiting for its answer, or about to be sent, when its connection
  dropped; the longest time from its first sending to its answer is the time to recover.

`kill_test` works against any web chat servers (tests/scripts/test_bench_kill.py uses
stand-ins); `run_against_the_assistant` runs it against the production profile with two Rasa
instances (assistant/stack.py) sharing PostgreSQL, Redis and one action server, and kills the
second. Bounded in time (every wait has a deadline) and for this machine only (loopback URLs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from assistant.stack import rasa_name
from scripts.bench_load import (
    Script,
    require_loopback,
    resident_address,
    run_bounded,
    stack_for_load,
    warm_up,
)

# A third of the way in: a steady state before the kill, and time to recover after it.
KILL_AT = 1 / 3
# The widget's (webchat/widget.js): RESEND_PENDING_MS, and its reconnect back-off.
PENDING_RETRY_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 30.0
KILL_THINK_TIME = (1.0, 3.0)  # seconds between an answer and the resident's next message
HANDSHAKE_SECONDS = 10.0  # to open a connection and get its history
FINAL_READS_AT_ONCE = 10  # conversations whose history is read at the same time at the end
UNANSWERED = "unanswered at its deadline"


class _Dropped(Exception):
    """The connection closed or broke."""


@dataclass
class Sent:
    """One message of a resident, under its id, and what became of it (seconds after the start)."""

    id: str
    session: str
    text: str
    first_sent: float
    done_at: float | None = None
    found_in_history: bool = False  # answered while the connection was down
    caught: bool = False  # its connection dropped while it waited (or as it was to be sent)
    sends: int = 0
    pendings: int = 0
    answers: int = 0  # connections on which bot frames new for this message arrived
    bot_ids: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    in_history: int | None = None  # user items with its id in the final history (None: unread)

    @property
    def lost(self) -> bool:
        return self.done_at is None or not self.in_history

    @property
    def duplicated(self) -> bool:
        return (self.in_history or 0) > 1 or self.answers > 1


@dataclass
class KillResult:
    """What the kill test saw."""

    messages: list[Sent] = field(default_factory=list)
    instances: int = 0
    killed_at: float | None = None  # seconds after the start
    killed: str = ""  # what the kill reported (the processes it ended)
    elapsed: float = 0.0
    conversations: int = 0
    reconnects: int = 0
    unreadable_histories: int = 0
    hit_deadline: bool = False

    @property
    def lost(self) -> list[Sent]:
        return [m for m in self.messages if m.lost]

    @property
    def duplicated(self) -> list[Sent]:
        return [m for m in self.messages if m.duplicated]

    @property
    def answered(self) -> int:
        return sum(1 for m in self.messages if not m.lost)

    @property
    def caught(self) -> list[Sent]:
        return [m for m in self.messages if m.caught]

    @property
    def recovery_seconds(self) -> float | None:
        """The longest a message caught by the kill waited for its answer."""
        delays = [m.done_at - m.first_sent for m in self.caught if m.done_at is not None]
        return max(delays, default=None)

    @property
    def errors(self) -> Counter[str]:
        return Counter(error for m in self.messages for error in m.errors)

    @property
    def failed(self) -> bool:
        return bool(self.lost or self.duplicated)

    def summary(self) -> dict[str, Any]:
        recovery = self.recovery_seconds
        caught = self.caught
        return {
            "instances": self.instances,
            "killed_at_seconds": None if self.killed_at is None else round(self.killed_at, 1),
            "killed": self.killed,
            "elapsed_seconds": round(self.elapsed, 1),
            "conversations": self.conversations,
            "messages_sent": len(self.messages),
            "messages_answered": self.answered,
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "caught_by_the_kill": len(caught),
            "caught_sent_again": sum(1 for m in caught if m.sends > 1),
            "caught_found_in_history": sum(1 for m in caught if m.found_in_history),
            "recovery_seconds": None if recovery is None else round(recovery, 1),
            "pending_acks": sum(m.pendings for m in self.messages),
            "reconnects": self.reconnects,
            "unreadable_histories": self.unreadable_histories,
            "errors_by_kind": dict(self.errors.most_common()),
            "lost_ids": [m.id for m in self.lost],
            "duplicated_ids": [m.id for m in self.duplicated],
            "hit_deadline": self.hit_deadline,
        }


def ws_url(url: str) -> str:
    """The web chat's WebSocket address of a Rasa instance at `url` (http on loopback)."""
    return require_loopback(url).replace("http", "ws", 1) + "/webhooks/webchat/ws"


def new_message_id() -> str:
    return secrets.token_hex(12)  # as the widget's: 12 random bytes in hex


class _Test:
    """The shared state of one run: the instances, the clock, the results."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        origin: str,
        municipality: str,
        give_up_after: float,
        pending_retry: float,
        result: KillResult,
    ) -> None:
        self.urls = [ws_url(url) for url in urls]
        self.pending_retry = pending_retry
        self.origin = origin
        self.municipality = municipality
        self.give_up_after = give_up_after
        self.result = result
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time()
        self.http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=HANDSHAKE_SECONDS),
            connector=aiohttp.TCPConnector(limit=0),
        )

    def now(self) -> float:
        return self.loop.time() - self.started

    async def open(self, session: str, address: str, first: int) -> tuple[Any, list[dict]]:
        """A connection to the first instance from `first` on that accepts it, with the
        conversation's history: (socket, history items). _Dropped when none does."""
        for step in range(len(self.urls)):
            instance = (first + step) % len(self.urls)
            try:
                ws = await self.http.ws_connect(
                    self.urls[instance],
                    headers={"Origin": self.origin, "X-Forwarded-For": address},
                )
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
                continue  # refused (a dead instance): the proxy tries the next one
            try:
                hello = {"type": "hello", "session_id": session, "municipality": self.municipality}
                await ws.send_str(json.dumps(hello))
                while (frame := await receive(ws, HANDSHAKE_SECONDS))["type"] != "history":
                    pass
                return ws, frame["messages"]
            except (_Dropped, asyncio.TimeoutError):
                await ws.close()
        raise _Dropped("no instance accepted the connection")


async def receive(ws: Any, timeout: float) -> dict[str, Any]:
    """The next frame; _Dropped when the connection ended, TimeoutError after `timeout`."""
    try:
        # At least a moment: aiohttp reads a timeout of 0 as none at all.
        message = await ws.receive(timeout=max(timeout, 0.001))
    except (aiohttp.ClientError, OSError) as error:
        raise _Dropped(type(error).__name__) from error
    if message.type != aiohttp.WSMsgType.TEXT:
        raise _Dropped(str(message.type))
    return json.loads(message.data)


def answered_ids(history: list[dict[str, Any]]) -> Counter[str]:
    """How often each message id is in a history as a user item."""
    return Counter(
        item["id"]
        for item in history
        if item.get("role") == "user" and isinstance(item.get("id"), str)
    )


class _Resident:
    """One simulated resident: conversations one after the other, as the widget sends them."""

    def __init__(self, test: _Test, number: int, home: int, think: tuple[float, float]) -> None:
        self.test = test
        self.number = number
        self.home = home
        self.think = think
        self.ws: Any = None
        self.connection = 0  # counts the connections, to tell answers on two of them apart
        self.sessions: list[tuple[str, str]] = []  # (session id, address) of each conversation

    async def run(self, scripts: Sequence[Script], stop_sending: float, seed: int) -> None:
        choose = random.Random(f"kill/{seed}/{self.number}")
        while self.test.now() < stop_sending:
            await self.conversation(scripts[choose.randrange(len(scripts))], stop_sending, choose)

    async def conversation(
        self, script: Script, stop_sending: float, choose: random.Random
    ) -> None:
        session = secrets.token_urlsafe(16)
        address = resident_address(self.number * 1000 + len(self.sessions))
        self.sessions.append((session, address))
        self.test.result.conversations += 1
        try:
            for index, text in enumerate(script):
                if self.test.now() >= stop_sending:
                    return
                if index:
                    await asyncio.sleep(choose.uniform(*self.think))  # the resident reads, types
                message = Sent(new_message_id(), session, text, self.test.now())
                self.test.result.messages.append(message)
                if not await self.deliver(message, session, address):
                    return  # the widget shows the error; this resident starts anew
        finally:
            await self.close()

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
            self.ws = None

    async def connect(self, session: str, address: str, message: Sent, deadline: float) -> bool:
        """(Re)connect, as the widget after a drop: back-off, hello, the history. True when the
        history shows `message` answered; without a connection when `deadline` passed first."""
        reconnecting = self.ws is not None or message.sends > 0
        await self.close()
        attempt = 0
        while self.test.now() < deadline:
            if reconnecting:
                attempt += 1
                self.test.result.reconnects += attempt == 1
                backoff = min(MAX_BACKOFF_SECONDS, 2.0 ** (attempt - 1))
                await asyncio.sleep(backoff * random.uniform(0.8, 1.2))  # the widget's jitter
            try:
                self.ws, history = await self.test.open(session, address, self.home)
                break
            except _Dropped:
                reconnecting = True
        else:
            return False
        self.connection += 1
        if message.id in answered_ids(history):
            message.done_at = self.test.now()
            message.found_in_history = True
            return True
        return False

    async def deliver(self, message: Sent, session: str, address: str) -> bool:
        """Send `message` until it is answered; False when it ended otherwise (an error, its
        deadline)."""
        deadline = message.first_sent + self.test.give_up_after
        retry_at: float | None = None
        new_bots_on: int | None = None  # the connection that brought new bot frames last
        needs_sending = True
        while True:
            if self.test.now() >= deadline:
                message.errors.append(UNANSWERED)
                return False
            try:
                if self.ws is None:
                    if await self.connect(session, address, message, deadline):
                        return True
                    continue  # no connection before the deadline: the check above ends it
                if needs_sending:
                    frame = {"type": "message", "text": message.text, "id": message.id}
                    try:
                        await self.ws.send_str(json.dumps(frame))
                    except (ConnectionError, RuntimeError, aiohttp.ClientError) as error:
                        raise _Dropped(type(error).__name__) from error
                    message.sends += 1
                    needs_sending, retry_at = False, None
                wait_until = min(deadline, retry_at if retry_at is not None else math.inf)
                frame = await receive(self.ws, max(0.0, wait_until - self.test.now()))
            except asyncio.TimeoutError:
                needs_sending = retry_at is not None and self.test.now() >= retry_at
                continue
            except _Dropped:
                message.caught = True
                if await self.connect(session, address, message, deadline):
                    return True
                needs_sending = True
                continue
            kind = frame.get("type")
            if kind == "bot":
                if frame["id"] not in message.bot_ids:
                    message.bot_ids.add(frame["id"])
                    if new_bots_on != self.connection:
                        new_bots_on = self.connection
                        message.answers += 1
            elif kind == "ack" and frame.get("id") == message.id:
                if frame.get("state") == "done":
                    message.done_at = self.test.now()
                    return True
                message.pendings += 1
                retry_at = self.test.now() + self.test.pending_retry
            elif kind == "error":
                message.errors.append(str(frame.get("code")))
                return False  # the widget drops its outbox on an error: nothing is sent again


async def _read_histories(test: _Test, residents: list[_Resident], seconds: float) -> None:
    """Open every conversation once more and count the message ids in its history."""
    by_session: dict[str, list[Sent]] = {}
    for message in test.result.messages:
        by_session.setdefault(message.session, []).append(message)
    at_once = asyncio.Semaphore(FINAL_READS_AT_ONCE)

    async def read(session: str, address: str) -> None:
        async with at_once:
            try:
                ws, history = await test.open(session, address, 0)
                await ws.close()
            except (_Dropped, aiohttp.ClientError, OSError, asyncio.TimeoutError):
                test.result.unreadable_histories += 1
                return
        counts = answered_ids(history)
        for message in by_session.get(session, []):
            message.in_history = counts[message.id]

    jobs = [
        asyncio.ensure_future(read(session, address))
        for resident in residents
        for session, address in resident.sessions
        if session in by_session
    ]
    await run_bounded(jobs, test.loop.time() + seconds, test.loop)


async def kill_test(
    urls: Sequence[str],
    kill: Callable[[], object],
    scripts: Sequence[Script],
    *,
    origin: str,
    residents: int,
    duration: float,
    give_up_after: float,
    seed: int,
    municipality: str = "utrecht",
    think_time: tuple[float, float] = KILL_THINK_TIME,
    pending_retry: float = PENDING_RETRY_SECONDS,
) -> KillResult:
    """Drive `residents` over the web chat of the instances at `urls` for `duration` seconds;
    call `kill` (in a thread; it ends one of the instances and says how, for the report) after
    KILL_AT of it. A message not answered `give_up_after` seconds after it was first sent
    counts as lost; one acknowledged `pending` is sent again after `pending_retry` seconds."""
    if len(urls) < 2:
        raise ValueError("a kill test needs two or more instances")
    if residents < 1 or duration <= 0 or give_up_after <= 0:
        raise ValueError("residents, duration and give_up_after must be positive")
    result = KillResult(instances=len(urls))
    test = _Test(
        urls,
        origin=origin,
        municipality=municipality,
        give_up_after=give_up_after,
        pending_retry=pending_retry,
        result=result,
    )
    people = [_Resident(test, n, n % len(urls), think_time) for n in range(residents)]

    async def killer() -> None:
        await asyncio.sleep(duration * KILL_AT)
        result.killed_at = test.now()
        result.killed = str(await asyncio.to_thread(kill))

    try:
        jobs = [asyncio.ensure_future(p.run(scripts, duration, seed)) for p in people]
        jobs.append(asyncio.ensure_future(killer()))
        # The last message may start just before the end and take until its own deadline.
        result.hit_deadline = await run_bounded(
            jobs, test.loop.time() + duration + give_up_after + HANDSHAKE_SECONDS, test.loop
        )
        for person in people:
            await person.close()
        for message in result.messages:
            if message.done_at is None and not message.errors:
                message.errors.append(UNANSWERED)
        await _read_histories(test, people, HANDSHAKE_SECONDS * 6)
    finally:
        await test.http.close()
    result.elapsed = test.now()
    return result


# --- against the assistant -------------------------------------------------------------------


@dataclass
class KillRun:
    """A kill test of the assistant: how it ran, and what the residents saw."""

    assistant: str = ""
    workers: dict[str, int] = field(default_factory=dict)
    warm_up_errors: dict[str, list[str]] = field(default_factory=dict)
    give_up_after: float = 0.0
    result: KillResult = field(default_factory=KillResult)


def run_against_the_assistant(
    model: Path,
    scripts: Sequence[Script],
    *,
    residents: int,
    duration: float,
    timeout: float,
    seed: int,
    municipality: str,
    sanic_workers: int | None = None,
    action_workers: int | None = None,
    warm_up_scripts: int = 4,
) -> KillRun:
    """Start the production profile with two Rasa instances (assistant/stack.py), warm both up,
    kill the second one under load (`kill_test`), and check that the rest still runs.

    Each instance gets `sanic_workers` workers (by default the two share the cores, one worker
    per core in all, as one instance of the production profile has). A message may take
    `timeout` seconds plus a conversation lock's lifetime (what the killed instance held) plus a
    retry of the widget before it counts as lost.
    """
    run = KillRun()
    with stack_for_load(
        model,
        profile="production",
        sanic_workers=sanic_workers,
        action_workers=action_workers,
        rasa_instances=2,
    ) as stack:
        assert stack.settings is not None
        run.assistant = (
            "production profile started by this run: 2 Rasa instances "
            f"({', '.join(stack.rasa_urls)}) of {stack.rasa_workers} worker(s) each, one action "
            "server of "
            f"{stack.action_workers} worker(s), PostgreSQL and Redis shared; conversation locks "
            f"of {stack.settings.ticket_lock_lifetime} s"
        )
        run.workers = {
            "rasa_instances": 2,
            "rasa": stack.rasa_workers,
            "actions": stack.action_workers,
        }
        metadata = {"municipality": municipality}
        for index, url in enumerate(stack.rasa_urls):
            run.warm_up_errors[rasa_name(index)] = asyncio.run(
                warm_up(url, scripts[:warm_up_scripts], timeout=timeout, metadata=metadata)
            )
        victim = rasa_name(1)

        def kill() -> str:
            ended = stack.kill(victim)
            return f"{victim} at {stack.rasa_urls[1]}: SIGKILL to processes {ended}"

        run.give_up_after = timeout + stack.settings.ticket_lock_lifetime + PENDING_RETRY_SECONDS
        run.result = asyncio.run(
            kill_test(
                stack.rasa_urls,
                kill,
                scripts,
                origin=stack.demo_url.rstrip("/"),
                residents=residents,
                duration=duration,
                give_up_after=run.give_up_after,
                seed=seed,
                municipality=municipality,
            )
        )
        stack.check_alive()  # the survivor, the action server and the rest ran on
    return run
