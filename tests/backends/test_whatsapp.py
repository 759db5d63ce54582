"""WhatsAppClient over the wire: against the Graph API stand-in under /whatsapp (its failure
injection for the retries), a closed port and a server that drops the first connection.

No test waits for a real backoff: the clients get `backoff_seconds=0` and the stand-in asks
Retry-After 0 unless a test sets it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from assistant.backends.errors import (
    BackendError,
    BackendRejected,
    BackendUnavailable,
    NotConfigured,
)
from assistant.backends.whatsapp import MAX_WAIT_SECONDS, WhatsAppClient, backoff, retry_after
from assistant.sandbox import whatsapp
from tests.sandbox.serving import closed_port_url, serving, sqlite_url

TOKEN = "EAAG-geheim-graph-token-van-de-test"
PHONE_NUMBER_ID = "106540352242922"
RESIDENT = "31612345678"
TEXT = {
    "type": "text",
    "text": {"body": "Uw afspraak is op 3 maart om 10:00.", "preview_url": False},
}
BUTTONS = {
    "type": "interactive",
    "interactive": {
        "type": "button",
        "body": {"text": "Klopt dit adres?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "ja", "title": "Ja"}},
                {"type": "reply", "reply": {"id": "nee", "title": "Nee"}},
            ]
        },
    },
}
LIST = {
    "type": "interactive",
    "interactive": {
        "type": "list",
        "body": {"text": "Waarvoor wilt u een afspraak maken?"},
        "action": {
            "button": "Kies",
            "sections": [
                {
                    "title": "Reisdocumenten",
                    "rows": [
                        {"id": "paspoort", "title": "Paspoort"},
                        {"id": "id-kaart", "title": "Identiteitskaart", "description": "NL"},
                    ],
                }
            ],
        },
    },
}


def four_buttons() -> dict[str, Any]:
    replies = [{"type": "reply", "reply": {"id": f"k{i}", "title": f"Keuze {i}"}} for i in range(4)]
    return {**BUTTONS, "interactive": {**BUTTONS["interactive"], "action": {"buttons": replies}}}


@pytest.fixture
async def graph(tmp_path: Path) -> AsyncIterator[str]:
    """The Graph API stand-in's root, "http://127.0.0.1:<port>/whatsapp/"."""
    app = whatsapp.create_app(sqlite_url(tmp_path), tokens=[TOKEN])
    async with serving(app, "/whatsapp") as url:
        yield url


def client(graph: str, **options: Any) -> WhatsAppClient:
    options.setdefault("backoff_seconds", 0)
    return WhatsAppClient(f"{graph}v19.0/", options.pop("token", TOKEN), **options)


async def sent(graph: str, to: str = RESIDENT) -> list[Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{graph}_sandbox/messages",
            params={"to": to},
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as response,
    ):
        return (await response.json())["messages"]


async def inject(graph: str, status: int, times: int, retry_after: int = 0) -> None:
    failure = {"status": status, "times": times, "retry_after": retry_after}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{graph}_sandbox/failures",
            json=failure,
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as response,
    ):
        assert response.status == 200


def assert_private(error: BackendError) -> None:
    """Neither the token nor the resident's number in what a log would show of the error."""
    for shown in (str(error), repr(error), repr(error.args)):
        assert TOKEN not in shown and RESIDENT not in shown


async def test_a_text_buttons_and_a_list_are_sent_and_their_wamids_returned(graph: str) -> None:
    async with client(graph) as whatsapp_client:
        wamids = [
            await whatsapp_client.send(PHONE_NUMBER_ID, RESIDENT, message)
            for message in (TEXT, BUTTONS, LIST)
        ]
    recorded = await sent(graph)
    assert [message["id"] for message in recorded] == wamids
    assert all(wamid.startswith("wamid.") for wamid in wamids)
    assert recorded[0]["payload"] == {
        **TEXT,
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": RESIDENT,
    }
    assert [m["payload"]["interactive"] for m in recorded[1:]] == [
        BUTTONS["interactive"],
        LIST["interactive"],
    ]
    assert {m["phone_number_id"] for m in recorded} == {PHONE_NUMBER_ID}


