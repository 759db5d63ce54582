"""A real desk behind the console, for the desk's API, live-feed and browser tests.

The desk runs over real parts, as in tests/assistant/handoff/test_router.py: Rasa's tracker and
lock stores without a model, the SQL queue in the console's own database (SQLite or
PostgreSQL, as in production, where accounts, sessions and the queue share one), and the live
bus (in-process, or Redis through two connections: the desk's and the console's process).
Residents are played by the router: what action_handoff_accept leaves behind, then messages.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
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

from assistant.console.accounts import AccountStore
from assistant.console.app import create_app
from assistant.console.config import ConsoleConfig
from assistant.console.desk_routes import DeskOptions, desk_routes
from assistant.console.live import LiveOptions
from assistant.handoff.bus import LiveEvent, MessageBus
from assistant.handoff.bus_memory import MemoryMessageBus
from assistant.handoff.bus_redis import RedisMessageBus
from assistant.handoff.callbacks import Callback, CallbackStore
from assistant.handoff.conversation_log import ConversationLog
from assistant.handoff.desk import Desk
from assistant.handoff.router import Router
from assistant.handoff.store import HandoffStore
from assistant.ratelimit import MemoryRateLimiter, RateLimiter
from tests.assistant.console.helpers import FAST_HASHER, PASSWORD, FakeClock
from tests.domain_files import DOMAIN_DIR

# Short waits for the live feed in tests: a session check on every read of the bus.
FAST_LIVE = LiveOptions(block_ms=100, session_check_seconds=0, state_every_seconds=3600)
_TOKEN = re.compile(r'data-csrf-token="([^"]+)"')


@lru_cache(maxsize=1)
def domain() -> Domain:
    return Domain.load(str(DOMAIN_DIR))


@dataclass
class DeskParts:
    store: HandoffStore
    callbacks: CallbackStore
    agent: Agent
    router: Router
    desk: Desk
    bus: MessageBus  # the bus as the desk's process sees it

    def conversation_id(self) -> str:
        return "webchat-" + secrets.token_urlsafe(16)

    async def waiting(
        self,
        municipality: str = "utrecht",
        summary: str = "ik ben mijn paspoort kwijt",
        topic: str | None = "Paspoort kwijt",
        channel: str = "webchat",
        conversation: str | None = None,
    ) -> tuple[str, str]:
        """A resident waiting for a person, as action_handoff_accept leaves them and as the
        router announces them: (handoff id, conversation id)."""
        conversation = conversation or self.conversation_id()
        at = dt.datetime.now(dt.timezone.utc).timestamp()
        await self.router.log.append(
            conversation,
            [
                ActionExecuted("action_session_start", timestamp=at),
                SessionStarted(timestamp=at),
                ActionExecuted("action_listen", timestamp=at),
                UserUttered(summary, timestamp=at),
                BotUttered("U staat in de wachtrij.", timestamp=at),
                ConversationPaused(timestamp=at),
            ],
        )
        handoff = self.store.request(
            conversation, municipality=municipality, channel=channel, summary=summary, topic=topic
        )
        await self.router.publish(LiveEvent("waiting", conversation))
        return handoff.id, conversation

    async def resident_says(self, conversation: str, text: str) -> None:
        async def to_rasa(_: UserMessage) -> None:
            raise AssertionError("a message to a person reached the assistant")

        message = UserMessage(
            text, CollectingOutputChannel(), conversation, input_channel="webchat"
        )
        routed = await self.router.route(message, to_rasa)
        assert routed.to_person

    async def resident_types(self, conversation: str, active: bool = True) -> None:
        await self.router.typing(conversation, active)

    def callback(self, municipality: str = "utrecht", name: str = "Fatima de Vries") -> Callback:
        return self.callbacks.request(
            self.conversation_id(),
            municipality=municipality,
            channel="webchat",
            name=name,
            phone="0612345678",
            topic="Vraag over de afvalpas",
            due_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=20),
        )


@asynccontextmanager
async def desk_parts(database_url: str, redis: tuple[str, str] | None) -> AsyncIterator[DeskParts]:
    """The desk over `database_url`, with the Redis bus at (url, prefix), or in-process."""
    bus: MessageBus = RedisMessageBus(*redis) if redis else MemoryMessageBus()
    store = HandoffStore(database_url)
    store.ensure_schema()
    agent = Agent(
        domain=domain(),
        tracker_store=InMemoryTrackerStore(domain()),
        lock_store=InMemoryLockStore(),
    )
    router = Router(store, bus, ConversationLog(lambda: agent), municipalities=lambda: [])
    callbacks = CallbackStore(store._engine)
    try:
        yield DeskParts(store, callbacks, agent, router, Desk(store, callbacks, router), bus)
    finally:
        await bus.close()
        store.dispose()


@dataclass
class Browser:
    """One employee's browser: its own cookies, the page's CSRF token, the API and the feed."""

    origin: str
    session: aiohttp.ClientSession
    token: str = ""
    sockets: list[aiohttp.ClientWebSocketResponse] = field(default_factory=list)

    async def log_in(self, username: str, password: str = PASSWORD) -> None:
        page = await (await self.session.get("/login")).text()
        login_token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert login_token
        response = await self.session.post(
            "/login",
            data={
                "username": username,
                "password": password,
                "step": "password",
                "csrf_token": login_token.group(1),
            },
            allow_redirects=False,
        )
        assert response.status == 303, await response.text()
        home = await self.session.get("/")
        assert home.status == 200
        found = _TOKEN.search(await home.text())
        assert found, "the queue page gives its script the CSRF token"
        self.token = found.group(1)

    async def get(self, path: str) -> tuple[int, Any]:
        response = await self.session.get(path, headers={"Accept": "application/json"})
        return response.status, await _body(response)

    async def post(
        self, path: str, body: Any = None, *, raw: str | None = None, token: bool = True
    ) -> tuple[int, Any]:
        headers = {"X-CSRF-Token": self.token} if token else {}
        if raw is not None:
            headers["Content-Type"] = "application/json"
            response = await self.session.post(path, data=raw, headers=headers)
        else:
            response = await self.session.post(path, json=body, headers=headers)
        return response.status, await _body(response)

    async def live(self, after: str | None = None) -> aiohttp.ClientWebSocketResponse:
        query = f"?csrf_token={self.token}" + (f"&after={after}" if after else "")
        socket = await self.session.ws_connect(
            "/api/live" + query, headers={"Origin": self.origin}, receive_timeout=20
        )
        self.sockets.append(socket)
        return socket


async def _body(response: aiohttp.ClientResponse) -> Any:
    if response.status == 204:
        return None
    return await response.json()


@dataclass
class DeskConsole:
    parts: DeskParts
    accounts: AccountStore
    clock: FakeClock
    origin: str
    browsers: list[Browser] = field(default_factory=list)

    async def browser(self, username: str) -> Browser:
        session = aiohttp.ClientSession(
            base_url=self.origin, cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        browser = Browser(self.origin, session)
        self.browsers.append(browser)
        await browser.log_in(username)
        return browser


def make_accounts(accounts: AccountStore) -> None:
    """Sanne and Joost work for Utrecht, Piet for Zwolle."""
    accounts.create("sanne", display_name="Sanne", password=PASSWORD, municipalities=["utrecht"])
    accounts.create("joost", display_name="Joost", password=PASSWORD, municipalities=["utrecht"])
    accounts.create("piet", display_name="Piet", password=PASSWORD, municipalities=["zwolle"])


@asynccontextmanager
async def desk_console(
    parts: DeskParts,
    database_url: str,
    accounts: AccountStore,
    clock: FakeClock,
    *,
    limiter: RateLimiter | None = None,
    options: DeskOptions | None = None,
) -> AsyncIterator[DeskConsole]:
    """The console with the desk's routes on a free loopback port."""
    app = create_app(
        ConsoleConfig(database_url=database_url),
        extra_routes=desk_routes(
            parts.desk,
            limiter=limiter or MemoryRateLimiter(),
            options=options or DeskOptions(live=FAST_LIVE),
        ),
        clock=clock,
        password_hasher=FAST_HASHER,
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    console = DeskConsole(parts, accounts, clock, f"http://127.0.0.1:{server.port}")
    try:
        yield console
    finally:
        for browser in console.browsers:
            for socket in browser.sockets:
                await socket.close()
            await browser.session.close()
        await server.close()
