"""The WhatsApp Cloud API stand-in, spoken to with plain aiohttp as Meta's Graph API would be.

Bodies and limits as in Meta's send-messages and interactive-message pages; errors in Graph's
shape with the codes clients act on (190, 100, 131009, 130429, ...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assistant.sandbox import whatsapp
from tests.sandbox.serving import serving, sqlite_url

TOKEN = "graph-sleutel-van-de-test"
PHONE_NUMBER_ID = "106540352242922"
RESIDENT = "31612345678"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@asynccontextmanager
async def graph_at(database_url: str) -> AsyncIterator[str]:
    """The stand-in under /whatsapp; yields "http://127.0.0.1:<port>/whatsapp/"."""
    async with serving(whatsapp.create_app(database_url, tokens=[TOKEN]), "/whatsapp") as url:
        yield url


@pytest.fixture
async def graph(tmp_path: Path) -> AsyncIterator[str]:
    async with graph_at(sqlite_url(tmp_path)) as url:
        yield url


def text(body: str = "Goedemiddag, waarmee kan ik u helpen?") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": RESIDENT,
        "type": "text",
        "text": {"body": body, "preview_url": False},
    }


def buttons(*titles: str, body: str = "Wilt u een afspraak maken?") -> dict[str, Any]:
    replies = [
        {"type": "reply", "reply": {"id": f"knop-{i}", "title": title}}
        for i, title in enumerate(titles)
    ]
    return {
        "messaging_product": "whatsapp",
        "to": RESIDENT,
        "type": "interactive",
        "interactive": {"type": "button", "body": {"text": body}, "action": {"buttons": replies}},
    }


def rows_list(*counts: int, title: str = "Paspoort", label: str = "Kies") -> dict[str, Any]:
    """A list message with one section per count, each with that many rows."""
    row = {"title": title, "description": "Aanvragen"}
    sections = [
        {"title": f"Deel {s}", "rows": [{"id": f"r{s}-{r}", **row} for r in range(n)]}
        for s, n in enumerate(counts)
    ]
    return {
        "messaging_product": "whatsapp",
        "to": RESIDENT,
        "type": "interactive",
        "interactive": {
            "type": "list",
            "header": {"type": "text", "text": "Producten"},
            "body": {"text": "Waarvoor wilt u een afspraak?"},
            "footer": {"text": "Gemeente Utrecht"},
            "action": {"button": label, "sections": sections},
        },
    }


async def post(
    http: aiohttp.ClientSession, graph: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any, aiohttp.ClientResponse]:
    url = f"{graph}v19.0/{PHONE_NUMBER_ID}/messages"
    async with http.post(url, json=body, headers=AUTH if headers is None else headers) as r:
        return r.status, await r.json(), r


async def sent(http: aiohttp.ClientSession, graph: str, to: str | None = None) -> list[Any]:
    params = {"to": to} if to else {}
    async with http.get(f"{graph}_sandbox/messages", params=params, headers=AUTH) as response:
        assert response.status == 200
        return (await response.json())["messages"]


async def inject(http: aiohttp.ClientSession, graph: str, **failure: Any) -> aiohttp.ClientResponse:
    async with http.post(f"{graph}_sandbox/failures", json=failure, headers=AUTH) as response:
        await response.read()
        return response


def assert_graph_error(body: Any, code: int) -> dict[str, Any]:
    error = body["error"]
    assert (error["type"], error["code"]) == ("OAuthException", code)
    assert error["message"].startswith(f"(#{code}) ") or code == 190
    assert isinstance(error["fbtrace_id"], str) and error["fbtrace_id"]
    assert "error_subcode" not in error  # not sent since v16.0
    return error


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer geraden"}, {"Authorization": f"Token {TOKEN}"}],
    ids=["missing", "wrong", "other-scheme"],
)
async def test_a_call_without_the_token_is_refused_with_code_190(
    http: aiohttp.ClientSession, graph: str, headers: dict[str, str]
) -> None:
    status, body, response = await post(http, graph, text(), headers)
    assert status == 401
    error = assert_graph_error(body, 190)
    assert error["message"] == "Invalid OAuth access token - Cannot parse access token"
    assert response.headers["WWW-Authenticate"].startswith('OAuth "Facebook Platform"')
    for url in (f"{graph}_sandbox/messages", f"{graph}_sandbox/failures"):
        async with http.request("GET" if "messages" in url else "POST", url, headers=headers) as r:
            assert r.status == 401
    assert await sent(http, graph) == []


async def test_a_text_is_sent_answered_like_graph_and_recorded(
    http: aiohttp.ClientSession, database_url: str
) -> None:
    async with graph_at(database_url) as graph:
        status, body, _ = await post(http, graph, text())
        recorded = await sent(http, graph, RESIDENT)
    assert status == 200
    wamid = body["messages"][0]["id"]
    assert body == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": RESIDENT, "wa_id": RESIDENT}],
        "messages": [{"id": wamid}],
    }
    assert wamid.startswith("wamid.") and len(wamid) > 20
    assert [message["id"] for message in recorded] == [wamid]
    assert recorded[0]["payload"] == text()
    assert (recorded[0]["phone_number_id"], recorded[0]["to"]) == (PHONE_NUMBER_ID, RESIDENT)
    assert datetime.fromisoformat(recorded[0]["sent_at"]).tzinfo is not None


async def test_buttons_and_a_list_at_their_limits_are_sent(
    http: aiohttp.ClientSession, graph: str
) -> None:
    three = buttons("Ja", "Nee", "x" * 20, body="b" * 1024)
    ten_rows = rows_list(4, 6, title="t" * 24, label="l" * 20)
    ten_rows["interactive"]["body"]["text"] = "b" * 4096
    for message in (three, ten_rows, text("x" * 4096)):
        status, body, _ = await post(http, graph, message)
        assert status == 200, body
    assert [m["payload"]["type"] for m in await sent(http, graph)] == ["interactive"] * 2 + ["text"]


async def test_a_message_without_type_is_a_text_as_graph_defaults(
    http: aiohttp.ClientSession, graph: str
) -> None:
    message = text()
    del message["type"]
    status, _, _ = await post(http, graph, {**message, "recipient_type": "individual"})
    assert status == 200


def _with(message: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`message` with the value at a dotted path replaced (or a key removed when None)."""
    *parents, last = path.split(".")
    node: Any = message
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return message


