"""Security headers on every response, Dutch error pages, the request size limit, health."""

from __future__ import annotations

import pytest

from assistant.console.accounts import Account
from tests.assistant.console.helpers import Console


def assert_secure_headers(headers: object, *, cached: bool = False) -> None:
    policy = headers["Content-Security-Policy"]  # type: ignore[index]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"  # type: ignore[index]
    assert headers["X-Frame-Options"] == "DENY"  # type: ignore[index]
    assert headers["Referrer-Policy"] == "same-origin"  # type: ignore[index]
    assert headers["Cache-Control"] == ("no-cache" if cached else "no-store")  # type: ignore[index]


@pytest.mark.parametrize("path", ["/login", "/health", "/bestaat-niet", "/static/console.css"])
async def test_every_response_carries_the_security_headers(console: Console, path: str) -> None:
    response = await console.client.get(path, allow_redirects=False)
    assert_secure_headers(response.headers, cached=path.startswith("/static/"))


async def test_logged_in_pages_are_never_stored(console: Console, sanne: Account) -> None:
    await console.log_in()
    response = await console.client.get("/")
    assert response.status == 200
    assert_secure_headers(response.headers)


async def test_an_unknown_page_says_so_in_dutch(console: Console, sanne: Account) -> None:
    await console.log_in()
    response = await console.client.get("/bestaat-niet")
    assert response.status == 404 and "Deze pagina bestaat niet." in await response.text()


async def test_a_wrong_method_is_answered_in_dutch(console: Console, sanne: Account) -> None:
    await console.log_in()
    token = await console.page_token()
    response = await console.client.put("/", headers={"X-CSRF-Token": token})
    assert response.status == 405 and response.headers["Allow"] == "GET,HEAD"
    assert "Deze pagina kunt u zo niet gebruiken." in await response.text()


async def test_an_oversized_form_is_refused_in_dutch(console: Console) -> None:
    token = await console.login_token()
    response = await console.client.post(
        "/login", data={"csrf_token": token, "username": "x" * 100_000, "password": "y"}
    )
    assert response.status == 413
    assert "Wat u verstuurde is te groot." in await response.text()


async def test_the_stylesheets_use_the_nl_design_system_tokens(console: Console) -> None:
    tokens = await (await console.client.get("/static/tokens.css")).text()
    styles = await (await console.client.get("/static/console.css")).text()
    assert "--utrecht-button-primary-action-background-color" in tokens
    assert "var(--utrecht-focus-outline-color)" in styles


async def test_health_answers_without_login(console: Console) -> None:
    response = await console.client.get("/health")
    assert response.status == 200 and await response.json() == {"status": "ok"}
