"""Sessions on the server: a new key at login, an end after inactivity, the cookie's flags."""

from __future__ import annotations

import datetime as dt
from http.cookies import SimpleCookie

from sqlalchemy import func, select

from assistant.console.accounts import Account, AccountStore
from assistant.console.config import ConsoleConfig
from assistant.console.schema import sessions as sessions_table
from assistant.console.sessions import SessionStore
from tests.assistant.console.helpers import Console, FakeClock, fresh_browser, running


def session_rows(accounts: AccountStore) -> int:
    with accounts.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(sessions_table)).scalar_one()


def set_cookie(response_headers: object) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    for header in response_headers.getall("Set-Cookie", []):  # type: ignore[attr-defined]
        cookie.load(header)
    return cookie


async def test_logging_in_starts_a_new_session_and_ends_the_old_one(
    console: Console, sanne: Account
) -> None:
    await console.client.get("/login")
    before = console.session_cookie()
    await console.log_in()
    after = console.session_cookie()
    assert before and after and before != after
    async with fresh_browser(console, before) as planted:
        response = await planted.get("/", allow_redirects=False)
        assert response.status == 303, "the key from before the login is worth nothing"
    async with fresh_browser(console, after) as same:
        assert (await same.get("/")).status == 200


async def test_the_session_cookie_is_http_only_strict_and_not_kept(
    console: Console, sanne: Account
) -> None:
    response = await console.client.get("/login")
    morsel = set_cookie(response.headers)["kcc_sessie"]
    assert morsel["httponly"] and morsel["samesite"] == "Strict" and morsel["path"] == "/"
    assert not morsel["secure"], "make run serves http://127.0.0.1"
    assert not morsel["max-age"] and not morsel["expires"], "gone when the browser closes"
    assert len(morsel.value) >= 43


async def test_in_production_the_cookie_is_secure_and_host_only(
    database_url: str, accounts: AccountStore, clock: FakeClock
) -> None:
    config = ConsoleConfig(database_url=database_url, secure_cookies=True)
    async with running(config, accounts, clock) as console:
        response = await console.client.get("/login")
        morsel = set_cookie(response.headers)["__Host-kcc_sessie"]
        assert morsel["secure"] and morsel["httponly"] and morsel["samesite"] == "Strict"
        assert not morsel["domain"]
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_a_session_ends_after_thirty_minutes_without_requests(
    console: Console, sanne: Account, clock: FakeClock
) -> None:
    await console.log_in()
    clock.advance(minutes=29)
    assert (await console.client.get("/")).status == 200
    clock.advance(minutes=29)
    assert (await console.client.get("/")).status == 200, "each request renews the session"
    clock.advance(minutes=30)
    response = await console.client.get("/", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/login?verlopen=1")
    page = await (await console.client.get("/login?verlopen=1")).text()
    assert "U was een tijd niet actief en bent daarom uitgelogd." in page


async def test_the_idle_time_is_configurable(
    database_url: str, accounts: AccountStore, clock: FakeClock, sanne: Account
) -> None:
    config = ConsoleConfig(database_url=database_url, session_idle_minutes=5)
    async with running(config, accounts, clock) as console:
        await console.log_in()
        clock.advance(minutes=5)
        assert (await console.client.get("/", allow_redirects=False)).status == 303


async def test_an_ended_session_is_not_brought_back(console: Console, sanne: Account) -> None:
    """A request still under way when the employee logs out in another tab cannot log them
    back in by saving its session."""
    await console.log_in()
    key = console.session_cookie()
    assert key
    console_sessions = SessionStore(console.accounts.engine, idle=dt.timedelta(minutes=30))
    console_sessions.delete(key)
    assert not console_sessions.save(key, {"account_id": sanne.id})
    assert (await console.client.get("/", allow_redirects=False)).status == 303


async def test_ended_sessions_are_purged(
    console: Console, sanne: Account, clock: FakeClock
) -> None:
    await console.log_in()
    await console.client.post("/logout", data={"csrf_token": await console.page_token()})
    await console.client.get("/login")
    assert session_rows(console.accounts) == 1, "logging out deleted the session"
    clock.advance(minutes=31)
    async with fresh_browser(console, "") as other:
        await other.get("/login")
    assert session_rows(console.accounts) == 1, "the idle one is gone, the new one stays"


def test_a_new_password_ends_the_accounts_sessions(
    accounts: AccountStore, sanne: Account, clock: FakeClock
) -> None:
    store = SessionStore(accounts.engine, idle=dt.timedelta(minutes=30), clock=clock)
    mine = store.create({"account_id": sanne.id, "csrf": "x"})
    other = store.create({"account_id": "someone-else"})
    assert store.end_for_account(sanne.id) == 1
    assert store.load(mine) is None and store.load(other) == {"account_id": "someone-else"}


def test_the_database_holds_no_usable_session_key(accounts: AccountStore, clock: FakeClock) -> None:
    store = SessionStore(accounts.engine, idle=dt.timedelta(minutes=30), clock=clock)
    key = store.create({"csrf": "x"})
    with accounts.engine.connect() as connection:
        stored = connection.execute(select(sessions_table.c.key_hash)).scalar_one()
    assert key not in stored and len(stored) == 64