async def test_the_message_cannot_overrule_the_envelope(graph: str) -> None:
    async with client(graph) as whatsapp_client:
        await whatsapp_client.send(PHONE_NUMBER_ID, RESIDENT, {**TEXT, "to": "31699999999"})
    assert len(await sent(graph)) == 1 and await sent(graph, "31699999999") == []


async def test_a_rate_limit_is_waited_out_and_the_message_sent_once(graph: str) -> None:
    await inject(graph, 429, times=1)
    async with client(graph) as whatsapp_client:
        wamid = await whatsapp_client.send(PHONE_NUMBER_ID, RESIDENT, TEXT)
    assert [message["id"] for message in await sent(graph)] == [wamid]


@pytest.mark.parametrize("status", [500, 503])
async def test_a_5xx_is_tried_again_up_to_the_attempts(graph: str, status: int) -> None:
    await inject(graph, status, times=3)
    async with client(graph, max_attempts=4) as whatsapp_client:
        wamid = await whatsapp_client.send(PHONE_NUMBER_ID, RESIDENT, BUTTONS)
    assert [message["id"] for message in await sent(graph)] == [wamid]


async def test_three_503s_with_two_attempts_are_unavailable_after_exactly_two(graph: str) -> None:
    await inject(graph, 503, times=3)
    async with client(graph, max_attempts=2) as whatsapp_client:
        with pytest.raises(BackendUnavailable, match=r"answered 503: code 2$") as failed:
            await whatsapp_client.send(PHONE_NUMBER_ID, RESIDENT, TEXT)
        assert_private(failed.value)
    async with client(graph, max_attempts=1) as once:
        with pytest.raises(BackendUnavailable):  # the third 503 was still waiting
            await once.send(PHONE_NUMBER_ID, RESIDENT, TEXT)
        await once.send(PHONE_NUMBER_ID, RESIDENT, TEXT)
    assert len(await sent(graph)) == 1


async def test_a_rate_limit_that_outlasts_the_attempts_is_unavailable(graph: str) -> None:
    await inject(graph, 429, times=3)
    async with client(graph, max_attempts=3) as whatsapp_client:
        with pytest.raises(BackendUnavailable, match="answered 429 \\(code 130429\\)") as failed:
            await whatsapp_client.send(PHONE_NUMBER_ID, RESIDENT, TEXT)
    assert_private(failed.value)
    assert await sent(graph) == []


@pytest.mark.parametrize(
    ("message", "injected", "code"),
    [(four_buttons(), None, "131009"), (TEXT, 400, "131047"), ({"type": "sms"}, None, "100")],
)
async def test_a_refusal_is_rejected_at_once_with_graphs_code(
    graph: str, message: dict[str, Any], injected: int | None, code: str
) -> None:
    if injected:
        await inject(graph, injected, times=1)
    async with client(graph) as whatsapp_client:
        with pytest.raises(BackendRejected) as rejected:
            await whatsapp_client.send(PHONE_NUMBER_ID, RESIDENT, message)
    assert (rejected.value.status, rejected.value.code) == (400, code)
    assert_private(rejected.value)
    assert await sent(graph) == []


async def test_a_wrong_token_is_rejected_with_code_190_and_not_shown(graph: str) -> None:
    wrong = "EAAG-een-verlopen-token"
    async with client(graph, token=wrong) as whatsapp_client:
        with pytest.raises(BackendRejected) as rejected:
            await whatsapp_client.send(PHONE_NUMBER_ID, RESIDENT, TEXT)
    assert (rejected.value.status, rejected.value.code) == (401, "190")
    assert wrong not in str(rejected.value) and RESIDENT not in str(rejected.value)


