"""The web chat protocol (channels/webchat.py), spoken to the real running assistant.

Every test uses its own random session id, so conversations never mix. Waits are bounded by
timeouts on receiving a frame, never by sleeping.
"""

from __future__ import annotations

import json
import sqlite3

import aiohttp
import pytest

from assistant.feedback import FeedbackStore
from assistant.settings import load_settings
from tests.channels.chat import Chat, bot_text, new_session_id
from tests.residents import resident_headers

# --- HTTP: health, widget files, demo pages ------------------------------------------------------


async def test_health_and_widget_files(http: aiohttp.ClientSession, assistant_stack) -> None:
    base = f"{assistant_stack.rasa_url}/webhooks/webchat"
    async with http.get(f"{base}/") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}

    for name, content_type in [
        ("widget.js", "text/javascript"),
        ("widget.css", "text/css"),
        ("tokens.css", "text/css"),
    ]:
        async with http.get(f"{base}/{name}") as response:
            assert response.status == 200, name
            assert response.content_type == content_type
            assert response.charset == "utf-8"
            assert "max-age=" in response.headers["Cache-Control"]
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            etag = response.headers["ETag"]
            assert len(await response.read()) > 1000
        # A browser revalidating an unchanged file gets an empty 304.
        async with http.get(f"{base}/{name}", headers={"If-None-Match": etag}) as response:
            assert response.status == 304

    async with http.get(f"{base}/secrets.txt") as response:
        assert response.status == 404


async def test_demo_pages_embed_the_widget(http: aiohttp.ClientSession, assistant_stack) -> None:
    rasa = assistant_stack.rasa_url
    for path, municipality in [("", "utrecht"), ("zwolle/", "zwolle")]:
        async with http.get(assistant_stack.demo_url + path) as response:
            assert response.status == 200
            page = await response.text()
            policy = response.headers["Content-Security-Policy"]
        assert '<html lang="nl">' in page
        assert f'src="{rasa}/webhooks/webchat/widget.js"' in page
        assert f'data-municipality="{municipality}"' in page
        # Nothing but the demo site and the assistant's server may be used by the page.
        assert f"script-src 'self' {rasa};" in policy
        assert "default-src 'none'" in policy

    other = "https://assistent.example.nl"
    async with http.get(assistant_stack.demo_url, params={"rasa": other}) as response:
        assert f'src="{other}/webhooks/webchat/widget.js"' in await response.text()
    async with http.get(assistant_stack.demo_url, params={"rasa": "javascript:alert(1)"}) as r:
        assert r.status == 400
        body = await r.text()
        assert "klopt niet" in body
        assert "javascript:" not in body


