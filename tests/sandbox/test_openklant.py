"""The Open Klant stand-in over real HTTP on a loopback port: token auth, problem+json and
maak-klantcontact, against SQLite in tmp_path and against PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assistant.sandbox import openklant
from tests.sandbox.serving import serving, sqlite_url

API = "/klantinteracties/api/v1"
TOKEN = "sandbox-key-1"


class OpenKlant:
    """A running stand-in (mounted under /openklant) and a session that talks to it."""

    def __init__(self, base: str, session: aiohttp.ClientSession) -> None:
        self.base = base.rstrip("/")
        self.session = session

    async def call(
        self, method: str, path_or_url: str, body: Any = None, token: str | None = TOKEN
    ) -> tuple[int, Any]:
        url = path_or_url if "://" in path_or_url else self.base + path_or_url
        headers = {"Authorization": f"Token {token}"} if token else {}
        async with self.session.request(method, url, json=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def register(self, **klantcontact: Any) -> dict[str, Any]:
        status, created = await self.call("POST", f"{API}/maak-klantcontact", body(**klantcontact))
        assert status == 201, created
        return created


def body(**klantcontact: Any) -> dict[str, Any]:
    """The body Open Forms sends (reference section 1), with our own onderwerpobject codes."""
    return {
        "klantcontact": {
            "kanaal": "Chat",
            "onderwerp": "Vraag over afvalkalender",
            "inhoud": "Inwoner vroeg wanneer het oud papier wordt opgehaald.",
            "taal": "nld",
            "vertrouwelijk": True,
            **klantcontact,
        },
        "betrokkene": {"rol": "klant", "initiator": True, "organisatienaam": ""},
        "onderwerpobject": {
            "onderwerpobjectidentificator": {
                "objectId": "chat-123",
                "codeObjecttype": "gesprek",
                "codeRegister": "Gemeente-assistent",
                "codeSoortObjectId": "gespreksreferentie",
            }
        },
    }


@asynccontextmanager
async def running(database_url: str, **options: Any) -> AsyncIterator[OpenKlant]:
    app = openklant.create_app(database_url, tokens=options.pop("tokens", [TOKEN]), **options)
    async with serving(app, "/openklant") as url, aiohttp.ClientSession() as session:
        yield OpenKlant(url, session)


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[OpenKlant]:
    async with running(sqlite_url(tmp_path)) as running_sandbox:
        yield running_sandbox


async def test_maak_klantcontact_creates_the_contact_its_betrokkene_and_onderwerpobject(
    sandbox: OpenKlant,
) -> None:
    created = await sandbox.register(plaatsgevondenOp="2026-11-24T10:00:00+01:00")

    assert list(created) == ["klantcontact", "betrokkene", "onderwerpobject"]
    contact, person, subject = (
        created["klantcontact"],
        created["betrokkene"],
        created["onderwerpobject"],
    )
    assert contact["nummer"] == "0000000001"
    assert (contact["kanaal"], contact["taal"], contact["vertrouwelijk"]) == ("Chat", "nld", True)
    assert contact["plaatsgevondenOp"] == "2026-11-24T10:00:00+01:00"
    assert contact["hadBetrokkenen"] == [{"uuid": person["uuid"], "url": person["url"]}]
    assert contact["gingOverOnderwerpobjecten"] == [
        {"uuid": subject["uuid"], "url": subject["url"]}
    ]
    assert person["hadKlantcontact"] == {"uuid": contact["uuid"], "url": contact["url"]}
    assert (person["rol"], person["initiator"]) == ("klant", True)
    assert subject["onderwerpobjectidentificator"]["objectId"] == "chat-123"

    # Every URL it wrote resolves, and reads back what was created.
    assert await sandbox.call("GET", contact["url"]) == (200, contact)
    assert await sandbox.call("GET", person["url"]) == (200, person)
    assert await sandbox.call("GET", subject["url"]) == (200, subject)


async def test_klantcontacten_are_kept_in_postgresql_and_listed_newest_first(
    postgres_url: str,
) -> None:
    async with running(postgres_url) as sandbox:
        for number in range(3):
            await sandbox.register(onderwerp=f"Vraag {number}")

        status, first = await sandbox.call("GET", f"{API}/klantcontacten?pageSize=2")
        assert status == 200
        assert first["count"] == 3
        assert [c["onderwerp"] for c in first["results"]] == ["Vraag 2", "Vraag 1"]
        assert first["previous"] is None

        status, second = await sandbox.call("GET", first["next"])
        assert status == 200
        assert [c["onderwerp"] for c in second["results"]] == ["Vraag 0"]
        assert second["next"] is None
        assert second["previous"] == first["next"].replace("page=2", "page=1")

        status, error = await sandbox.call("GET", f"{API}/klantcontacten?page=9")
        assert (status, error["code"]) == (404, "not_found")


async def test_missing_and_too_long_fields_are_refused_with_invalid_params(
    sandbox: OpenKlant,
) -> None:
    request = body(kanaal="x" * 51, onderwerp="y" * 201, inhoud="z" * 1001, taal="nederlands")
    del request["klantcontact"]["vertrouwelijk"]
    request["betrokkene"]["rol"] = "inwoner"

    async with sandbox.session.post(
        sandbox.base + f"{API}/maak-klantcontact",
        json=request,
        headers={"Authorization": f"Token {TOKEN}"},
    ) as response:
        assert response.status == 400
        assert response.content_type == "application/problem+json"
        problem = await response.json(content_type=None)

    assert (problem["status"], problem["code"]) == (400, "invalid")
    assert problem["instance"].startswith("urn:uuid:")
    too_long = "Zorg ervoor dat dit veld niet meer dan {} karakters bevat."
    assert problem["invalidParams"] == [
        {"name": "klantcontact.kanaal", "code": "max_length", "reason": too_long.format(50)},
        {"name": "klantcontact.onderwerp", "code": "max_length", "reason": too_long.format(200)},
        {"name": "klantcontact.inhoud", "code": "max_length", "reason": too_long.format(1000)},
        {"name": "klantcontact.taal", "code": "max_length", "reason": too_long.format(3)},
        {
            "name": "klantcontact.vertrouwelijk",
            "code": "required",
            "reason": "Dit veld is vereist.",
        },
        {
            "name": "betrokkene.rol",
            "code": "invalid_choice",
            "reason": '"inwoner" is een ongeldige keuze.',
        },
    ]
    # Nothing half-registered.
    assert (await sandbox.call("GET", f"{API}/klantcontacten"))[1]["count"] == 0

    status, problem = await sandbox.call("POST", f"{API}/maak-klantcontact", {"betrokkene": {}})
    assert status == 400
    assert {"name": "klantcontact", "code": "required", "reason": "Dit veld is vereist."} in (
        problem["invalidParams"]
    )


@pytest.mark.parametrize(
    ("authorization", "code", "detail"),
    [
        (None, "not_authenticated", "Authenticatiegegevens zijn niet opgegeven."),
        (f"Bearer {TOKEN}", "not_authenticated", "Authenticatiegegevens zijn niet opgegeven."),
        ("Token wrong-key", "authentication_failed", "Ongeldige token."),
        ("Token", "authentication_failed", "Invalid token header. No credentials provided."),
        (
            f"Token {TOKEN} extra",
            "authentication_failed",
            "Invalid token header. Token string should not contain spaces.",
        ),
        ("Token sleutel-é", "authentication_failed", "Ongeldige token."),
    ],
)
async def test_a_missing_or_wrong_token_is_answered_401_with_a_token_challenge(
    sandbox: OpenKlant, authorization: str | None, code: str, detail: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for method, path in (("GET", f"{API}/klantcontacten"), ("POST", f"{API}/maak-klantcontact")):
        async with sandbox.session.request(
            method, sandbox.base + path, json=body(), headers=headers
        ) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"] == "Token"
            problem = await response.json(content_type=None)
        assert (problem["code"], problem["detail"], problem["status"]) == (code, detail, 401)
    assert (await sandbox.call("GET", f"{API}/klantcontacten"))[1]["count"] == 0


async def test_any_configured_token_is_accepted(tmp_path: Path) -> None:
    database = sqlite_url(tmp_path)
    async with running(database, tokens=["assistent", "kcc"]) as sandbox:
        for token in ("assistent", "kcc"):
            assert (await sandbox.call("GET", f"{API}/klantcontacten", token=token))[0] == 200


def test_a_sandbox_without_tokens_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one API token"):
        openklant.create_app(sqlite_url(tmp_path), tokens=["  "])


async def test_an_unknown_klantcontact_is_a_404_problem(sandbox: OpenKlant) -> None:
    for key in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        status, problem = await sandbox.call("GET", f"{API}/klantcontacten/{key}")
        assert (status, problem["code"], problem["detail"]) == (404, "not_found", "Niet gevonden.")


async def test_a_partij_reference_is_refused_because_the_stand_in_has_no_partijen(
    sandbox: OpenKlant,
) -> None:
    request = body()
    request["betrokkene"]["wasPartij"] = {"uuid": "00000000-0000-0000-0000-000000000000"}
    status, problem = await sandbox.call("POST", f"{API}/maak-klantcontact", request)
    assert status == 400
    assert [p["name"] for p in problem["invalidParams"]] == ["betrokkene.wasPartij.uuid"]


async def test_today_pins_the_date_of_a_contact_registered_without_one(tmp_path: Path) -> None:
    database = sqlite_url(tmp_path)
    async with running(database, today=date(2031, 2, 3)) as sandbox:
        created = await sandbox.register()
    assert created["klantcontact"]["plaatsgevondenOp"].startswith("2031-02-03T")


async def test_every_url_carries_the_mount_prefix_and_the_requests_host_and_port(
    sandbox: OpenKlant,
) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/openklant", sandbox.base)
    created = await sandbox.register()
    contact_url = created["klantcontact"]["url"]
    assert contact_url.startswith(f"{sandbox.base}{API}/klantcontacten/")
    assert (await sandbox.call("GET", contact_url))[0] == 200
    assert (await sandbox.call("GET", created["betrokkene"]["url"]))[0] == 200

    status, problem = await sandbox.call("GET", f"{API}/klantcontacten", token="wrong")
    assert status == 401
    assert problem["type"] == f"{sandbox.base}/ref/fouten/AuthenticationFailed/"
