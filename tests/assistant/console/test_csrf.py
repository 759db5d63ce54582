"""CSRF and Origin checks on every state-changing request and WebSocket, and the extension point
through which the queue's routes arrive (login required, current_employee)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from assistant.console.accounts import Account, AccountStore
from assistant.console.app import current_employee
from assistant.console.config import ConsoleConfig
from tests.assistant.console.helpers import Console, FakeClock, running

REFUSED = "Deze actie is geweigerd"


async def whoami(request: web.Request) -> web.Response:
    return web.json_response({"name": current_employee(request).display_name})


async def change(request: web.Request) -> web.Response:
    return web.json_response({"changed": True})


async def live(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    await socket.send_str(f"hallo {current_employee(request).display_name}")
    await socket.close()
    return socket


def queue_routes(app: web.Application) -> None:
    app.router.add_get("/api/whoami", whoami)
    app.router.add_post("/api/change", change)
    app.router.add_get("/ws", live)


@pytest.fixture
async def extended(
    database_url: str, accounts: AccountStore, clock: FakeClock, sanne: Account
) -> AsyncIterator[Console]:
    config = ConsoleConfig(database_url=database_url)
    async with running(config, accounts, clock, extra_routes=queue_routes) as console:
        await console.log_in()
        yield console


async def test_logging_out_without_the_token_is_refused_in_dutch(
    console: Console, sanne: Account
) -> None:
    await console.log_in()
    for data in ({}, {"csrf_token": "geraden"}, {"csrf_token": ""}):
        response = await console.client.post("/logout", data=data)
        assert response.status == 403 and REFUSED in await response.text()
    assert (await console.client.get("/")).status == 200, "still logged in"


async def test_the_login_form_needs_its_token_too(console: Console, sanne: Account) -> None:
    response = await console.client.post(
        "/login", data={"username": "sanne", "password": "x"}, allow_redirects=False
    )
    assert response.status == 403 and REFUSED in await response.text()


async def test_a_token_in_the_header_is_accepted(console: Console, sanne: Account) -> None:
    await console.log_in()
    token = await console.page_token()
    response = await console.client.post(
        "/logout", headers={"X-CSRF-Token": token}, allow_redirects=False
    )
    assert response.status == 303


async def test_a_request_from_another_site_is_refused_even_with_the_token(
    console: Console, sanne: Account
) -> None:
    await console.log_in()
    token = await console.page_token()
    for origin in ("https://kwaadaardig.example", "null"):
        response = await console.client.post(
            "/logout", data={"csrf_token": token}, headers={"Origin": origin}
        )
        assert response.status == 403
    response = await console.client.post(
        "/logout",
        data={"csrf_token": token},
        headers={"Origin": console.origin},
        allow_redirects=False,
    )
    assert response.status == 303


async def test_an_api_change_needs_the_token_and_answers_in_json(extended: Console) -> None:
    refused = await extended.client.post("/api/change", json={})
    assert refused.status == 403 and REFUSED in (await refused.json())["error"]
    token = await extended.page_token()
    accepted = await extended.client.post("/api/change", json={}, headers={"X-CSRF-Token": token})
    assert accepted.status == 200 and await accepted.json() == {"changed": True}


async def test_added_routes_know_the_employee_and_require_login(extended: Console) -> None:
    assert await (await extended.client.get("/api/whoami")).json() == {"name": "Sanne"}
    extended.client.session.cookie_jar.clear()
    response = await extended.client.get("/api/whoami")
    assert response.status == 401
    assert await response.json() == {"error": "U bent niet (meer) ingelogd. Log opnieuw in."}


async def test_a_websocket_needs_the_token_and_the_consoles_origin(extended: Console) -> None:
    token = await extended.page_token()
    origin = {"Origin": extended.origin}
    for path, headers in (
        ("/ws", origin),
        ("/ws?csrf_token=geraden", origin),
        (f"/ws?csrf_token={token}", {"Origin": "https://kwaadaardig.example"}),
        (f"/ws?csrf_token={token}", {}),
    ):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await extended.client.ws_connect(path, headers=headers)
        assert refused.value.status == 403, path
    socket = await extended.client.ws_connect(f"/ws?csrf_token={token}", headers=origin)
    assert await socket.receive_str() == "hallo Sanne"
    await socket.close()
