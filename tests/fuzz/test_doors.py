"""Every public door of the running assistant, fed the kept corpus and Hypothesis' inputs.

Doors: the REST channel, the web chat WebSocket, the demo site, and the action server (not public,
but a neighbour on its network must not be able to break it either). For every input: no 5xx, no
traceback in any log, a clear error where the input is refused, an answer where it is accepted;
and afterwards a normal question is still answered. Hypothesis runs derandomized (seeded by the
test's name), so a run is reproducible; each example is a real request over loopback.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from typing import Any

import aiohttp
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.stack import Stack
from tests.fuzz.conftest import corpus, entry_bytes, entry_text, ids
from tests.residents import resident_headers

TEXTS = corpus("texts.json")
BODIES = corpus("bodies.json")
FRAMES = corpus("frames.json")
DUTCH_WORDS = {"u", "uw", "wij", "dit", "deze", "kies", "het", "een", "de"}
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

pytestmark = pytest.mark.usefixtures("no_tracebacks")


def is_dutch(message: str) -> bool:
    words = set(message.lower().replace(".", " ").replace(",", " ").split())
    return bool(words & DUTCH_WORDS) and "Traceback" not in message


def post_rest(stack: Stack, body: bytes) -> requests.Response:
    return requests.post(
        stack.rest_webhook_url,
        data=body,
        headers={"Content-Type": "application/json", **resident_headers()},
        timeout=60,
    )


def check_rest_answer(response: requests.Response) -> None:
    """An accepted message gets at least one reply; a refused one a 4xx with a Dutch reason."""
    assert response.status_code < 500, response.text[:500]
    if response.status_code == 200:
        replies = response.json()
        assert isinstance(replies, list) and replies, "an accepted message got no answer"
        assert all(reply.get("text") or reply.get("buttons") for reply in replies), replies
    else:
        assert response.status_code in (400, 413, 429), response.status_code
        if response.status_code != 413:
            assert is_dutch(response.json()["message"]), response.text


def rest_body(text: str) -> bytes:
    body = {
        "sender": f"fuzz-{uuid.uuid4().hex}",
        "message": text,
        "metadata": {"municipality": "utrecht"},
    }
    return json.dumps(body).encode()


# --- the REST door -------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", TEXTS, ids=ids(TEXTS))
def test_rest_answers_or_refuses_every_corpus_text(assistant_stack: Stack, entry: dict) -> None:
    check_rest_answer(post_rest(assistant_stack, rest_body(entry_text(entry))))


@pytest.mark.parametrize("entry", BODIES, ids=ids(BODIES))
def test_rest_answers_or_refuses_every_corpus_body(assistant_stack: Stack, entry: dict) -> None:
    check_rest_answer(post_rest(assistant_stack, entry_bytes(entry)))


resident_questions = st.sampled_from(
    ["wat kost een paspoort", "ik wil een afspraak", "wanneer komt het grofvuil", "hallo"]
)
any_text = st.text(st.characters(exclude_categories=()), max_size=1100)
mixed_text = st.builds(lambda a, q, b: a + q + b, any_text, resident_questions, any_text)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)


@settings(FUZZ, max_examples=120)
@given(text=any_text | mixed_text)
def test_rest_answers_or_refuses_any_text(assistant_stack: Stack, text: str) -> None:
    check_rest_answer(post_rest(assistant_stack, rest_body(text)))


@settings(FUZZ, max_examples=120)
@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "sender": json_values,
            "message": json_values | any_text,
            "metadata": json_values,
        },
    )
    | json_values
)
def test_rest_refuses_any_malformed_body_cleanly(assistant_stack: Stack, body: Any) -> None:
    check_rest_answer(post_rest(assistant_stack, json.dumps(body).encode()))


# --- the web chat --------------------------------------------------------------------------------


async def _exchange(stack: Stack, frames: list[bytes | str]) -> list[dict[str, Any]]:
    """Open a chat as a resident, say hello, send the frames; return what came back for each."""
    ws_url = stack.rasa_url.replace("http://", "ws://") + "/webhooks/webchat/ws"
    headers = {"Origin": stack.demo_url.rstrip("/"), **resident_headers()}
    answers = []
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http,
        http.ws_connect(ws_url, headers=headers, max_msg_size=0) as ws,
    ):
        await ws.send_json({"type": "hello", "session_id": secrets.token_urlsafe(16)})
        assert (await ws.receive_json(timeout=60))["type"] == "history"
        assert (await ws.receive_json(timeout=60))["type"] == "handoff"
        for frame in frames:
            await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
            answers.append(await _answer(ws))
    return answers


async def _answer(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The server's reaction to one frame: an error, a rating, a history, or a complete answer."""
    first = await ws.receive_json(timeout=60)
    if first["type"] == "history":  # a hello again: the handoff state follows the history
        assert (await ws.receive_json(timeout=60))["type"] == "handoff"
    if first["type"] != "typing":
        return first
    bots = []
    while True:
        frame = await ws.receive_json(timeout=60)
        if frame == {"type": "typing", "active": False}:
            return {"type": "answer", "bots": bots}
        assert frame["type"] in ("bot", "error"), frame
        bots.append(frame)


