"""Two Rasa processes sharing one PostgreSQL and one Redis, as production runs them: the resident
chats with one process, a KCC employee takes the conversation over in the console of the other,
and everything reaches the other side; a message sent again to the other process, also after
the first one was killed in the middle of answering it, is answered exactly once.

Both processes run with deploy/endpoints.production.yml (tracker store in PostgreSQL, lock store
in Redis, locks living as long as in production) on a database of this test's own, the handoff
queue and console accounts in the same database, and the live handoff streams in Redis under a
prefix of this test's own. The last test kills the first process: it must stay last.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import redis
import yaml
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy.engine import make_url

from assistant.console.accounts import AccountStore
from assistant.console.schema import ensure_schema
from assistant.lock_store import RedisTicketLockStore
from assistant.sql import engine_for
from assistant.stack import (
    PRODUCTION_LOCK_LIFETIME,
    REPO_ROOT,
    Stack,
    free_ports,
    running_stack,
)
from tests.channels.chat import Chat, bot_text, new_session_id
from tests.conftest import (
    MODEL_PATH,
    SANDBOX_CREDENTIALS,
    content_with_kcc_always_open,
    delete_redis_keys,
    fresh_postgres_database,
)
from tests.residents import resident_headers

pytestmark = pytest.mark.timeout(900)

PASSWORD = secrets.token_urlsafe(16)
LOCK_DB = "11"
PRODUCTION_ENDPOINTS = REPO_ROOT / "deploy" / "endpoints.production.yml"


@pytest.fixture(scope="module")
def two_processes(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[tuple[Stack, Stack]]:
    """Two assistants (each with its own Rasa process) on one database and one Redis."""
    work = tmp_path_factory.mktemp("scale-out")
    prefix = f"test:{uuid.uuid4().hex[:12]}:handoff:"
    try:
        with fresh_postgres_database() as url:
            yield from _started(work, url, redis_url, prefix)
    finally:
        delete_redis_keys(redis_url, prefix)


def _started(work: Path, url: str, redis_url: str, prefix: str) -> Iterator[tuple[Stack, Stack]]:
    database = make_url(url).database
    redis_parts = urlsplit(redis_url)
    shared = {
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": "5432",
        "POSTGRES_DB": database,
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": "",
        "REDIS_HOST": redis_parts.hostname or "127.0.0.1",
        "REDIS_PORT": str(redis_parts.port or 6379),
        "REDIS_PASSWORD": "",
        "REDIS_LOCK_DB": LOCK_DB,
        "REDIS_URL": redis_url,
        "HANDOFF_REDIS_PREFIX": prefix,
        "HANDOFF_DATABASE_URL": url,
        "FEEDBACK_DATABASE_URL": url,
        "ASSISTANT_CONTENT_DIR": str(content_with_kcc_always_open(work / "content")),
        "SANIC_PROXIES_COUNT": "1",
        "TICKET_LOCK_LIFETIME": str(PRODUCTION_LOCK_LIFETIME),
        **SANDBOX_CREDENTIALS,
    }
    engine = engine_for(url)
    ensure_schema(engine)
    AccountStore(engine).create(
        "sanne", display_name="Sanne", password=PASSWORD, municipalities=("utrecht",)
    )
    engine.dispose()
    with ExitStack() as stacks:
        started = []
        for name in ("a", "b"):
            rasa_port, action_port, demo_port = free_ports(3)
            demo = f"http://127.0.0.1:{demo_port}"
            started.append(
                stacks.enter_context(
                    running_stack(
                        MODEL_PATH,
                        rasa_port=rasa_port,
                        action_port=action_port,
                        demo_port=demo_port,
                        endpoints=PRODUCTION_ENDPOINTS,
                        env_overrides={
                            **shared,
                            "WEBCHAT_ALLOWED_ORIGINS": demo,
                            "RASA_PUBLIC_URL": f"http://127.0.0.1:{rasa_port}",
                        },
                        log_dir=work / name,
                    )
                )
            )
        yield started[0], started[1]


class Console:
    """An employee's console over HTTP, as the page's script uses it."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url.rstrip("/")
        self.token = ""

    async def log_in(self, username: str, password: str) -> None:
        async with self.http.get(f"{self.url}/login") as response:
            token = _csrf(await response.text(), 'name="csrf_token" value="')
        form = {"csrf_token": token, "step": "password", "username": username, "password": password}
        async with self.http.post(f"{self.url}/login", data=form) as response:
            assert response.status == 200, await response.text()
        async with self.http.get(f"{self.url}/") as response:
            self.token = _csrf(await response.text(), 'data-csrf-token="')

    async def get(self, path: str) -> Any:
        async with self.http.get(self.url + path) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def post(self, path: str, body: dict[str, Any] | None = None) -> int:
        headers = {"X-CSRF-Token": self.token}
        async with self.http.post(self.url + path, json=body or {}, headers=headers) as response:
            assert response.status < 300, await response.text()
            return response.status