# --- WebSocket -----------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {}])
async def test_other_websites_cannot_open_the_chat(
    http: aiohttp.ClientSession, ws_url: str, headers: dict[str, str]
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(ws_url, headers=headers)
    assert refused.value.status == 403


async def test_conversation_with_quick_reply_survives_a_reconnect(connect) -> None:
    session = new_session_id()
    chat = await connect()
    first = await chat.hello(session)
    assert first["messages"] == []
    assert first["session_id"] == session

    greeting = await chat.ask("hallo")
    with_buttons = [b for b in greeting if b["buttons"]]
    assert with_buttons, f"the greeting offers no quick replies: {greeting}"
    button = with_buttons[-1]["buttons"][0]
    assert button["title"] and button["payload"].startswith("/")

    answer = await chat.ask(payload=button["payload"])
    assert bot_text(answer).strip()
    await chat.ws.close()

    # A page reload: a new connection with the same session id shows the conversation so far.
    again = await connect()
    history = (await again.hello(session))["messages"]
    users = [m["text"] for m in history if m["role"] == "user"]
    assert users == ["hallo", button["title"]]  # the button's title, not its payload
    bots = [m for m in history if m["role"] == "bot"]
    assert [b["id"] for b in bots] == [b["id"] for b in greeting + answer]
    assert [b["text"] for b in bots] == [b["text"] for b in greeting + answer]
    assert all(b["rating"] is None for b in bots)


async def test_a_message_sent_again_with_its_id_is_answered_once(connect) -> None:
    session = new_session_id()
    chat = await connect()
    await chat.hello(session)
    first = await chat.send_once("wat kost een paspoort", "bericht-0001")
    assert [f for f in first if f["type"] == "bot"], first
    assert first[-1] == {"type": "ack", "id": "bericht-0001", "state": "done"}

    # The widget lost the connection before it saw the ack and sends the message again.
    again = await connect()
    await again.hello(session)
    repeat = await again.send_once("wat kost een paspoort", "bericht-0001")
    assert repeat == [{"type": "ack", "id": "bericht-0001", "state": "done"}]
    history = (await (await connect()).hello(session))["messages"]
    # The history says which message was answered: the widget sends only the others again.
    assert [m for m in history if m["role"] == "user"] == [
        {"role": "user", "text": "wat kost een paspoort", "id": "bericht-0001"}
    ]

    refused = await again.send_once("hallo", "kort")
    assert refused[-1]["type"] == "error" and refused[-1]["code"] == "bad_field"


async def test_municipality_from_the_embed_tag_reaches_the_assistant(connect) -> None:
    chat = await connect()
    history = await chat.hello(new_session_id(), municipality="zwolle")
    assert history["municipality"] == "zwolle"
    assert "Zwolle" in bot_text(await chat.ask("hallo"))

    # An unknown id falls back to the configured default municipality.
    other = await connect()
    history = await other.hello(new_session_id(), municipality="atlantis")
    assert history["municipality"] == load_settings().default_municipality


BAD_FRAMES = [
    ("{not json", "bad_json"),
    ("[1, 2, 3]", "bad_json"),
    (json.dumps({"type": "launch_rockets"}), "unknown_type"),
    (json.dumps({"text": "hallo"}), "unknown_type"),
    (json.dumps({"type": "message", "text": "x" * 1001}), "too_long"),
    (json.dumps({"type": "message", "text": "   "}), "empty"),
    (json.dumps({"type": "message", "text": 42}), "bad_field"),
    (json.dumps({"type": "message", "text": "a", "payload": "/greet"}), "bad_field"),
    (json.dumps({"type": "message", "payload": "/human_handoff"}), "unknown_choice"),
    (json.dumps({"type": "rate_answer", "message_id": "abc", "helpful": "ja"}), "bad_field"),
    (json.dumps({"type": "rate_answer", "message_id": "abc", "helpful": True}), "unknown_answer"),
    (json.dumps({"type": "rate_conversation", "score": 11}), "bad_score"),
    (json.dumps({"type": "rate_conversation", "score": True}), "bad_score"),
    (
        json.dumps({"type": "hello", "session_id": "short", "municipality": "utrecht"}),
        "bad_session",
    ),
]


async def test_bad_frames_get_a_dutch_error_and_the_chat_keeps_working(connect) -> None:
    chat = await connect()
    await chat.send({"type": "message", "text": "hallo"})  # before hello
    assert (await chat.receive())["code"] == "no_session"

    await chat.hello(new_session_id())
    for raw, code in BAD_FRAMES:
        await chat.ws.send_str(raw)
        frame = await chat.receive()
        assert frame["type"] == "error", (raw, frame)
        assert frame["code"] == code, (raw, frame)
        assert "Traceback" not in frame["message"] and "Error" not in frame["message"]
        words = set(frame["message"].lower().replace(".", " ").split())
        assert words & {"u", "uw", "wij", "dit", "deze", "kies", "het"}, frame  # Dutch text
    await chat.ws.send_bytes(b"\x00\x01")
    assert (await chat.receive())["code"] == "bad_json"

    too_long = await _error_for(chat, {"type": "message", "text": "x" * 1001})
    assert "1000 tekens" in too_long["message"]

    # After all that, the same connection still answers a real question.
    assert bot_text(await chat.ask("hallo")).strip()


async def _error_for(chat: Chat, frame: dict) -> dict:
    await chat.send(frame)
    return await chat.receive()


async def test_typed_slash_commands_do_not_bypass_understanding(connect) -> None:
    """A resident typing "/human_handoff" is understood as text, not as a hand-written intent."""
    chat = await connect()
    session = new_session_id()
    await chat.hello(session)
    await chat.ask("/restart")
    history = (await chat.hello(session))["messages"]
    assert [m["text"] for m in history if m["role"] == "user"] == ["restart"]


async def test_ratings_are_stored(connect, assistant_stack) -> None:
    session = new_session_id()
    chat = await connect()
    await chat.hello(session, municipality="zwolle")
    question = "wat kost een paspoort"
    answer = (await chat.ask(question))[-1]

    await chat.send({"type": "rate_answer", "message_id": answer["id"], "helpful": False})
    assert await chat.receive() == {"type": "rated", "message_id": answer["id"], "helpful": False}
    await chat.send({"type": "rate_answer", "message_id": answer["id"], "helpful": True})
    assert (await chat.receive())["helpful"] is True  # a resident may change their mind
    await chat.send({"type": "rate_conversation", "score": 8})
    assert await chat.receive() == {"type": "rated", "score": 8}

    # The widget shows earlier ratings again after a reload.
    history = await (await connect()).hello(session, municipality="zwolle")
    assert history["conversation_score"] == 8
    rated = {m["id"]: m["rating"] for m in history["messages"] if m["role"] == "bot"}
    assert rated[answer["id"]] is True

    # In the database: the assistant's answer and the verdict, never what the resident typed.
    # tests/conftest.py points the stack's FEEDBACK_DATABASE_URL at this file.
    database = assistant_stack.log_dir.parent / "feedback.sqlite"
    store = FeedbackStore(f"sqlite:///{database}")
    try:
        ratings = store.ratings_for(f"webchat-{session}")
    finally:
        store.dispose()
    assert ratings.answers == {answer["id"]: True}
    assert ratings.score == 8
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT answer_text, municipality, response_name FROM answer_rating "
            "WHERE sender_id = ?",
            (f"webchat-{session}",),
        ).fetchall()
        everything = json.dumps(
            [
                db.execute(f"SELECT * FROM {t}").fetchall()
                for t in ("answer_rating", "conversation_rating")
            ]
        )
    assert [(text, municipality) for text, municipality, _ in rows] == [(answer["text"], "zwolle")]
    assert question not in everything


