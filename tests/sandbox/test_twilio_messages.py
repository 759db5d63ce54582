"""The Twilio Messages API stand-in, spoken to with plain aiohttp as Twilio's REST API would be.

Form-encoded sends with HTTP Basic auth, the message resource and list as Twilio renders them,
and Twilio's error codes (20003, 21211, 21602, ...).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assistant.sandbox import twilio_messages
from tests.sandbox.serving import serving, sqlite_url

ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "twilio-geheim-van-de-test"
AUTH = aiohttp.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)
RESIDENT = "+31612345678"
SMS = {"To": RESIDENT, "From": "Gemeente", "Body": "Hier is de link: https://example.nl/paspoort"}


@asynccontextmanager
async def twilio_at(database_url: str) -> AsyncIterator[str]:
    """The stand-in under /twilio; yields "http://127.0.0.1:<port>/twilio/"."""
    app = twilio_messages.create_app(database_url, accounts={ACCOUNT_SID: AUTH_TOKEN})
    async with serving(app, "/twilio") as url:
        yield url


@pytest.fixture
async def twilio(tmp_path: Path) -> AsyncIterator[str]:
    async with twilio_at(sqlite_url(tmp_path)) as url:
        yield url


def messages_url(root: str, account: str = ACCOUNT_SID) -> str:
    return f"{root}2010-04-01/Accounts/{account}/Messages.json"


async def create(
    http: aiohttp.ClientSession, root: str, form: Any, **options: Any
) -> tuple[int, Any, aiohttp.ClientResponse]:
    options.setdefault("auth", AUTH)
    url = messages_url(root, options.pop("account", ACCOUNT_SID))
    async with http.post(url, data=form, **options) as response:
        return response.status, await response.json(), response


async def listing(http: aiohttp.ClientSession, root: str, **params: Any) -> Any:
    async with http.get(messages_url(root), params=params, auth=AUTH) as response:
        assert response.status == 200
        return await response.json()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"auth": None}, "Authentication Error - No credentials provided"),
        ({"auth": aiohttp.BasicAuth(ACCOUNT_SID, "geraden")}, "Authenticate"),
        ({"auth": aiohttp.BasicAuth("AC" + "f" * 32, AUTH_TOKEN)}, "Authenticate"),
        ({"account": "AC" + "0" * 32}, "Authenticate"),  # the right user, another account
        ({"auth": None, "headers": {"Authorization": "Basic !!geen-base64"}}, "Authenticate"),
    ],
    ids=["missing", "wrong-token", "unknown-account", "other-account-in-path", "garbled"],
)
async def test_a_call_without_the_accounts_credentials_is_refused_with_20003(
    http: aiohttp.ClientSession, twilio: str, options: dict[str, Any], message: str
) -> None:
    status, body, response = await create(http, twilio, SMS, **options)
    assert (status, response.headers["WWW-Authenticate"]) == (401, 'Basic realm="Twilio API"')
    assert body == {
        "code": 20003,
        "message": message,
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
        "detail": "Your AccountSid or AuthToken was incorrect.",
    }
    async with http.get(messages_url(twilio)) as refused:
        assert refused.status == 401
    assert (await listing(http, twilio))["messages"] == []


async def test_an_sms_is_queued_and_answered_with_twilios_message_resource(
    http: aiohttp.ClientSession, database_url: str
) -> None:
    async with twilio_at(database_url) as twilio:
        status, message, _ = await create(http, twilio, SMS)
        listed = await listing(http, twilio, To=RESIDENT)
        async with http.get(twilio + message["uri"].lstrip("/"), auth=AUTH) as response:
            fetched = await response.json()
    assert status == 201
    assert re.fullmatch(r"SM[0-9a-f]{32}", message["sid"])
    assert {key: message[key] for key in ("to", "from", "body", "status", "account_sid")} == {
        "to": RESIDENT,
        "from": "Gemeente",
        "body": SMS["Body"],
        "status": "queued",
        "account_sid": ACCOUNT_SID,
    }
    assert parsedate_to_datetime(message["date_created"]).utcoffset() is not None
    assert message["date_created"].endswith(" +0000")
    assert message["uri"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message['sid']}.json"
    assert (message["api_version"], message["direction"]) == ("2010-04-01", "outbound-api")
    assert (message["num_segments"], message["num_media"], message["date_sent"]) == ("1", "0", None)
    assert listed["messages"] == [message] and fetched == message


@pytest.mark.parametrize(
    ("form", "code", "message"),
    [
        ({**SMS, "To": ""}, 21604, "A 'To' phone number is required."),
        ({**SMS, "To": "0612345678"}, 21211, "The 'To' number 0612345678 is not a valid phone"),
        ({**SMS, "To": "+31 6 12345678"}, 21211, "is not a valid phone number."),
        ({"To": RESIDENT, "Body": "x"}, 21603, "A 'From' phone number is required."),
        ({**SMS, "From": "GemeenteUtrecht"}, 21212, "or alphanumeric sender ID."),
        ({**SMS, "From": "12345"}, 21212, "is not a valid phone number, shortcode"),
        ({"To": RESIDENT, "From": "Gemeente"}, 21602, "Message body is required."),
        ({**SMS, "Body": "x" * 1601}, 21617, "exceeds the 1600 character limit."),
    ],
)
async def test_what_twilio_refuses_is_a_400_with_its_code_and_nothing_is_queued(
    http: aiohttp.ClientSession, twilio: str, form: dict[str, str], code: int, message: str
) -> None:
    status, body, _ = await create(http, twilio, form)
    assert status == 400
    assert (body["code"], body["status"]) == (code, 400)
    assert message in body["message"]
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert (await listing(http, twilio))["messages"] == []


@pytest.mark.parametrize(
    ("sender", "body", "segments"),
    [
        ("+3197010203040", "x" * 1600, "11"),  # GSM-7: 153 characters a part
        ("Gemeente 1", "x" * 160, "1"),
        ("G", "ë" * 70, "1"),  # not in GSM-7: UCS-2, 70 in one part
        ("G", "€" * 71, "2"),
    ],
)
async def test_senders_and_bodies_at_their_limits_are_queued_and_counted_in_parts(
    http: aiohttp.ClientSession, twilio: str, sender: str, body: str, segments: str
) -> None:
    status, message, _ = await create(http, twilio, {"To": RESIDENT, "From": sender, "Body": body})
    assert (status, message["num_segments"]) == (201, segments)


async def test_the_list_is_newest_first_filtered_by_to_and_paged_like_twilio(
    http: aiohttp.ClientSession, twilio: str
) -> None:
    sids = []
    for to in (RESIDENT, "+32470123456", RESIDENT, RESIDENT):
        sids.append((await create(http, twilio, {**SMS, "To": to}))[1]["sid"])
    everything = await listing(http, twilio)
    first = await listing(http, twilio, To=RESIDENT, PageSize=2)
    second = await listing(http, twilio, To=RESIDENT, PageSize=2, Page=1)
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"

    assert [m["sid"] for m in everything["messages"]] == sids[::-1]
    assert [m["sid"] for m in first["messages"]] == [sids[3], sids[2]]
    assert [m["sid"] for m in second["messages"]] == [sids[0]]
    assert (first["page"], first["page_size"], first["start"], first["end"]) == (0, 2, 0, 1)
    assert first["next_page_uri"] == f"{path}?To=%2B31612345678&PageSize=2&Page=1"
    assert first["previous_page_uri"] is None
    assert second["next_page_uri"] is None
    assert second["previous_page_uri"] == first["first_page_uri"] == first["uri"]
    async with http.get(twilio + second["previous_page_uri"].lstrip("/"), auth=AUTH) as again:
        assert await again.json() == first


async def test_an_unknown_message_is_a_20404(http: aiohttp.ClientSession, twilio: str) -> None:
    url = f"{twilio}2010-04-01/Accounts/{ACCOUNT_SID}/Messages/SM{'0' * 32}.json"
    async with http.get(url, auth=AUTH) as response:
        body = await response.json()
    assert (response.status, body["code"], body["status"]) == (404, 20404, 404)


async def test_queued_messages_are_kept_in_the_database_across_restarts(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with twilio_at(sqlite_url(tmp_path)) as twilio:
        sid = (await create(http, twilio, SMS))[1]["sid"]
    async with twilio_at(sqlite_url(tmp_path)) as twilio:
        assert [m["sid"] for m in (await listing(http, twilio))["messages"]] == [sid]


def test_the_stand_in_needs_an_account_and_its_token() -> None:
    with pytest.raises(ValueError, match="AccountSid and AuthToken"):
        twilio_messages.create_app("sqlite://", accounts={ACCOUNT_SID: " "})
