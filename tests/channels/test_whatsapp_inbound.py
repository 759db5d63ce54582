"""Reading Meta's webhook calls (channels/whatsapp/inbound.py), the signature check and the
conversation id (security.py), and the configuration (config.py)."""

from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp
import pytest
from sanic import Sanic

from assistant.settings import ConfigError
from assistant.stack import free_port
from channels.whatsapp import WhatsAppInput
from channels.whatsapp.config import load_config
from channels.whatsapp.inbound import parse_webhook
from channels.whatsapp.messages import (
    Content,
    Ignored,
    Inbound,
    Location,
    Reply,
    StatusUpdate,
    Text,
    Unsupported,
    Webhook,
    WebhookInvalid,
)
from channels.whatsapp.security import (
    conversation_id,
    conversation_key,
    sign,
    signature_valid,
    token_matches,
)
from tests.channels import whatsapp_phone as phone

WA_ID = "31612345678"


def parsed(*messages: dict, statuses: list[dict] | None = None) -> Webhook:
    body = phone.envelope(messages=list(messages) if messages else None, statuses=statuses)
    return parse_webhook(json.dumps(body).encode())


def content(message: dict) -> Content:
    (inbound,) = parsed(message).messages
    return inbound.content


# --- signature and identity -----------------------------------------------------------------


def test_the_signature_is_meta_s_test_vector() -> None:
    expected = "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    assert sign(b"test", "secret") == expected
    assert signature_valid(b"test", expected, "secret")
    assert signature_valid(b"test", expected.upper().replace("SHA256=", "sha256="), "secret")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914",
        "sha1=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914",
        "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0915",
        "sha256=ü",
    ],
)
def test_a_missing_or_wrong_signature_is_refused(header: str | None) -> None:
    assert not signature_valid(b"test", header, "secret")


def test_a_signature_covers_the_exact_bytes() -> None:
    assert not signature_valid(b"test ", sign(b"test", "secret"), "secret")
    assert not signature_valid(b"test", sign(b"test", "other secret"), "secret")


def test_the_verify_token_must_match_exactly() -> None:
    assert token_matches("geheim", "geheim")
    assert not token_matches("geheim ", "geheim")
    assert not token_matches(None, "geheim")


def test_the_conversation_id_is_stable_and_does_not_contain_the_number() -> None:
    key = conversation_key("app-secret")
    first = conversation_id(key, "100200300400", WA_ID)
    assert first == conversation_id(conversation_key("app-secret"), "100200300400", WA_ID)
    assert first.startswith("whatsapp-") and len(first) == len("whatsapp-") + 32
    assert WA_ID not in first and "12345678" not in first
    assert first != conversation_id(key, "100200300401", WA_ID)  # another municipality number
    assert first != conversation_id(key, "100200300400", "31612345679")
    assert first != conversation_id(conversation_key("another secret"), "100200300400", WA_ID)


# --- messages -------------------------------------------------------------------------------


def test_a_text_message_is_read_with_its_sender_and_number() -> None:
    message = phone.text_message(WA_ID, "Wat kost een paspoort?", "wamid.ABC")
    (inbound,) = parsed(message).messages
    assert inbound.message_id == "wamid.ABC"
    assert (inbound.phone_number_id, inbound.wa_id) == (phone.PHONE_NUMBER_ID, WA_ID)
    assert inbound.content == Text("Wat kost een paspoort?")
    assert isinstance(inbound.timestamp, int)
    assert Inbound.from_json(json.loads(json.dumps(inbound.to_json()))) == inbound


@pytest.mark.parametrize(
    "message",
    [
        phone.button_reply(WA_ID, "/affirm", "Ja, verstuur"),
        phone.list_reply(WA_ID, "/affirm", "Ja, verstuur"),
        phone.template_button(WA_ID, "/affirm", "Ja, verstuur"),
    ],
)
def test_buttons_lists_and_quick_replies_are_replies(message: dict) -> None:
    assert content(message) == Reply("/affirm", "Ja, verstuur")


def test_a_location_is_read_with_its_name_and_address() -> None:
    message = phone.location_message(WA_ID, 52.0907, 5.1214, "Domplein", "Domplein 1, Utrecht")
    assert content(message) == Location(52.0907, 5.1214, "Domplein", "Domplein 1, Utrecht")
    assert content(phone.location_message(WA_ID, 52, 5)) == Location(52.0, 5.0)


@pytest.mark.parametrize(("latitude", "longitude"), [(91, 5), (52, -181), ("x", 5), (True, 5)])
def test_a_location_out_of_range_is_not_a_location(latitude: object, longitude: object) -> None:
    message = phone.message(WA_ID, "location", {"latitude": latitude, "longitude": longitude})
    assert content(message) == Unsupported("location")


@pytest.mark.parametrize(
    "kind", ["image", "audio", "video", "document", "sticker", "contacts", "unsupported", "order"]
)
def test_other_types_are_unsupported(kind: str) -> None:
    assert content(phone.message(WA_ID, kind, {"id": "123"})) == Unsupported(kind)


