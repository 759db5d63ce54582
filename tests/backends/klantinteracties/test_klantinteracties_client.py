"""ContactRegistry and KlantinteractiesClient over the wire: against the Open Klant stand-in
(SQLite and PostgreSQL), a closed port and a server that never answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assistant.backends.errors import BackendRejected, BackendUnavailable, NotConfigured, NotFound
from assistant.backends.klantinteracties.client import KlantinteractiesClient
from assistant.backends.klantinteracties.contacts import ContactRegistry
from assistant.sandbox import openklant
from tests.sandbox.serving import closed_port_url, serving, sqlite_url

TOKEN = "assistent-key"
FIXED_NOW = datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)


@asynccontextmanager
async def open_klant_at(database_url: str) -> AsyncIterator[str]:
    """The Open Klant stand-in under /openklant; yields its base URL."""
    async with serving(openklant.create_app(database_url, tokens=[TOKEN]), "/openklant") as url:
        yield url


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncIterator[str]:
    async with open_klant_at(sqlite_url(tmp_path)) as url:
        yield url


async def read_url(url: str) -> Any:
    """Follow a URL Open Klant wrote (an onderwerpobject has no client method of its own)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={"Authorization": f"Token {TOKEN}"}) as response,
    ):
        assert response.status == 200
        return await response.json()


async def test_a_registered_contact_reads_back_as_a_confidential_dutch_klantcontact(
    base_url: str,
) -> None:
    async with KlantinteractiesClient(base_url, TOKEN) as client:
        registry = ContactRegistry(client, clock=lambda: FIXED_NOW)
        contact_id = await registry.register_contact(
            "Chat", "Vraag over de afvalkalender", "Ophaaldag oud papier uitgelegd.", "chat-42"
        )
        contact = await client.get_klantcontact(contact_id)
        page = await client.list_klantcontacten()

    assert contact["uuid"] == contact_id
    assert (contact["kanaal"], contact["onderwerp"]) == ("Chat", "Vraag over de afvalkalender")
    assert contact["inhoud"] == "Ophaaldag oud papier uitgelegd."
    assert (contact["taal"], contact["vertrouwelijk"]) == ("nld", True)
    assert contact["indicatieContactGelukt"] is True
    assert contact["plaatsgevondenOp"] == "2026-11-24T09:30:00+00:00"
    assert len(contact["hadBetrokkenen"]) == 1
    subject = await read_url(contact["gingOverOnderwerpobjecten"][0]["url"])
    assert subject["onderwerpobjectidentificator"] == {
        "objectId": "chat-42",
        "codeObjecttype": "gesprek",
        "codeRegister": "Gemeente-assistent",
        "codeSoortObjectId": "gespreksreferentie",
    }
    assert [c["uuid"] for c in page["results"]] == [contact_id]


async def test_personal_data_is_masked_in_what_is_registered_in_postgresql(
    postgres_url: str,
) -> None:
    subject = "Terugbelverzoek van jan.jansen@example.nl"
    summary = (
        "Inwoner met BSN 111222333 wil teruggebeld worden op 06-12345678 of +31 20 123 4567 "
        "over een terugbetaling op NL91ABNA0417164300."
    )
    async with open_klant_at(postgres_url) as url, KlantinteractiesClient(url, TOKEN) as client:
        contact_id = await ContactRegistry(client).register_contact(
            "Chat", subject, summary, "chat-7"
        )
        contact = await client.get_klantcontact(contact_id)

    registered = contact["onderwerp"] + " " + contact["inhoud"]
    for personal in ("jan.jansen@example.nl", "111222333", "06-12345678", "123 4567", "0417164300"):
        assert personal not in registered
    assert contact["onderwerp"] == "Terugbelverzoek van [e-mail]"
    assert contact["inhoud"] == (
        "Inwoner met BSN [bsn] wil teruggebeld worden op [telefoon] of [telefoon] "
        "over een terugbetaling op [iban]."
    )


