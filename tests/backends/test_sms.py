"""SmsClient over the wire: against the Twilio Messages stand-in under /twilio, a closed port and
a server scripted to fail once, to show that a send is never repeated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from assistant.backends.errors import BackendRejected, BackendUnavailable, NotConfigured
from assistant.backends.sms import SmsClient
from assistant.sandbox import twilio_messages
from tests.sandbox.serving import closed_port_url, serving, sqlite_url

ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "twilio-geheim-van-de-test"
RESIDENT = "+31612345678"
LINK = "Hier is de link om uw paspoort aan te vragen: https://www.utrecht.nl/paspoort"


@pytest.fixture
async def twilio(tmp_path: Path) -> AsyncIterator[str]:
    """The Messages API stand-in's root, "http://127.0.0.1:<port>/twilio/"."""
    app = twilio_messages.create_app(sqlite_url(tmp_path), accounts={ACCOUNT_SID: AUTH_TOKEN})
    async with serving(app, "/twilio") as url:
        yield url


async def queued(twilio: str, to: str = RESIDENT) -> list[Any]:
    url = f"{twilio}2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    auth = aiohttp.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, params={"To": to}, auth=auth) as response,
    ):
        return (await response.json())["messages"]


def assert_private(error: Exception, *secrets: str) -> None:
    for shown in (str(error), repr(error)):
        assert all(secret not in shown for secret in (AUTH_TOKEN, RESIDENT, *secrets))


async def test_an_sms_is_sent_form_encoded_and_its_sid_returned(twilio: str) -> None:
    async with SmsClient(twilio, ACCOUNT_SID, AUTH_TOKEN) as sms:
        sid = await sms.send(RESIDENT, "Gemeente", LINK)
    [message] = await queued(twilio)
    assert message["sid"] == sid and sid.startswith("SM")
    assert (message["to"], message["from"], message["body"]) == (RESIDENT, "Gemeente", LINK)


@pytest.mark.parametrize(
    ("to", "sender", "body", "code"),
    [
        ("0612345678", "Gemeente", LINK, "21211"),
        (RESIDENT, "Gemeente Utrecht", LINK, "21212"),
        (RESIDENT, "Gemeente", "", "21602"),
        (RESIDENT, "Gemeente", "x" * 1601, "21617"),
    ],
)
async def test_a_refusal_is_rejected_with_twilios_code_and_without_the_number(
    twilio: str, to: str, sender: str, body: str, code: str
) -> None:
    async with SmsClient(twilio, ACCOUNT_SID, AUTH_TOKEN) as sms:
        with pytest.raises(BackendRejected) as rejected:
            await sms.send(to, sender, body)
    assert (rejected.value.status, rejected.value.code) == (400, code)
    assert_private(rejected.value, to)
    assert await queued(twilio) == []


async def test_wrong_credentials_are_rejected_with_20003_and_not_shown(twilio: str) -> None:
    wrong = "een-oud-auth-token"
    async with SmsClient(twilio, ACCOUNT_SID, wrong) as sms:
        with pytest.raises(BackendRejected) as rejected:
            await sms.send(RESIDENT, "Gemeente", LINK)
    assert (rejected.value.status, rejected.value.code) == (401, "20003")
    assert_private(rejected.value, wrong)


@pytest.mark.parametrize("failure", ["503", "drop"])
async def test_a_send_that_fails_is_not_repeated(failure: str) -> None:
    seen: list[Any] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(dict(await request.post()))
        if failure == "drop":
            assert request.transport is not None
            request.transport.close()
        return web.json_response({"code": 20500, "message": "Internal Server Error"}, status=503)

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", answer)
    async with serving(app) as url, SmsClient(url, ACCOUNT_SID, AUTH_TOKEN) as sms:
        with pytest.raises(BackendUnavailable) as failed:
            await sms.send(RESIDENT, "Gemeente", LINK)
    assert seen == [{"To": RESIDENT, "From": "Gemeente", "Body": LINK}]
    assert_private(failed.value)
    if failure == "503":
        assert str(failed.value).endswith("answered 503: code 20500")


async def test_twilio_out_of_reach_is_unavailable() -> None:
    async with SmsClient(closed_port_url(), ACCOUNT_SID, AUTH_TOKEN) as sms:
        with pytest.raises(BackendUnavailable, match="ClientConnectorError") as failed:
            await sms.send(RESIDENT, "Gemeente", LINK)
    assert_private(failed.value)


async def test_an_answer_without_a_sid_is_no_confirmation() -> None:
    async def answer(_: web.Request) -> web.Response:
        return web.json_response({"status": "queued"}, status=201)

    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", answer)
    async with serving(app) as url, SmsClient(url, ACCOUNT_SID, AUTH_TOKEN) as sms:
        with pytest.raises(BackendUnavailable, match="without its sid"):
            await sms.send(RESIDENT, "Gemeente", LINK)


def test_a_client_without_its_account_or_token_is_refused() -> None:
    with pytest.raises(NotConfigured):
        SmsClient("https://api.twilio.com/", ACCOUNT_SID, "")
    with pytest.raises(NotConfigured):
        SmsClient("https://api.twilio.com/", " ", AUTH_TOKEN)
    assert AUTH_TOKEN not in repr(SmsClient("https://api.twilio.com/", ACCOUNT_SID, AUTH_TOKEN))