def check_chat_reaction(reaction: dict[str, Any]) -> None:
    if reaction["type"] == "error":
        assert is_dutch(reaction["message"]), reaction
    elif reaction["type"] == "answer":
        assert reaction["bots"], "an accepted message got no answer"
        assert all(b["type"] == "bot" for b in reaction["bots"]), reaction
    else:
        assert reaction["type"] in ("history", "rated"), reaction


@pytest.mark.parametrize("entry", FRAMES, ids=ids(FRAMES))
async def test_web_chat_handles_every_corpus_frame(assistant_stack: Stack, entry) -> None:
    frame = entry_bytes(entry) if "base64" in entry else entry_text(entry)
    (reaction,) = await _exchange(assistant_stack, [frame])
    check_chat_reaction(reaction)


async def test_web_chat_answers_or_refuses_every_corpus_text(assistant_stack: Stack) -> None:
    frames = [json.dumps({"type": "message", "text": entry_text(e)}) for e in TEXTS]
    # Batches of conversations stay under the per-conversation message limit.
    batches = [frames[i : i + 10] for i in range(0, len(frames), 10)]
    for reactions in await asyncio.gather(*(_exchange(assistant_stack, b) for b in batches)):
        for reaction in reactions:
            check_chat_reaction(reaction)


chat_frames = st.one_of(
    st.builds(lambda t: json.dumps({"type": "message", "text": t}), any_text | mixed_text),
    st.builds(
        lambda kind, fields: json.dumps({"type": kind, **fields}),
        st.sampled_from(["hello", "message", "rate_answer", "rate_conversation", "x"]),
        st.dictionaries(
            st.sampled_from(["session_id", "text", "payload", "message_id", "helpful", "score"]),
            json_values,
            max_size=3,
        ),
    ),
    json_values.map(json.dumps),
    any_text,
    st.binary(max_size=64),
)


@settings(FUZZ, max_examples=60)
@given(frames=st.lists(chat_frames, min_size=1, max_size=4))
def test_web_chat_handles_any_frames(assistant_stack: Stack, frames: list[str | bytes]) -> None:
    for reaction in asyncio.run(_exchange(assistant_stack, frames)):
        check_chat_reaction(reaction)


# --- the demo site and the action server ---------------------------------------------------------

path_pieces = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@settings(FUZZ, max_examples=80)
@given(path=path_pieces, query=st.dictionaries(st.sampled_from(["rasa", "x", ""]), path_pieces))
def test_demo_site_answers_any_path_and_query_without_failing(
    assistant_stack: Stack, path: str, query: dict[str, str]
) -> None:
    url = assistant_stack.demo_url + requests.utils.quote(path.lstrip("/"), safe="")
    response = requests.get(url, params=query, timeout=30)
    assert response.status_code < 500, (path, query, response.status_code)
    assert "Traceback" not in response.text


@pytest.mark.timeout(120)
async def test_demo_site_refuses_a_megabyte_while_another_visitor_is_served(
    assistant_stack: Stack,
) -> None:
    async def fetch(method: str, url: str, **kwargs: Any) -> int:
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http,
                http.request(method, url, **kwargs) as response,
            ):
                return response.status
        except (aiohttp.ClientError, ConnectionError):
            return 0  # connection cut while the body was sent: refused

    statuses = await asyncio.gather(
        fetch("POST", assistant_stack.demo_url, data=b"a." * 500_000 + b"@"),
        fetch("GET", assistant_stack.demo_url + "?rasa=" + "a" * 1_000_000),
        fetch("GET", assistant_stack.demo_url),
    )
    assert statuses[0] in (0, 405, 413), statuses
    assert statuses[1] in (0, 400, 414, 431), statuses
    assert statuses[2] == 200


@pytest.mark.parametrize("entry", BODIES, ids=ids(BODIES))
def test_action_server_refuses_every_malformed_corpus_body(assistant_stack: Stack, entry) -> None:
    response = requests.post(
        f"{assistant_stack.action_url}/webhook",
        data=entry_bytes(entry),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert "request_body" not in response.text


# --- afterwards ----------------------------------------------------------------------------------


def test_after_all_that_residents_are_still_answered(assistant_stack: Stack) -> None:
    response = post_rest(assistant_stack, rest_body("wat kost een paspoort"))
    assert response.status_code == 200
    assert "€" in " ".join(reply.get("text", "") for reply in response.json())
    (reaction,) = asyncio.run(
        _exchange(
            assistant_stack, [json.dumps({"type": "message", "text": "wat kost een rijbewijs"})]
        )
    )
    assert "€" in " ".join(bot["text"] for bot in reaction["bots"])