async def test_a_long_subject_and_summary_are_shortened_not_refused(base_url: str) -> None:
    async with KlantinteractiesClient(base_url, TOKEN) as client:
        contact_id = await ContactRegistry(client).register_contact(
            "WhatsApp", "Vraag\nover " + "parkeren " * 40, "Uitleg. " * 200, "chat-8"
        )
        contact = await client.get_klantcontact(contact_id)

    assert len(contact["onderwerp"]) <= 200
    assert contact["onderwerp"].startswith("Vraag over parkeren")
    assert contact["onderwerp"].endswith("…")
    assert len(contact["inhoud"]) <= 1000
    assert contact["inhoud"].endswith("…")


@pytest.mark.parametrize(
    ("channel", "reference"),
    [("", "chat-1"), ("k" * 51, "chat-1"), ("Chat", ""), ("Chat", "r" * 201)],
)
async def test_a_channel_or_reference_open_klant_cannot_store_is_a_programming_error(
    channel: str, reference: str
) -> None:
    # Nothing listens on this port: a request would fail with BackendUnavailable instead.
    async with KlantinteractiesClient(closed_port_url(), TOKEN) as client:
        with pytest.raises(ValueError, match=r"^(channel|reference) must be"):
            await ContactRegistry(client).register_contact(
                channel, "Vraag", "Samenvatting", reference
            )


async def test_a_wrong_token_is_rejected_and_nothing_is_registered(base_url: str) -> None:
    async with KlantinteractiesClient(base_url, "not-the-key") as client:
        with pytest.raises(BackendRejected) as rejected:
            await ContactRegistry(client).register_contact(
                "Chat", "Vraag", "Samenvatting", "chat-9"
            )
    assert (rejected.value.status, rejected.value.code) == (401, "authentication_failed")
    async with KlantinteractiesClient(base_url, TOKEN) as client:
        assert (await client.list_klantcontacten())["count"] == 0


@pytest.mark.parametrize(
    ("base", "token"), [("http://127.0.0.1:8090/openklant/", " "), ("", "key")]
)
def test_a_client_without_address_or_token_is_refused(base: str, token: str) -> None:
    with pytest.raises(NotConfigured):
        KlantinteractiesClient(base, token)


async def test_a_refused_body_carries_the_problem_code(base_url: str) -> None:
    async with KlantinteractiesClient(base_url, TOKEN) as client:
        with pytest.raises(BackendRejected) as rejected:
            too_long_language = {"kanaal": "C", "onderwerp": "x", "taal": "nederlands"}
            await client.maak_klantcontact(
                {"klantcontact": {**too_long_language, "vertrouwelijk": True}}  # type: ignore[typeddict-item]
            )
    assert (rejected.value.status, rejected.value.code) == (400, "invalid")


async def test_an_unknown_or_malformed_klantcontact_is_not_found(base_url: str) -> None:
    async with KlantinteractiesClient(base_url, TOKEN) as client:
        with pytest.raises(NotFound):
            await client.get_klantcontact("00000000-0000-0000-0000-000000000000")
        with pytest.raises(NotFound):
            await client.get_klantcontact("../betrokkenen")


async def test_a_server_that_is_down_is_backend_unavailable() -> None:
    async with KlantinteractiesClient(closed_port_url(), TOKEN) as client:
        with pytest.raises(BackendUnavailable):
            await ContactRegistry(client).register_contact(
                "Chat", "Vraag", "Samenvatting", "chat-10"
            )


async def test_a_server_that_does_not_answer_in_time_is_backend_unavailable(
    silent_url: str,
) -> None:
    async with KlantinteractiesClient(silent_url, TOKEN, timeout=0.2) as client:
        with pytest.raises(BackendUnavailable, match="TimeoutError"):
            await ContactRegistry(client).register_contact(
                "Chat", "Vraag", "Samenvatting", "chat-11"
            )
        with pytest.raises(BackendUnavailable, match="TimeoutError"):
            await client.list_klantcontacten()