async def test_hello_with_a_new_id_starts_a_new_conversation(connect) -> None:
    chat = await connect()
    await chat.hello(new_session_id())
    await chat.ask("hallo")
    fresh = await chat.hello(new_session_id())  # "Nieuw gesprek" in the widget
    assert fresh["messages"] == []


# --- hardening: strange text, limits that survive reconnects, huge frames -----------------------


async def test_a_lone_surrogate_gets_a_dutch_error_and_the_chat_keeps_working(connect) -> None:
    chat = await connect()
    await chat.hello(new_session_id())
    await chat.ws.send_str('{"type": "message", "text": "paspoort \\ud800 kosten"}')
    frame = await chat.receive()
    assert frame["code"] == "surrogate" and "tekens" in frame["message"]
    assert "€" in bot_text(await chat.ask("wat kost een paspoort"))


@pytest.mark.parametrize(
    "question",
    ["pasp00rt kosten", "wat kost een pas\u200bpoort", "\u202ewat kost een paspoort\u202c"],
)
async def test_hidden_characters_and_look_alike_digits_still_get_the_answer(
    connect, question: str
) -> None:
    chat = await connect()
    await chat.hello(new_session_id())
    answer = bot_text(await chat.ask(question))
    assert "paspoort" in answer.lower() and "€" in answer, answer


async def test_reconnecting_does_not_reset_the_message_limit(connect, assistant_stack) -> None:
    limit = assistant_stack.settings.messages_per_minute_per_conversation
    session = new_session_id()
    chat = await connect()
    await chat.hello(session)
    for _ in range(limit):
        await chat.ask("hallo")
    again = await connect()
    await again.hello(session)
    assert (await _error_for(again, {"type": "message", "text": "hallo"}))["code"] == "too_fast"


async def test_one_address_opening_many_conversations_is_limited_at_every_door(
    http: aiohttp.ClientSession, ws_url: str, origin: str, assistant_stack
) -> None:
    headers = {"Origin": origin, **resident_headers()}
    limit = assistant_stack.settings.messages_per_minute_per_address
    ws = await http.ws_connect(ws_url, headers=headers)
    chat = Chat(ws)
    for _ in range(limit):
        await chat.hello(new_session_id())
    await chat.send({"type": "hello", "session_id": new_session_id(), "municipality": "utrecht"})
    assert (await chat.receive())["code"] == "too_fast"
    # The same address on the REST door shares the budget.
    body = {"sender": "limit-test", "message": "hallo"}
    rest_headers = {"X-Forwarded-For": headers["X-Forwarded-For"]}
    async with http.post(assistant_stack.rest_webhook_url, json=body, headers=rest_headers) as r:
        assert r.status == 429


@pytest.mark.timeout(120)
async def test_a_one_megabyte_frame_is_refused_while_another_resident_is_answered(
    connect,
) -> None:
    attacker, resident = await connect(), await connect()
    await attacker.hello(new_session_id())
    await resident.hello(new_session_id())
    huge = json.dumps({"type": "message", "text": "a." * 499_000 + "@"})
    await attacker.ws.send_str(huge)
    answer = await resident.ask("wat kost een rijbewijs")
    assert "€" in bot_text(answer)
    frame = await attacker.receive()
    assert frame["code"] == "too_long"