def test_reactions_are_ignored() -> None:
    reaction = phone.message(WA_ID, "reaction", {"message_id": "wamid.X", "emoji": "👍"})
    assert content(reaction) == Ignored("reaction")


def test_a_message_without_id_or_sender_is_skipped_not_refused() -> None:
    good = phone.text_message(WA_ID, "hallo")
    no_sender = {**phone.text_message(WA_ID, "hallo"), "from": "+31 6"}
    no_id = {k: v for k, v in phone.text_message(WA_ID, "hallo").items() if k != "id"}
    assert [m.message_id for m in parsed(no_sender, good, no_id, "text").messages] == [good["id"]]


# --- statuses -------------------------------------------------------------------------------


def test_status_callbacks_are_read_with_the_error_code_of_a_failure() -> None:
    statuses = [
        phone.status("wamid.A", "delivered", WA_ID),
        phone.status("wamid.B", "failed", WA_ID, error_code=131047),
        phone.status("wamid.C", "deleted", WA_ID),
    ]
    webhook = parsed(statuses=statuses)
    assert [(s.message_id, s.status, s.error_code) for s in webhook.statuses] == [
        ("wamid.A", "delivered", None),
        ("wamid.B", "failed", "131047"),
    ]
    assert webhook.messages == []
    first = webhook.statuses[0]
    assert StatusUpdate.from_json(first.to_json()) == first


# --- the envelope ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "bad_json"),
        (b"[]", "not_whatsapp"),
        (b'{"object": "page", "entry": []}', "not_whatsapp"),
        (b'{"object": "whatsapp_business_account"}', "bad_envelope"),
        (b'{"object": "whatsapp_business_account", "entry": [{"changes": {}}]}', "bad_envelope"),
        (b'{"object": "whatsapp_business_account", "entry": [{"changes": [1]}]}', "bad_envelope"),
        (b"[" * 100_000 + b"]" * 100_000, "bad_json"),
    ],
)
def test_a_body_that_is_not_the_envelope_is_refused(raw: bytes, code: str) -> None:
    with pytest.raises(WebhookInvalid) as refused:
        parse_webhook(raw)
    assert refused.value.code == code


def test_changes_of_other_fields_are_ignored() -> None:
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "account_update", "value": {"x": 1}}]}],
    }
    webhook = parse_webhook(json.dumps(body).encode())
    assert webhook.messages == [] and webhook.statuses == []


# --- configuration --------------------------------------------------------------------------

SECRETS = {
    "WHATSAPP_VERIFY_TOKEN": "verify",
    "WHATSAPP_APP_SECRET": "app-secret",
    "WHATSAPP_ACCESS_TOKEN": "access",
}


def test_the_configuration_keeps_secrets_out_of_its_repr() -> None:
    config = load_config({**SECRETS, "WHATSAPP_NUMBERS": "111=zwolle, 222=utrecht"})
    assert config.api_url == "https://graph.facebook.com/v19.0/"
    assert config.municipality_for("111") == "zwolle"
    assert config.municipality_for("999") == "utrecht"  # ASSISTANT_MUNICIPALITY's default
    assert not any(secret in repr(config) for secret in SECRETS.values())


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_a_missing_secret_names_its_variable(missing: str) -> None:
    env = {name: value for name, value in SECRETS.items() if name != missing}
    with pytest.raises(ConfigError, match=missing):
        load_config(env)


@pytest.mark.parametrize(
    ("numbers", "problem"),
    [
        ("111=atlantis", "unknown municipality"),
        ("111", "phone_number_id"),
        ("abc=utrecht", "numeric"),
    ],
)
def test_wrong_numbers_are_refused(numbers: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_config({**SECRETS, "WHATSAPP_NUMBERS": numbers})


async def test_without_its_secrets_the_channel_is_off_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    app = Sanic(f"whatsapp_off_{uuid.uuid4().hex[:8]}")
    # Mounted as Rasa mounts an input channel.
    app.blueprint(
        WhatsAppInput().blueprint(lambda _: asyncio.sleep(0)), url_prefix="/webhooks/whatsapp"
    )
    port = free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    assert server is not None
    await server.startup()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            async with http.get("/webhooks/whatsapp/") as health:
                assert await health.json() == {"status": "off"}
            async with http.post("/webhooks/whatsapp/webhook", data=b"{}") as webhook:
                assert webhook.status == 404
                assert (await webhook.json())["error"] == "not_configured"
    finally:
        server.close()
        await server.wait_closed()


def test_some_secrets_but_not_all_stop_the_channel_naming_the_missing_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WHATSAPP_APP_SECRET", "app-secret")
    with pytest.raises(ConfigError, match="WHATSAPP_VERIFY_TOKEN, WHATSAPP_ACCESS_TOKEN"):
        WhatsAppInput()