SECTION = "interactive.action.sections"
BUTTONS_COUNT = "Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3"
ROW_COUNT = "Total row count exceed max allowed count: 10"
REFUSED = [
    # Reply buttons: 1..3, titles 1..20, ids 1..256, both unique, a body of 1..1024.
    (buttons("Ja", "Nee", "Misschien", "Later"), 131009, BUTTONS_COUNT),
    (buttons(), 131009, BUTTONS_COUNT),
    (buttons("Ja", "y" * 21), 131009, "Button title length invalid. Min length: 1, Max length: 20"),
    (buttons("Ja", "Ja"), 131009, "Button ids and titles must be unique."),
    (buttons("Ja", body="b" * 1025), 131009, "Body text length invalid. Min length: 1"),
    (_with(buttons("Ja"), "interactive.action.buttons.0.type", "url"), 100, "one of {REPLY}"),
    (_with(buttons("Ja"), "interactive.action.buttons.0.reply.id", "i" * 257), 131009, "Button id"),
    # Lists: 1..10 rows over all sections, titles 1..24, descriptions up to 72, ids up to 200.
    (rows_list(5, 6), 131009, ROW_COUNT),
    (rows_list(11), 131009, ROW_COUNT),
    (rows_list(0), 131009, "Invalid rows count"),
    (rows_list(2, title="t" * 25), 131009, "Row title is too long. Max length is 24"),
    (rows_list(2, label="l" * 21), 131009, "Button text length invalid"),
    (_with(rows_list(1), f"{SECTION}.0.rows.0.description", "d" * 73), 131009, "Row description"),
    (_with(rows_list(1), f"{SECTION}.0.rows.0.id", "i" * 201), 131009, "Row id length invalid"),
    (
        _with(rows_list(1, 1), f"{SECTION}.1.title", None),
        100,
        "['sections'][1]['title'] is required",
    ),
    (_with(rows_list(1), "interactive.header.text", "h" * 61), 131009, "Header text length"),
    (_with(rows_list(1), "interactive.footer.text", "f" * 61), 131009, "Footer text length"),
    (
        _with(rows_list(1), "interactive.type", "carousel"),
        100,
        "interactive['type'] must be one of",
    ),
    # The envelope and text messages.
    (_with(text(), "type", "sms"), 100, "Param type must be one of {AUDIO, CONTACTS, DOCUMENT"),
    (_with(text(), "type", "image"), 100, "(#100) Invalid parameter"),
    (_with(text(), "messaging_product", "sms"), 100, "messaging_product must be one of {WHATSAPP}"),
    (_with(text(), "messaging_product", None), 100, "parameter messaging_product is required."),
    (_with(text(), "recipient_type", "group"), 100, "recipient_type must be one of {INDIVIDUAL}"),
    (_with(text(), "to", None), 100, "The parameter to is required."),
    (_with(text(), "to", "+31 6 1234 5678"), 131009, "Invalid 'to' parameter"),
    (text("x" * 4097), 100, "Param text['body'] must be at most 4096 characters long."),
    (text(""), 100, "The parameter text['body'] is required."),
    (_with(text(), "text.preview_url", "ja"), 100, "Param text['preview_url'] must be a boolean."),
    ([text()], 100, "Param body must be a JSON object."),
]