def _csrf(html: str, marker: str) -> str:
    match = re.search(re.escape(marker) + r"([^\"]+)\"", html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def test_the_resident_on_one_process_and_the_employee_on_the_other(
    two_processes: tuple[Stack, Stack],
) -> None:
    resident_side, employee_side = two_processes
    session = new_session_id()
    ws_url = resident_side.rasa_url.replace("http://", "ws://") + "/webhooks/webchat/ws"
    origin = resident_side.demo_url.rstrip("/")
    timeout = aiohttp.ClientTimeout(total=120)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        aiohttp.ClientSession(
            timeout=timeout, cookie_jar=aiohttp.CookieJar(unsafe=True)
        ) as employee_http,
    ):
        ws = await http.ws_connect(ws_url, headers={"Origin": origin, **resident_headers()})
        chat = Chat(ws)
        await chat.hello(session)
        await chat.ask("mijn paspoort is gestolen")
        offer = await chat.ask("ik wil een medewerker spreken")
        await chat.send({"type": "message", "payload": offer[-1]["buttons"][0]["payload"]})
        await chat.receive_until(lambda f: f == {"type": "typing", "active": False})

        console = Console(employee_http, employee_side.console_url)
        await console.log_in("sanne", PASSWORD)
        (waiting,) = (await console.get("/api/state"))["queue"]
        assert waiting["summary"] == "mijn paspoort is gestolen"
        await console.post(f"/api/conversations/{waiting['id']}/take")

        # Published by the other process, delivered to the resident's.
        joined = await chat.receive_until(
            lambda f: f["type"] == "handoff" and f["state"] == "taken"
        )
        assert joined[-1]["employee"] == "Sanne"
        assert "Sanne van de gemeente neemt het gesprek over" in bot_text(
            [f for f in joined if f["type"] == "bot"]
        )
        await console.post(
            f"/api/conversations/{waiting['id']}/messages", {"text": "Goedemiddag, ik help u."}
        )
        said = await chat.receive_until(lambda f: f["type"] == "bot" and "employee" in f)
        assert said[-1]["text"] == "Goedemiddag, ik help u."

        # The resident's answer, recorded by their process, is in the employee's transcript.
        await chat.send({"type": "message", "text": "Dank u, wat moet ik meenemen?"})
        assert await chat.receive() == {"type": "delivered"}
        transcript = await console.get(f"/api/conversations/{waiting['id']}/transcript")
        assert [line["text"] for line in transcript["lines"]][-2:] == [
            "Goedemiddag, ik help u.",
            "Dank u, wat moet ik meenemen?",
        ]

        await console.post(f"/api/conversations/{waiting['id']}/hand-back")
        back = await chat.receive_until(lambda f: f["type"] == "handoff" and f["state"] == "none")
        assert back[-1] == {
            "type": "handoff",
            "state": "none",
            "position": None,
            "employee": None,
            "rate_employee": True,
        }
        await chat.send({"type": "rate_conversation", "score": 9, "about": "employee"})
        assert await chat.receive() == {"type": "rated", "score": 9, "about": "employee"}
        answer = await chat.ask("wat kost een paspoort")
        assert "€" in bot_text(answer), "the assistant answers again, on the first process"
        await ws.close()


async def _connect(http: aiohttp.ClientSession, stack: Stack) -> Chat:
    url = stack.rasa_url.replace("http://", "ws://") + "/webhooks/webchat/ws"
    headers = {"Origin": stack.demo_url.rstrip("/"), **resident_headers()}
    return Chat(await http.ws_connect(url, headers=headers))


async def _chat(http: aiohttp.ClientSession, stack: Stack, session: str) -> Chat:
    chat = await _connect(http, stack)
    await chat.hello(session)
    return chat


def _bots(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "bot"]


async def test_a_message_resent_to_the_other_process_is_not_answered_twice(
    two_processes: tuple[Stack, Stack],
) -> None:
    """The widget resends what it has no ack for after reconnecting, maybe to the other
    process: the ids are shared through Redis, so nothing is answered twice. A connection that
    has not shown the answer yet gets it again from the tracker, the same messages."""
    session = new_session_id()
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        chats = [await _chat(http, stack, session) for stack in two_processes]
        first = await chats[0].send_once("wat kost een rijbewijs", "resend-test-1")
        assert _bots(first), first
        repeat = await chats[1].send_once("wat kost een rijbewijs", "resend-test-1")
        assert repeat == [*_bots(first), {"type": "ack", "id": "resend-test-1", "state": "done"}]
        again = await chats[1].send_once("wat kost een rijbewijs", "resend-test-1")
        assert again == [{"type": "ack", "id": "resend-test-1", "state": "done"}]


