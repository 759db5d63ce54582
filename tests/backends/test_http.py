"""`JsonClient`, the one request method under every client: retries, time budget and hooks.

Against small servers on loopback ports that answer as a backend in trouble would: slowly, with
a gateway's 503, with a plain 500, or by dropping the connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from assistant.backends.errors import BackendRejected, BackendUnavailable
from assistant.backends.http import DEFAULT_TIMEOUT_SECONDS, FailedAttempt, JsonClient
from tests.sandbox.serving import closed_port_url, serving

Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Counting(JsonClient):
    """Numbers every attempt in a header, to see which attempt the server answered."""

    system = "test"

    def __init__(self, base_url: str, **options: Any) -> None:
        super().__init__(base_url, **options)
        self.attempts: list[str] = []

    async def request_headers(self, method: str) -> Mapping[str, str]:
        self.attempts.append(method)
        return {"X-Attempt": str(len(self.attempts))}


@asynccontextmanager
async def answering(*answers: Answer) -> AsyncIterator[tuple[str, list[str]]]:
    """A server that answers its n-th request with `answers[n]` (the last one after that);
    yields its URL and the `X-Attempt` header of every request it received."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("X-Attempt", ""))
        return await answers[min(len(seen), len(answers)) - 1](request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    async with serving(app) as url:
        yield url, seen


def status(code: int, delay: float = 0.0, headers: dict[str, str] | None = None) -> Answer:
    """An answer with status `code` after `delay` seconds (60: later than any client waits)."""

    async def answer(_: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        return web.json_response({"status": code}, status=code, headers=headers)

    return answer


async def drop_connection(request: web.Request) -> web.Response:
    """Closes the connection instead of answering, as a crashing backend or proxy would."""
    assert request.transport is not None
    request.transport.close()
    return web.Response()  # never sent: the client sees the connection go away


@pytest.mark.parametrize("gateway", [502, 503, 504])
async def test_a_read_a_gateway_says_is_briefly_away_is_tried_once_more(gateway: int) -> None:
    async with answering(status(gateway), status(200)) as (url, seen), Counting(url) as client:
        assert await client.request("GET", "zaken") == {"status": 200}
    assert seen == ["1", "2"]  # each attempt asked for its own headers (a fresh token)


async def test_a_read_whose_connection_drops_is_tried_once_more() -> None:
    async with answering(drop_connection, status(200)) as (url, seen), Counting(url) as client:
        assert await client.request("GET", "zaken") == {"status": 200}
    assert client.attempts == ["GET", "GET"] and seen[-1] == "2"


async def test_a_read_that_fails_twice_is_unavailable_after_two_attempts() -> None:
    async with answering(status(503)) as (url, seen), Counting(url) as client:
        with pytest.raises(BackendUnavailable, match="answered 503"):
            await client.request("GET", "zaken")
    assert seen == ["1", "2"]


@pytest.mark.parametrize(("method", "code"), [("GET", 500), ("POST", 503), ("PATCH", 502)])
async def test_a_plain_500_and_a_failed_write_are_not_repeated(method: str, code: int) -> None:
    async with answering(status(code), status(200)) as (url, seen), Counting(url) as client:
        with pytest.raises(BackendUnavailable, match=f"answered {code}"):
            await client.request(method, "zaken", json={})
    assert seen == ["1"]


async def test_a_write_whose_connection_drops_is_not_repeated() -> None:
    async with answering(drop_connection, status(201)) as (url, seen), Counting(url) as client:
        with pytest.raises(BackendUnavailable):
            await client.request("POST", "zaken", json={})
    assert seen == ["1"]


async def test_a_read_that_times_out_is_not_repeated_so_a_resident_waits_one_timeout(
    silent_url: str,
) -> None:
    async with Counting(silent_url, timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match="TimeoutError"):
            await client.request("GET", "zaken")
        waited = time.monotonic() - started
    assert client.attempts == ["GET"]
    assert 0.5 <= waited < 0.8  # two timeouts would be 1.0


async def test_a_retry_gets_only_what_is_left_of_the_one_timeout() -> None:
    async with (
        answering(status(503, delay=0.3), status(200, delay=60)) as (url, seen),
        Counting(url, timeout=0.6) as client,
    ):
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match="TimeoutError"):
            await client.request("GET", "zaken")
        waited = time.monotonic() - started
    assert seen == ["1", "2"]
    assert 0.6 <= waited < 0.85  # a full second timeout would end at 0.9


async def test_a_closed_port_is_unavailable_without_waiting_for_the_timeout() -> None:
    started = time.monotonic()
    async with Counting(closed_port_url()) as client:
        with pytest.raises(BackendUnavailable, match="ClientConnectorError"):
            await client.request("GET", "zaken")
    assert client.attempts == ["GET", "GET"]
    assert time.monotonic() - started < DEFAULT_TIMEOUT_SECONDS / 2


def test_the_default_timeout_is_two_and_a_half_seconds() -> None:
    assert DEFAULT_TIMEOUT_SECONDS == 2.5


async def test_the_vendors_explanation_of_a_5xx_is_in_the_message() -> None:
    class Explaining(JsonClient):
        def error_detail(self, status: int, body: Any, headers: Mapping[str, str]) -> str | None:
            return body.get("detail")

    async def explained(_: web.Request) -> web.Response:
        return web.json_response({"detail": "database locked"}, status=500)

    async with answering(explained) as (url, _), Explaining(url) as client:
        with pytest.raises(BackendUnavailable, match=r"answered 500: database locked$"):
            await client.request("GET", "zaken")


async def test_a_given_session_is_used_and_left_open_and_an_own_session_is_closed() -> None:
    async with answering(status(200)) as (url, seen), aiohttp.ClientSession() as session:
        async with Counting(url, session=session) as given:
            await given.request("GET", "a")
        own = Counting(url)
        async with own:
            await own.request("GET", "b")
            own_session = own._session
        assert not session.closed
        assert own_session is not None and own_session.closed
    assert seen == ["1", "1"]


async def test_a_rate_limited_read_is_rejected_and_not_repeated_by_default() -> None:
    async with answering(status(429), status(200)) as (url, seen), Counting(url) as client:
        with pytest.raises(BackendRejected) as rejected:
            await client.request("GET", "zaken")
    assert (rejected.value.status, seen) == (429, ["1"])


class Persistent(Counting):
    """Repeats any request, writes too, up to three attempts, as a vendor may allow."""

    def __init__(self, base_url: str, delay: float = 0.0, **options: Any) -> None:
        super().__init__(base_url, **options)
        self.delay = delay
        self.failed: list[FailedAttempt] = []

    def retry_delay(self, failed: FailedAttempt) -> float | None:
        self.failed.append(failed)
        return self.delay if failed.number < 3 else None


async def test_a_client_may_repeat_a_write_after_a_rate_limit_and_a_5xx() -> None:
    limited = status(429, headers={"Retry-After": "0"})
    async with (
        answering(limited, status(500), status(201)) as (url, seen),
        Persistent(url) as client,
    ):
        assert await client.request("POST", "berichten", json={}) == {"status": 201}
    assert seen == ["1", "2", "3"]
    assert [(f.method, f.number, f.status) for f in client.failed] == [
        ("POST", 1, 429),
        ("POST", 2, 500),
    ]
    assert client.failed[0].headers["retry-after"] == "0"
    assert isinstance(client.failed[0].error, BackendRejected)
    assert isinstance(client.failed[1].error, BackendUnavailable)


async def test_a_repeated_request_fails_with_the_last_attempts_error() -> None:
    async with answering(drop_connection, status(503)) as (url, seen), Persistent(url) as client:
        with pytest.raises(BackendUnavailable, match="answered 503"):
            await client.request("POST", "berichten", json={})
    assert seen == ["1", "2", "3"]
    assert [f.status for f in client.failed] == [None, 503, 503]


async def test_no_wait_is_started_that_would_end_after_the_timeout() -> None:
    async with (
        answering(status(503), status(200)) as (url, seen),
        Persistent(url, delay=5, timeout=0.5) as client,
    ):
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match="answered 503"):
            await client.request("GET", "zaken")
    assert seen == ["1"] and time.monotonic() - started < 0.3