async def test_marking_read_is_confirmed_and_fails_like_a_send(graph: str) -> None:
    async with client(graph, max_attempts=2) as whatsapp_client:
        await whatsapp_client.mark_read(PHONE_NUMBER_ID, "wamid.HBgLMzE2MTIzNDU2NzgV")
        await inject(graph, 503, times=2)
        with pytest.raises(BackendUnavailable):
            await whatsapp_client.mark_read(PHONE_NUMBER_ID, "wamid.HBgLMzE2MTIzNDU2NzgV")
        with pytest.raises(BackendRejected) as rejected:
            await whatsapp_client.mark_read(PHONE_NUMBER_ID, "")
    assert rejected.value.code == "131009"
    assert await sent(graph) == []


async def test_a_dropped_connection_is_tried_again() -> None:
    seen: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.headers["Authorization"])
        if len(seen) == 1:
            assert request.transport is not None
            request.transport.close()  # the client sees the connection go away
        return web.json_response({"messaging_product": "whatsapp", "messages": [{"id": "wamid.X"}]})

    app = web.Application()
    app.router.add_post("/v19.0/{id}/messages", answer)
    async with serving(app) as url, client(url) as whatsapp_client:
        assert await whatsapp_client.send(PHONE_NUMBER_ID, RESIDENT, TEXT) == "wamid.X"
    assert seen == [f"Bearer {TOKEN}"] * 2


async def test_a_graph_that_cannot_be_reached_is_unavailable_after_every_attempt() -> None:
    async with WhatsAppClient(closed_port_url(), TOKEN, backoff_seconds=0) as whatsapp_client:
        with pytest.raises(BackendUnavailable, match="ClientConnectorError") as failed:
            await whatsapp_client.send(PHONE_NUMBER_ID, RESIDENT, TEXT)
    assert_private(failed.value)


async def test_a_wait_that_would_outlast_the_timeout_is_not_started(graph: str) -> None:
    await inject(graph, 503, times=1)
    started = time.monotonic()
    async with client(graph, backoff_seconds=3, timeout=1) as whatsapp_client:
        with pytest.raises(BackendUnavailable, match="answered 503"):
            await whatsapp_client.send(PHONE_NUMBER_ID, RESIDENT, TEXT)
    assert time.monotonic() - started < 0.5


async def test_an_answer_without_a_wamid_is_no_confirmation() -> None:
    async def answer(_: web.Request) -> web.Response:
        return web.json_response({"messaging_product": "whatsapp", "messages": []})

    app = web.Application()
    app.router.add_post("/v19.0/{id}/messages", answer)
    async with serving(app) as url, client(url) as whatsapp_client:
        with pytest.raises(BackendUnavailable, match="without its id"):
            await whatsapp_client.send(PHONE_NUMBER_ID, RESIDENT, TEXT)
        with pytest.raises(BackendUnavailable, match="not confirmed"):
            await whatsapp_client.mark_read(PHONE_NUMBER_ID, "wamid.X")


def test_the_waits_double_honour_retry_after_and_are_capped() -> None:
    assert [backoff(n, 0.5, {}) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, MAX_WAIT_SECONDS]
    assert backoff(1, 0, {"Retry-After": "1"}) == 1.0
    assert backoff(2, 0.5, {"Retry-After": "0"}) == 1.0
    assert backoff(1, 0.5, {"Retry-After": "3600"}) == MAX_WAIT_SECONDS
    assert MAX_WAIT_SECONDS <= 5


def test_retry_after_is_read_as_seconds_or_as_a_date() -> None:
    now = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=2), usegmt=True)
    assert retry_after({"Retry-After": later}, now) == 2.0
    assert retry_after({"Retry-After": format_datetime(now - timedelta(days=1))}, now) == 0.0
    assert retry_after({"Retry-After": "0.5"}) == 0.5
    assert retry_after({"Retry-After": "morgen"}) is None
    assert retry_after({}) is None


def test_a_client_without_a_token_or_attempts_is_refused() -> None:
    with pytest.raises(NotConfigured):
        WhatsAppClient("https://graph.facebook.com/v19.0/", " ")
    with pytest.raises(ValueError):
        WhatsAppClient("https://graph.facebook.com/v19.0/", TOKEN, max_attempts=0)
    assert TOKEN not in repr(WhatsAppClient("https://graph.facebook.com/v19.0/", TOKEN))