async def _until(condition: Callable[[], Any], what: str, seconds: float = 60.0) -> Any:
    """Poll `condition` (cheap: a Redis read) until it holds; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds:g} s"
        await asyncio.sleep(0.05)  # a polling interval, not a wait for something to happen
    return value


async def test_a_message_resent_after_its_process_was_killed_mid_turn_is_answered_once(
    two_processes: tuple[Stack, Stack], redis_url: str
) -> None:
    """The first process is killed in the middle of a resident's turn, before Rasa stored
    anything of it; the widget sends the message again to the other process. While the killed
    process's claim and conversation lock live, the copy is told to wait (`pending`); once
    they expired (here: expired by the test, after checking they would within
    TICKET_LOCK_LIFETIME) the copy is answered, and only once. Runs last: it kills a process."""
    first_process, second_process = two_processes
    session = new_session_id()
    sender = f"webchat-{session}"
    claim = f"webchat:answered:{sender}:killed-turn-1"
    section = yaml.safe_load(PRODUCTION_ENDPOINTS.read_text(encoding="utf-8"))["lock_store"]
    parts = urlsplit(redis_url)
    locks = RedisTicketLockStore(
        EndpointConfig(
            url=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=LOCK_DB,
            key_prefix=section["key_prefix"],
        )
    )
    _, queue, expiry = locks.keys(sender)
    shared = redis.Redis.from_url(redis_url)
    lock_keys = redis.Redis(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 6379,
        db=int(LOCK_DB),
        password=parts.password,
    )
    timeout = aiohttp.ClientTimeout(total=120)
    release = asyncio.Event()
    holding = asyncio.Event()

    async def slow_turn() -> None:
        async with locks.lock(sender, lock_lifetime=PRODUCTION_LOCK_LIFETIME):
            holding.set()
            await release.wait()

    held = asyncio.create_task(slow_turn())
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            doomed = await _chat(http, first_process, session)
            # The conversation's lock, held as a slow turn on some process would hold it: the
            # first process's turn waits for it, so it is surely under way when it is killed.
            await asyncio.wait_for(holding.wait(), 30)
            await doomed.send(
                {"type": "message", "text": "wat kost een paspoort", "id": "killed-turn-1"}
            )
            assert await doomed.receive() == {"type": "typing", "active": True}
            await _until(
                lambda: lock_keys.zcard(queue) == 2,
                "the first process queueing for the conversation's lock",
            )
            (killed_ticket,) = lock_keys.zrange(queue, 1, 1)
            killed_expires = float(lock_keys.hget(expiry, killed_ticket)) / 1000
            first_process.kill("rasa")

            resident = await _chat(http, second_process, session)
            waiting = await resident.send_once("wat kost een paspoort", "killed-turn-1")
            assert waiting == [{"type": "ack", "id": "killed-turn-1", "state": "pending"}]

            # The killed process's claim and lock ticket would free themselves within
            # TICKET_LOCK_LIFETIME: expire them now (and release the ticket held above).
            assert 0 < shared.ttl(claim) <= PRODUCTION_LOCK_LIFETIME
            assert killed_expires <= time.time() + PRODUCTION_LOCK_LIFETIME
            shared.delete(claim)
            lock_keys.zrem(queue, killed_ticket)
            release.set()
            await asyncio.wait_for(held, 30)

            answered = await resident.send_once("wat kost een paspoort", "killed-turn-1")
            assert "€" in bot_text(_bots(answered)), answered
            assert answered[-1] == {"type": "ack", "id": "killed-turn-1", "state": "done"}
            again = await resident.send_once("wat kost een paspoort", "killed-turn-1")
            assert again == [{"type": "ack", "id": "killed-turn-1", "state": "done"}]

            history = (await (await _connect(http, second_process)).hello(session))["messages"]
            assert [m for m in history if m["role"] == "user"] == [
                {"role": "user", "text": "wat kost een paspoort", "id": "killed-turn-1"}
            ]
            assert [m["id"] for m in history if m["role"] == "bot"] == [
                f["id"] for f in _bots(answered)
            ]
    finally:
        release.set()
        await asyncio.wait_for(held, 30)
        shared.delete(claim)
        shared.close()
        lock_keys.delete(*locks.keys(sender))
        lock_keys.close()
        await locks.close()