@pytest.mark.parametrize(("message", "code", "reason"), REFUSED)
async def test_what_graph_refuses_is_a_400_with_its_code_and_reason_and_nothing_is_sent(
    http: aiohttp.ClientSession, graph: str, message: Any, code: int, reason: str
) -> None:
    status, body, _ = await post(http, graph, message)
    assert status == 400
    error = assert_graph_error(body, code)
    if code == 131009:
        assert error["message"] == "(#131009) Parameter value is not valid"
        assert error["error_data"]["messaging_product"] == "whatsapp"
        assert reason in error["error_data"]["details"]
    else:
        assert reason in error["message"] + error.get("error_data", {}).get("details", "")
    assert await sent(http, graph) == []


async def test_a_body_that_is_not_json_is_refused_with_code_100(
    http: aiohttp.ClientSession, graph: str
) -> None:
    url = f"{graph}v19.0/{PHONE_NUMBER_ID}/messages"
    async with http.post(url, data="to=31612345678", headers=AUTH) as response:
        assert response.status == 400
        assert_graph_error(await response.json(), 100)


async def test_marking_a_message_read_succeeds_and_sends_nothing(
    http: aiohttp.ClientSession, graph: str
) -> None:
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.HBgLMzE2"}
    assert (await post(http, graph, read))[:2] == (200, {"success": True})
    status, body, _ = await post(http, graph, {**read, "message_id": None})
    assert (status, body["error"]["code"]) == (400, 100)
    status, body, _ = await post(http, graph, {**read, "status": "delivered"})
    assert (status, body["error"]["code"]) == (400, 100)
    assert await sent(http, graph) == []


async def test_messages_are_listed_in_the_order_sent_and_by_recipient(
    http: aiohttp.ClientSession, graph: str
) -> None:
    other = "32470123456"
    ids = []
    for to in (RESIDENT, other, RESIDENT):
        ids.append((await post(http, graph, {**text(), "to": to}))[1]["messages"][0]["id"])
    assert [m["id"] for m in await sent(http, graph)] == ids
    assert [m["id"] for m in await sent(http, graph, RESIDENT)] == [ids[0], ids[2]]
    assert [m["id"] for m in await sent(http, graph, "31600000000")] == []


async def test_what_was_sent_is_kept_in_the_database_across_restarts(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with graph_at(sqlite_url(tmp_path)) as graph:
        wamid = (await post(http, graph, text()))[1]["messages"][0]["id"]
    async with graph_at(sqlite_url(tmp_path)) as graph:
        assert [m["id"] for m in await sent(http, graph)] == [wamid]


async def test_injected_rate_limits_fail_the_next_calls_with_retry_after_then_all_is_well(
    http: aiohttp.ClientSession, graph: str
) -> None:
    assert (await inject(http, graph, status=429, times=2, retry_after=1)).status == 200
    for _ in range(2):
        status, body, response = await post(http, graph, text())
        assert (status, response.headers["Retry-After"]) == (429, "1")
        error = assert_graph_error(body, 130429)
        assert error["message"] == "(#130429) Rate limit hit"
    assert (await post(http, graph, text()))[0] == 200
    assert len(await sent(http, graph)) == 1  # a refused call delivered nothing


@pytest.mark.parametrize(("failure", "code"), [(500, 131000), (503, 2), (400, 131047)])
async def test_injected_failures_answer_in_graphs_shape(
    http: aiohttp.ClientSession, graph: str, failure: int, code: int
) -> None:
    await inject(http, graph, status=failure, times=1)
    status, body, response = await post(http, graph, buttons("Ja"))
    assert status == failure and "Retry-After" not in response.headers
    assert assert_graph_error(body, code)["error_data"]["details"]
    assert (await post(http, graph, buttons("Ja")))[0] == 200


@pytest.mark.parametrize(
    "failure",
    [{"status": 404}, {"status": 503, "times": 0}, {"status": 429, "retry_after": 30}, {}],
)
async def test_a_failure_that_cannot_be_injected_is_refused(
    http: aiohttp.ClientSession, graph: str, failure: dict[str, Any]
) -> None:
    assert (await inject(http, graph, **failure)).status == 400
    assert (await post(http, graph, text()))[0] == 200


def test_the_stand_in_needs_a_token() -> None:
    with pytest.raises(ValueError, match="access token"):
        whatsapp.create_app("sqlite://", tokens=[" "])
