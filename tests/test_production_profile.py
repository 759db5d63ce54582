"""The production profile of assistant/stack.py (`make run PROFILE=production`): two Sanic workers
in one Rasa instance and two action server workers, on a PostgreSQL database and a Redis key
prefix of this test's own.

Which worker serves a request is the kernel's choice; the tests read it from /proc (the worker
that holds the server side of the connection), so they can show that conversations stay whole
whichever worker served each turn, instead of assuming it.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import select
import signal
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import psycopg2
import pytest
from sqlalchemy.engine import make_url

from assistant.stack import (
    ServiceUnavailableError,
    Stack,
    StackError,
    free_port,
    free_ports,
    listening_pids,
    running_stack,
)
from tests.channels.chat import Chat, new_session_id
from tests.conftest import (
    MODEL_PATH,
    SANDBOX_CREDENTIALS,
    delete_redis_keys,
    fresh_postgres_database,
)
from tests.residents import resident_headers

pytestmark = pytest.mark.timeout(900)

WORKERS = 2
LOCK_DB = "11"  # Rasa's lock keys, apart from the other tests' keys in database 0
CONVERSATIONS = 8
TURNS = 6
QUESTIONS = (
    "hallo",
    "wat kost een paspoort",
    "mijn paspoort is gestolen",
    "wat kost een rijbewijs",
)
TIMEOUT = aiohttp.ClientTimeout(total=120)
MAX_RECONNECTS = 20


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def production_stack(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str
) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("production-profile")
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    rasa_port, action_port, demo_port = free_ports(3)
    try:
        with running_stack(
            MODEL_PATH,
            rasa_port=rasa_port,
            action_port=action_port,
            demo_port=demo_port,
            profile="production",
            sanic_workers=WORKERS,
            action_workers=WORKERS,
            env_overrides={
                # Host, port and user as the stack's local defaults; the database is this test's.
                "POSTGRES_DB": make_url(database_url).database or "",
                "POSTGRES_USER": "postgres",
                "POSTGRES_PASSWORD": "",
                "REDIS_URL": redis_url,
                "REDIS_LOCK_DB": LOCK_DB,
                "HANDOFF_REDIS_PREFIX": f"{prefix}handoff:",
                "WHATSAPP_REDIS_PREFIX": f"{prefix}whatsapp:",
                "WEBCHAT_ALLOWED_ORIGINS": f"http://127.0.0.1:{demo_port}",
                "RASA_PUBLIC_URL": f"http://127.0.0.1:{rasa_port}",
                "SANIC_PROXIES_COUNT": "1",  # each resident its own address (tests/residents.py)
                **SANDBOX_CREDENTIALS,
            },
            log_dir=work / "logs",
        ) as stack:
            yield stack
    finally:
        delete_redis_keys(redis_url, prefix)


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def _worker_holding(stack: Stack, client_port: int) -> int:
    """The Rasa worker that holds the server side of our connection from `client_port`."""
    rasa_port = _port(stack.rasa_url)
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text(encoding="ascii").splitlines()[1:]:
            fields = line.split()
            local, remote = (int(f.rsplit(":", 1)[1], 16) for f in fields[1:3])
            if local == rasa_port and remote == client_port:
                inodes.add(f"socket:[{fields[9]}]")
    holders = []
    for pid in stack.worker_pids("rasa"):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    holders.append(pid)
            except OSError:
                continue
    assert len(holders) == 1, f"connection from port {client_port} held by {holders}"
    return holders[0]


def _turn(stack: Stack, sender: str, text: str, headers: dict[str, str]) -> tuple[Any, int]:
    """One REST turn on a connection of its own (so the kernel may give it to either worker):
    the answer and the worker that served it."""
    body = {"sender": sender, "message": text, "metadata": {"municipality": "utrecht"}}
    connection = http.client.HTTPConnection("127.0.0.1", _port(stack.rasa_url), timeout=120)
    try:
        connection.request(
            "POST",
            urlsplit(stack.rest_webhook_url).path,
            body=json.dumps(body),
            headers={"Content-Type": "application/json", **headers},
        )
        response = connection.getresponse()
        answer = response.read()
        assert response.status == 200, answer
        # Kept alive: the server side of the connection is still open in the worker.
        assert connection.sock is not None
        return json.loads(answer), _worker_holding(stack, connection.sock.getsockname()[1])
    finally:
        connection.close()


def _conversation(stack: Stack, sender: str) -> list[int]:
    headers = resident_headers()
    served = []
    for turn in range(TURNS):
        text = QUESTIONS[turn % len(QUESTIONS)]
        replies, worker = _turn(stack, sender, text, headers)
        assert any(reply.get("text") for reply in replies), f"{text!r} unanswered: {replies}"
        served.append(worker)
    return served


def _events(database_url: str, conversation: str) -> list[tuple[str, dict[str, Any]]]:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT type_name, data FROM events WHERE sender_id = %s ORDER BY id",
                (conversation,),
            )
            return [(kind, json.loads(data)) for kind, data in cursor.fetchall()]
    finally:
        connection.close()


def test_parallel_conversations_are_whole_whichever_worker_served_each_turn(
    production_stack: Stack, database_url: str
) -> None:
    workers = production_stack.worker_pids("rasa")
    assert len(workers) == WORKERS
    senders = [f"prod-{uuid.uuid4().hex[:16]}" for _ in range(CONVERSATIONS)]
    with ThreadPoolExecutor(CONVERSATIONS) as residents:
        served = list(residents.map(partial(_conversation, production_stack), senders))

    assert {pid for turns in served for pid in turns} == set(workers), "both workers served turns"
    for sender, turns in zip(senders, served, strict=True):
        events = _events(database_url, f"rest-{sender}")
        said = [data["text"] for kind, data in events if kind == "user"]
        assert said == [QUESTIONS[t % len(QUESTIONS)] for t in range(TURNS)], (sender, turns)
        assert [kind for kind, _ in events].count("session_started") == 1
        # Every turn answered before the next began, and the conversation waits for the resident.
        kinds = [kind for kind, _ in events]
        user_at = [i for i, kind in enumerate(kinds) if kind == "user"]
        for start, end in zip(user_at, [*user_at[1:], len(kinds)], strict=True):
            assert "bot" in kinds[start:end], (sender, kinds[start:end])
        assert events[-1] == ("action", events[-1][1])
        assert events[-1][1]["name"] == "action_listen"
        # Nothing stored twice (every event has its own timestamp).
        stored = [json.dumps(data, sort_keys=True) for _, data in events]
        assert len(set(stored)) == len(stored)


async def test_every_worker_serves_the_staff_console_on_its_port(production_stack: Stack) -> None:
    workers = production_stack.worker_pids("rasa")
    console_port = _port(production_stack.console_url)
    assert sorted(listening_pids(workers, console_port)) == sorted(workers)
    assert len(production_stack.worker_pids("actions")) == WORKERS

    async def health() -> int:
        # A connection of its own each: the kernel spreads them over the workers' sockets.
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as http,
            http.get(f"{production_stack.console_url}health") as response,
        ):
            return response.status

    assert await asyncio.gather(*(health() for _ in range(10))) == [200] * 10


async def _chat(stack: Stack, http: aiohttp.ClientSession) -> tuple[Chat, int]:
    url = stack.rasa_url.replace("http://", "ws://") + "/webhooks/webchat/ws"
    origin = stack.demo_url.rstrip("/")
    ws = await http.ws_connect(url, headers={"Origin": origin, **resident_headers()})
    return Chat(ws), _worker_holding(stack, ws.get_extra_info("sockname")[1])


async def test_a_web_chat_keeps_its_history_over_a_reconnect(production_stack: Stack) -> None:
    session = new_session_id()
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        chat, first_worker = await _chat(production_stack, http)
        await chat.hello(session)
        await chat.ask("wat kost een paspoort")
        await chat.ask("wat kost een rijbewijs")
        await chat.ws.close()

        # The resident comes back on the other worker (the kernel alternates new connections
        # between the workers; the ones that land on the first are closed unused).
        for _ in range(MAX_RECONNECTS):
            chat, second_worker = await _chat(production_stack, http)
            if second_worker != first_worker:
                break
            await chat.ws.close()
        assert second_worker != first_worker, "no connection reached the other worker"
        history = await chat.hello(session)
        await chat.ws.close()

    said = [m["text"] for m in history["messages"] if m["role"] == "user"]
    assert said == ["wat kost een paspoort", "wat kost een rijbewijs"], (
        first_worker,
        second_worker,
    )
    answers = [m for m in history["messages"] if m["role"] == "bot"]
    assert any("€" in m["text"] for m in answers), answers


def test_a_worker_that_stops_is_reported(production_stack: Stack) -> None:
    """Sanic does not replace a worker that died; `make run` checks every few seconds and says
    so. (Runs last of the tests on this stack: it leaves one worker.)"""
    production_stack.check_alive()
    victim = os.pidfd_open(production_stack.worker_pids("rasa")[0])
    try:
        signal.pidfd_send_signal(victim, signal.SIGKILL)
        # The descriptor turns readable when the worker has ended.
        assert select.select([victim], [], [], 30)[0], "the worker did not end"
    finally:
        os.close(victim)
    with pytest.raises(StackError, match=f"1 of {WORKERS} rasa workers are running"):
        production_stack.check_alive()


def _ports() -> dict[str, int]:
    rasa_port, action_port, demo_port = free_ports(3)
    return {"rasa_port": rasa_port, "action_port": action_port, "demo_port": demo_port}


def test_an_unknown_profile_is_refused() -> None:
    with (
        pytest.raises(StackError, match="Unknown profile 'staging'"),
        running_stack(MODEL_PATH, **_ports(), profile="staging"),
    ):
        pass


def test_several_workers_need_the_production_profile() -> None:
    with (
        pytest.raises(StackError, match="production profile"),
        running_stack(MODEL_PATH, **_ports(), sanic_workers=2),
    ):
        pass


def test_an_unreachable_redis_is_named() -> None:
    nobody = free_port()
    overrides = {
        "POSTGRES_DB": "postgres",  # exists: PostgreSQL is fine, only Redis is not
        "POSTGRES_USER": "postgres",
        "REDIS_URL": f"redis://127.0.0.1:{nobody}/0",
        **SANDBOX_CREDENTIALS,
    }
    with (
        pytest.raises(
            ServiceUnavailableError, match=f"Redis is not reachable at 127.0.0.1:{nobody}"
        ),
        running_stack(MODEL_PATH, **_ports(), profile="production", env_overrides=overrides),
    ):
        pass


def test_an_unreachable_postgresql_is_named(redis_url: str) -> None:
    nobody = free_port()
    overrides = {
        "POSTGRES_PORT": str(nobody),
        "REDIS_URL": redis_url,
        **SANDBOX_CREDENTIALS,
    }
    with (
        pytest.raises(
            ServiceUnavailableError, match=f"PostgreSQL is not reachable at 127.0.0.1:{nobody}"
        ),
        running_stack(MODEL_PATH, **_ports(), profile="production", env_overrides=overrides),
    ):
        pass
