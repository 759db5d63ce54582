"""The console under test: a fake clock, cheap hashing, and a browser-like client.

`running(...)` serves `create_app` on a free loopback port through aiohttp's own test server
and client (the client keeps cookies, like a browser), with the test's clock, so idle timeouts
and lock-outs are tested by moving the clock, never by sleeping.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from assistant.console.accounts import AccountStore
from assistant.console.app import create_app
from assistant.console.config import ConsoleConfig

# Argon2id still, with the smallest cost: hashing in milliseconds instead of 64 MiB each.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "paard batterij nietje"
START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc)
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.moment = start

    def __call__(self) -> dt.datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += dt.timedelta(**delta)


def token_in(page: str) -> str:
    """The CSRF token of a page's forms."""
    found = _TOKEN.search(page)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


@dataclass
class Console:
    client: TestClient
    accounts: AccountStore
    clock: FakeClock
    config: ConsoleConfig

    @property
    def origin(self) -> str:
        return str(self.client.make_url("/")).rstrip("/")

    async def login_token(self) -> str:
        response = await self.client.get("/login")
        assert response.status == 200
        return token_in(await response.text())

    async def page_token(self, path: str = "/") -> str:
        response = await self.client.get(path)
        assert response.status == 200, path
        return token_in(await response.text())

    async def submit_password(
        self, username: str = "sanne", password: str = PASSWORD
    ) -> aiohttp.ClientResponse:
        """Fill in and send the login form as a browser would (redirects not followed)."""
        data = {"username": username, "password": password, "step": "password"}
        data["csrf_token"] = await self.login_token()
        return await self.client.post("/login", data=data, allow_redirects=False)

    async def submit_code(self, code: str) -> aiohttp.ClientResponse:
        data = {"code": code, "step": "code", "csrf_token": await self.login_token()}
        return await self.client.post("/login", data=data, allow_redirects=False)

    async def log_in(self, username: str = "sanne", password: str = PASSWORD) -> None:
        response = await self.submit_password(username, password)
        assert (response.status, response.headers.get("Location")) == (303, "/")

    def session_cookie(self) -> str | None:
        for cookie in self.client.session.cookie_jar:
            if cookie.key.endswith("kcc_sessie"):
                return cookie.value
        return None


@asynccontextmanager
async def running(
    config: ConsoleConfig,
    accounts: AccountStore,
    clock: FakeClock,
    extra_routes: Callable[[web.Application], None] | None = None,
) -> AsyncIterator[Console]:
    app = create_app(config, extra_routes=extra_routes, clock=clock, password_hasher=FAST_HASHER)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield Console(client=client, accounts=accounts, clock=clock, config=config)


@asynccontextmanager
async def fresh_browser(console: Console, cookie: str) -> AsyncIterator[aiohttp.ClientSession]:
    """Another browser that presents only `cookie` as the session cookie."""
    jar = aiohttp.DummyCookieJar()
    headers = {"Cookie": f"kcc_sessie={cookie}"}
    async with aiohttp.ClientSession(
        base_url=console.origin, cookie_jar=jar, headers=headers
    ) as session:
        yield session
