"""The call state (in-process and in the real Redis), the caller's encrypted number, and the
voice configuration's checks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis
from cryptography.fernet import Fernet

from assistant.settings import ConfigError
from channels.voice.answer import Button
from channels.voice.caller import CallerCipher, can_receive_sms, normalised_number
from channels.voice.config import audiocodes_token, load_voice_config, twilio_auth_token
from channels.voice.state import CallState, CallStore, MemoryCallStore, RedisCallStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def store(request, redis_url: str, redis_prefix: str) -> AsyncIterator[CallStore]:
    if request.param == "memory":
        yield MemoryCallStore()
        return
    redis_store = RedisCallStore(redis_url, prefix=redis_prefix, ttl=60)
    try:
        yield redis_store
    finally:
        await redis_store.close()


def a_state() -> CallState:
    return CallState(
        municipality="zwolle",
        silences=1,
        prompt="Over welk document gaat het?",
        buttons=[Button("Paspoort", "/inform"), Button("ID-kaart", "/inform2")],
        pending_transcript="paspoort",
        sms_links=["https://www.zwolle.nl/"],
        caller="gAAAA-token",
    )


async def test_a_saved_state_is_loaded_whole(store: CallStore) -> None:
    await store.save("voice-CA1", a_state())
    assert await store.load("voice-CA1") == a_state()
    assert await store.load("voice-CA2") is None


async def test_a_deleted_call_is_unknown(store: CallStore) -> None:
    await store.save("voice-CA1", a_state())
    await store.claim_activity("voice-CA1", "a1")
    await store.delete("voice-CA1")
    assert await store.load("voice-CA1") is None
    assert not await store.touch("voice-CA1")
    assert await store.claim_activity("voice-CA1", "a1"), "the ids went with the call"


async def test_an_activity_is_claimed_once_per_call(store: CallStore) -> None:
    assert await store.claim_activity("audiocodes-c1", "activity-1")
    assert not await store.claim_activity("audiocodes-c1", "activity-1")
    assert await store.claim_activity("audiocodes-c1", "activity-2")
    assert await store.claim_activity("audiocodes-c2", "activity-1")


async def test_touch_renews_a_known_call_only(store: CallStore) -> None:
    assert not await store.touch("voice-CA1")
    await store.save("voice-CA1", a_state())
    assert await store.touch("voice-CA1")


async def test_in_memory_state_expires() -> None:
    clock = Clock()
    store = MemoryCallStore(ttl=60, clock=clock)
    await store.save("voice-CA1", a_state())
    clock.now += 59
    assert await store.touch("voice-CA1")
    clock.now += 59
    assert await store.load("voice-CA1") is not None, "the touch renewed it"
    clock.now += 61
    assert await store.load("voice-CA1") is None


async def test_redis_state_has_a_ttl_and_a_number_never_in_clear(
    redis_url: str, redis_prefix: str
) -> None:
    store = RedisCallStore(redis_url, prefix=redis_prefix, ttl=3600)
    cipher = CallerCipher(Fernet.generate_key().decode())
    state = a_state()
    state.caller = cipher.seal("+31612345678")
    try:
        await store.save("voice-CA1", state)
        await store.claim_activity("voice-CA1", "a1")
    finally:
        await store.close()
    client = redis.Redis.from_url(redis_url)
    try:
        keys = sorted(client.scan_iter(match=f"{redis_prefix}*"))
        assert len(keys) == 2
        for key in keys:
            assert 0 < client.ttl(key) <= 3600
        raw = client.get(f"{redis_prefix}voice-CA1")
    finally:
        client.close()
    assert raw is not None and b"612345678" not in raw
    assert cipher.open(CallState.from_json(raw).caller) == "+31612345678"


def test_a_number_sealed_with_another_key_cannot_be_opened() -> None:
    token = CallerCipher(Fernet.generate_key().decode()).seal("+31612345678")
    assert CallerCipher(Fernet.generate_key().decode()).open(token) is None
    assert CallerCipher(Fernet.generate_key().decode()).open("not-a-token") is None


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("+31612345678", "+31612345678"),
        ("0612345678", "+31612345678"),
        ("tel:+31302860000", "+31302860000"),
        ("sip:+31612345678@sbc.example.nl", "+31612345678"),
        ("anonymous", None),
        ("", None),
        (None, None),
    ],
)
def test_numbers_are_normalised(raw: str | None, number: str | None) -> None:
    assert normalised_number(raw) == number


def test_only_mobile_numbers_get_a_text_message() -> None:
    assert can_receive_sms("+31612345678")
    assert not can_receive_sms("+31302860000")
    assert not can_receive_sms(None)


# --- configuration -----------------------------------------------------------------------


def test_the_defaults() -> None:
    config = load_voice_config({})
    assert config.min_confidence == 0.5
    assert config.tts_voice == "Polly.Lotte"
    assert config.public_url is None and config.sms is None and config.caller_key is None
    assert config.municipality_for("+31302860000") == config.default_municipality


def test_a_line_selects_its_municipality() -> None:
    config = load_voice_config({"VOICE_LINES": "+31382000000=Zwolle, +31302860000=utrecht"})
    assert config.municipality_for("+31382000000") == "zwolle"
    assert config.municipality_for("+31302860000") == "utrecht"


def test_sms_needs_the_account_and_is_configured_whole() -> None:
    env = {
        "VOICE_SMS_FROM": "Gemeente",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_API_URL": "http://127.0.0.1:8090/twilio",
    }
    sms = load_voice_config(env).sms
    assert sms is not None and sms.api_url == "http://127.0.0.1:8090/twilio/"
    assert "token" not in repr(sms)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"VOICE_LINES": "0302860000=utrecht"}, "VOICE_LINES"),
        ({"VOICE_LINES": "+31302860000=atlantis"}, "VOICE_LINES"),
        ({"VOICE_MIN_CONFIDENCE": "veel"}, "VOICE_MIN_CONFIDENCE"),
        ({"VOICE_MIN_CONFIDENCE": "1.5"}, "VOICE_MIN_CONFIDENCE"),
        ({"VOICE_TTS_VOICE": "<Polly>"}, "VOICE_TTS_VOICE"),
        ({"VOICE_PUBLIC_URL": "ftp://example.nl"}, "VOICE_PUBLIC_URL"),
        ({"VOICE_CALLER_KEY": "geheim"}, "VOICE_CALLER_KEY"),
        ({"VOICE_SMS_FROM": "Gemeente", "TWILIO_AUTH_TOKEN": "t"}, "TWILIO_ACCOUNT_SID"),
        ({"VOICE_SMS_FROM": "Gemeente", "TWILIO_ACCOUNT_SID": "AC1"}, "TWILIO_AUTH_TOKEN"),
        ({"VOICE_SMS_FROM": "Gemeente Utrecht Noord"}, "VOICE_SMS_FROM"),
    ],
)
def test_a_wrong_value_names_its_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_voice_config(env)


def test_each_connector_needs_its_secret() -> None:
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN"):
        twilio_auth_token({})
    with pytest.raises(ConfigError, match="AUDIOCODES_TOKEN"):
        audiocodes_token({"AUDIOCODES_TOKEN": "kort"})
    assert audiocodes_token({"AUDIOCODES_TOKEN": "x" * 16}) == "x" * 16
