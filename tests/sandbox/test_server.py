"""The runner's one server: all the stand-ins under their prefixes, on one database.

Spoken to with plain aiohttp, as in the other sandbox tests; each standard is called once with
its own kind of credential, to show the mounts, the shared database and the credentials from the
environment fit together. The database is an SQLite file and, in a second run, PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from assistant.sandbox.__main__ import main
from assistant.sandbox.server import VARIABLES, create_app, load_credentials
from assistant.settings import ConfigError
from tests.sandbox.serving import CRS, serving, zgw_token

ENV = {
    "SANDBOX_ZGW_CLIENT_ID": "sandbox-assistent",
    "SANDBOX_ZGW_SECRET": "het-geheim-van-de-sandbox-van-ruim-32-tekens",
    "SANDBOX_JCC_CLIENT_ID": "assistent",
    "SANDBOX_JCC_SECRET": "jcc-geheim",
    "SANDBOX_QMATIC_API_KEY": "qmatic-sleutel",
    "SANDBOX_OPENKLANT_TOKEN": "openklant-sleutel",
    "SANDBOX_WHATSAPP_TOKEN": "whatsapp-sleutel",
    "SANDBOX_TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "SANDBOX_TWILIO_AUTH_TOKEN": "twilio-geheim",
}
LAMP = "wegen-verkeer-straatmeubilair/sub_categories/lantaarnpaal-straatverlichting"


@pytest.fixture
async def base(database_url: str) -> AsyncIterator[str]:
    """The combined server at the root of a loopback port, as `python -m assistant.sandbox`,
    on SQLite and on PostgreSQL."""
    async with serving(create_app(database_url, load_credentials(ENV))) as url:
        yield url


async def test_the_root_answers_a_health_check(http: aiohttp.ClientSession, base: str) -> None:
    async with http.get(base) as response:
        assert (response.status, await response.json()) == (200, {"status": "ok"})


async def test_open_zaak_answers_under_zgw_to_a_token_of_the_configured_client(
    http: aiohttp.ClientSession, base: str
) -> None:
    zaken = f"{base}zgw/zaken/api/v1/zaken"
    token = zgw_token(ENV["SANDBOX_ZGW_CLIENT_ID"], ENV["SANDBOX_ZGW_SECRET"])
    async with http.get(zaken, headers={**token, **CRS}) as response:
        page = await response.json()
    async with http.get(zaken, headers={**zgw_token(), **CRS}) as refused:
        assert refused.status == 403  # the tests' own client id is not configured here
    assert response.status == 200 and page["count"] == 2
    assert page["results"][0]["zaaktype"].startswith(f"{base}zgw/catalogi/api/v1/zaaktypen/")


async def test_jcc_answers_under_jcc_with_a_token_for_the_configured_client(
    http: aiohttp.ClientSession, base: str
) -> None:
    async with http.post(
        f"{base}jcc/connect/token",
        data={"grant_type": "client_credentials", "scope": "warp-api"},
        auth=aiohttp.BasicAuth(ENV["SANDBOX_JCC_CLIENT_ID"], ENV["SANDBOX_JCC_SECRET"]),
    ) as response:
        assert response.status == 200
        token = (await response.json())["access_token"]
    async with http.get(
        f"{base}jcc/location", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 200
        assert len(await response.json()) == 2


async def test_qmatic_answers_under_qmatic_to_the_configured_key_only(
    http: aiohttp.ClientSession, base: str
) -> None:
    url = f"{base}qmatic/v1/branches"
    async with http.get(url, headers={"X-Api-Key": ENV["SANDBOX_QMATIC_API_KEY"]}) as response:
        assert response.status == 200
        assert len((await response.json())["branchList"]) == 2
    async with http.get(url, headers={"X-Api-Key": "geraden"}) as refused:
        assert refused.status == 401


async def test_signalen_files_a_melding_under_signalen(
    http: aiohttp.ClientSession, base: str
) -> None:
    categories = f"{base}signalen/signals/v1/public/terms/categories/"
    melding = {
        "text": "Lantaarnpaal kapot",
        "location": {"geometrie": {"type": "Point", "coordinates": [5.1214, 52.0907]}},
        "category": {"sub_category": categories + LAMP},
        "incident_date_start": "2026-03-02T10:00:00+01:00",
        "reporter": {"email": "melder@example.com"},
    }
    async with http.post(f"{base}signalen/signals/v1/public/signals/", json=melding) as response:
        created = await response.json()
    assert response.status == 201, created
    assert created["_links"]["self"]["href"].startswith(f"{base}signalen/signals/v1/public/")


async def test_open_klant_answers_under_openklant_to_the_configured_token_only(
    http: aiohttp.ClientSession, base: str
) -> None:
    url = f"{base}openklant/klantinteracties/api/v1/klantcontacten"
    token = {"Authorization": f"Token {ENV['SANDBOX_OPENKLANT_TOKEN']}"}
    async with http.get(url, headers=token) as response:
        assert (response.status, (await response.json())["count"]) == (200, 0)
    async with http.get(url, headers={"Authorization": "Token geraden"}) as refused:
        assert refused.status == 401


async def test_whatsapp_answers_under_whatsapp_to_the_configured_token_only(
    http: aiohttp.ClientSession, base: str
) -> None:
    url = f"{base}whatsapp/v19.0/106540352242922/messages"
    text = {"messaging_product": "whatsapp", "to": "31612345678", "text": {"body": "Hallo"}}
    token = {"Authorization": f"Bearer {ENV['SANDBOX_WHATSAPP_TOKEN']}"}
    async with http.post(url, json=text, headers=token) as response:
        assert response.status == 200
        assert (await response.json())["messages"][0]["id"].startswith("wamid.")
    async with http.post(url, json=text, headers={"Authorization": "Bearer geraden"}) as refused:
        assert (refused.status, (await refused.json())["error"]["code"]) == (401, 190)


async def test_twilio_queues_an_sms_under_twilio_for_the_configured_account_only(
    http: aiohttp.ClientSession, base: str
) -> None:
    sid = ENV["SANDBOX_TWILIO_ACCOUNT_SID"]
    url = f"{base}twilio/2010-04-01/Accounts/{sid}/Messages.json"
    sms = {"To": "+31612345678", "From": "Gemeente", "Body": "De link"}
    auth = aiohttp.BasicAuth(sid, ENV["SANDBOX_TWILIO_AUTH_TOKEN"])
    async with http.post(url, data=sms, auth=auth) as response:
        assert (response.status, (await response.json())["status"]) == (201, "queued")
    async with http.post(url, data=sms, auth=aiohttp.BasicAuth(sid, "geraden")) as refused:
        assert (refused.status, (await refused.json())["code"]) == (401, 20003)


@pytest.mark.parametrize("variable", sorted(VARIABLES.values()))
def test_a_missing_or_blank_credential_is_refused_naming_the_variable(variable: str) -> None:
    for env in ({k: v for k, v in ENV.items() if k != variable}, {**ENV, variable: "  "}):
        with pytest.raises(ConfigError, match=variable) as refused:
            load_credentials(env)
        assert [name for name in ENV if name in str(refused.value)] == [variable]


def test_the_runner_refuses_to_start_without_credentials_and_says_which(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([], env={"SANDBOX_ZGW_CLIENT_ID": "assistent"}) == 2
    message = capsys.readouterr().err
    assert "SANDBOX_ZGW_CLIENT_ID" not in message
    assert all(name in message for name in ENV if name != "SANDBOX_ZGW_CLIENT_ID")


def test_secrets_stay_out_of_the_credentials_repr() -> None:
    shown = repr(load_credentials(ENV))
    assert ENV["SANDBOX_ZGW_CLIENT_ID"] in shown
    secrets = (
        "SANDBOX_ZGW_SECRET",
        "SANDBOX_JCC_SECRET",
        "SANDBOX_QMATIC_API_KEY",
        "SANDBOX_OPENKLANT_TOKEN",
        "SANDBOX_WHATSAPP_TOKEN",
        "SANDBOX_TWILIO_AUTH_TOKEN",
    )
    for name in secrets:
        assert ENV[name] not in shown
