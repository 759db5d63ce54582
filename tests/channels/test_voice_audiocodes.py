"""The AudioCodes VoiceAI Connect connector against the running assistant: validation, opening
a conversation, the start event, speech and keys, repeated activities, the token, keep-alive
and disconnect."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import aiohttp
import pytest

from assistant.stack import Stack
from tests.channels.voice_call import a_mobile_number, texts_sent_to
from tests.conftest import CHANNEL_SECRETS

TOKEN = CHANNEL_SECRETS["AUDIOCODES_TOKEN"]
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def base(assistant_stack: Stack) -> str:
    return f"{assistant_stack.rasa_url}/webhooks/audiocodes"


def activity(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "timestamp": "2026-03-02T09:00:00.000Z",
        "language": "nl-NL",
        "type": kind,
        **fields,
    }


def start_event(caller: str = "+31612345678") -> dict[str, Any]:
    return activity(
        "event",
        name="start",
        parameters={"caller": caller, "callee": "+31302860000", "callerDisplayName": ""},
    )


async def send(
    http: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    async with http.post(url, json=body, headers=AUTH if headers is None else headers) as r:
        return r.status, await r.json(content_type=None)


async def open_conversation(http: aiohttp.ClientSession, base: str) -> dict[str, str]:
    cid = secrets.token_hex(12)
    status, urls = await send(http, f"{base}/webhook", {"conversation": cid})
    assert status == 200, urls
    return {"cid": cid, **urls}


async def test_the_validation_request(http: aiohttp.ClientSession, base: str) -> None:
    async with http.get(f"{base}/webhook", headers=AUTH) as response:
        assert response.status == 200
        assert await response.json() == {"type": "ac-bot-api", "success": True}


async def test_opening_a_conversation_answers_its_absolute_urls(http, base: str) -> None:
    conversation = await open_conversation(http, base)
    cid = conversation["cid"]
    assert conversation["activitiesURL"] == f"{base}/conversation/{cid}/activities"
    assert conversation["refreshURL"] == f"{base}/conversation/{cid}/refresh"
    assert conversation["disconnectURL"] == f"{base}/conversation/{cid}/disconnect"
    assert conversation["expiresSeconds"] == 120


async def test_the_start_event_is_answered_with_the_spoken_greeting(http, base: str) -> None:
    conversation = await open_conversation(http, base)
    status, answer = await send(
        http,
        conversation["activitiesURL"],
        {"conversation": conversation["cid"], "activities": [start_event()]},
    )
    assert status == 200, answer
    activities = answer["activities"]
    config, *messages = activities
    assert config["type"] == "event" and config["name"] == "config"
    assert config["sessionParams"]["language"] == "nl-NL"
    assert config["sessionParams"]["sendDTMF"] is True
    assert messages and all(m["type"] == "message" for m in messages)
    assert "toets" in " ".join(m["text"] for m in messages).lower()
    assert "paspoort" in [p.lower() for p in messages[-1]["activityParams"]["sttContextPhrases"]]
    ids = [a["id"] for a in activities]
    assert len(set(ids)) == len(ids)
    assert all(a["timestamp"].endswith("Z") for a in activities)


async def test_speech_and_keys_are_answered_and_a_repeat_is_answered_once(http, base: str) -> None:
    conversation = await open_conversation(http, base)
    url, cid = conversation["activitiesURL"], conversation["cid"]
    await send(http, url, {"conversation": cid, "activities": [start_event()]})
    question = activity(
        "message", text="hoe vraag ik een paspoort aan", parameters={"confidence": 0.93}
    )
    status, answer = await send(http, url, {"conversation": cid, "activities": [question]})
    assert status == 200
    spoken = " ".join(a["text"] for a in answer["activities"] if a["type"] == "message")
    assert "paspoort" in spoken.lower() and "http" not in spoken
    status, repeat = await send(http, url, {"conversation": cid, "activities": [question]})
    assert status == 200 and repeat == {"activities": []}
    keys = activity("event", name="DTMF", value="0")
    status, answer = await send(http, url, {"conversation": cid, "activities": [keys]})
    assert status == 200 and answer["activities"], "key 0 asks for a person"


async def test_the_number_from_the_start_event_receives_the_offered_link(
    http, base: str, assistant_stack: Stack
) -> None:
    caller = a_mobile_number()
    conversation = await open_conversation(http, base)
    url, cid = conversation["activitiesURL"], conversation["cid"]
    await send(http, url, {"conversation": cid, "activities": [start_event(caller)]})
    question = activity("message", text="hoe vraag ik een paspoort aan")
    _, answer = await send(http, url, {"conversation": cid, "activities": [question]})
    offer = answer["activities"][-1]["text"]
    assert offer.endswith("Wilt u de link per sms ontvangen? Zeg ja of toets 1."), offer
    keys = activity("event", name="DTMF", value="1")
    _, answer = await send(http, url, {"conversation": cid, "activities": [keys]})
    assert "sms gestuurd" in answer["activities"][0]["text"]
    (message,) = await texts_sent_to(http, assistant_stack.sandbox_url, caller)
    assert "https://" in message["body"]


async def test_a_doubtful_transcript_is_read_back(http, base: str) -> None:
    conversation = await open_conversation(http, base)
    url, cid = conversation["activitiesURL"], conversation["cid"]
    await send(http, url, {"conversation": cid, "activities": [start_event()]})
    unsure = activity("message", text="paspoort", parameters={"confidence": 0.2})
    _, answer = await send(http, url, {"conversation": cid, "activities": [unsure]})
    (message,) = answer["activities"]
    assert message["text"].startswith("Ik verstond: 'paspoort'. Klopt dat?")
    assert "activityParams" not in message, "no hints on a yes/no question"


async def test_two_silences_end_the_call(http, base: str) -> None:
    conversation = await open_conversation(http, base)
    url, cid = conversation["activitiesURL"], conversation["cid"]
    await send(http, url, {"conversation": cid, "activities": [start_event()]})
    silence = {"conversation": cid, "activities": [activity("event", name="noUserInput")]}
    _, first = await send(http, url, silence)
    assert first["activities"][0]["text"].startswith("Ik hoorde niets.")
    silence = {"conversation": cid, "activities": [activity("event", name="noUserInput")]}
    _, second = await send(http, url, silence)
    assert second["activities"][-1] == {
        "type": "event",
        "name": "hangup",
        "id": second["activities"][-1]["id"],
        "timestamp": second["activities"][-1]["timestamp"],
    }


async def test_keep_alive_and_disconnect(http, base: str) -> None:
    conversation = await open_conversation(http, base)
    status, body = await send(
        http, conversation["refreshURL"], {"conversation": conversation["cid"]}
    )
    assert status == 200 and body["expiresSeconds"] == 120
    status, _ = await send(
        http, conversation["disconnectURL"], {"conversation": conversation["cid"], "reason": "x"}
    )
    assert status == 200
    for url in (conversation["activitiesURL"], conversation["refreshURL"]):
        status, body = await send(
            http, url, {"conversation": conversation["cid"], "activities": []}
        )
        assert status == 404 and body["error"] == "not_found"


async def test_a_missing_or_wrong_token_is_refused(http, base: str) -> None:
    conversation = await open_conversation(http, base)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        async with http.get(f"{base}/webhook", headers=headers) as response:
            assert response.status == 401
        status, body = await send(
            http,
            conversation["activitiesURL"],
            {"conversation": conversation["cid"], "activities": [start_event()]},
            headers,
        )
        assert status == 401 and body["error"] == "unauthorized"


async def test_an_unknown_conversation_is_not_found(http, base: str) -> None:
    status, body = await send(
        http, f"{base}/conversation/nobody-knows-me/activities", {"activities": []}
    )
    assert status == 404 and body["error"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"activities": "start"}',
        b'{"activities": [{"type": "message", "text": "hoi"}]}',
        b'{"activities": [{"id": "a b", "type": "message", "text": "hoi"}]}',
        b'{"activities": [{"id": "a1", "type": "message", "text": "hoi", '
        b'"parameters": {"confidence": "hoog"}}]}',
        b'{"activities": [{"id": "a1", "type": "event", "name": "DTMF", "value": "1x"}]}',
    ],
    ids=["not-json", "not-object", "no-list", "no-id", "bad-id", "bad-confidence", "bad-dtmf"],
)
async def test_malformed_activities_are_a_bad_request(http, base: str, body: bytes) -> None:
    conversation = await open_conversation(http, base)
    async with http.post(
        conversation["activitiesURL"],
        data=body,
        headers={**AUTH, "Content-Type": "application/json"},
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "bad_request"


@pytest.mark.parametrize("cid", ["", "a" * 129, "x y", "../etc", "<script>"])
async def test_a_conversation_id_must_be_short_and_plain(http, base: str, cid: str) -> None:
    status, body = await send(http, f"{base}/webhook", {"conversation": cid})
    assert status == 400 and body["error"] == "bad_request"
