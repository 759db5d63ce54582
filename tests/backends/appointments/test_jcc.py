"""The JCC client and plugin, spoken over real HTTP to the JCC sandbox mounted under /jcc/.

The sandbox runs as `tests.sandbox.serving` serves every stand-in (own SQLite file, PostgreSQL
in one test, fixed to its TODAY); failures of the network are real: a closed port, a server
that never answers. test_qmatic.py holds the same checks for Qmatic.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from aiohttp import web

from assistant.backends.appointments import SLOT_TAKEN, Customer, Location, Product
from assistant.backends.appointments.calendar import AMSTERDAM
from assistant.backends.appointments.jcc import JccAppointments, JccClient
from assistant.backends.errors import (
    BackendRejected,
    BackendUnavailable,
    NotConfigured,
    NotFound,
)
from assistant.sandbox.jcc import TOKENS, create_app
from tests.sandbox.serving import (
    TODAY,
    closed_port_url,
    closing,
    free_times,
    serving,
    sqlite_url,
)

CLIENT_ID, SECRET = "gemeente-utrecht-assistent", "s3cr3t-voor-tests"
ANNA = Customer("Anna de Vries", email="Anna.de.Vries@example.nl", phone="06-12345678")
BOB = Customer("Bob Jansen", email="bob@example.nl")
STUB_SLOT = (
    Product("p", "Paspoort aanvragen"),
    Location("l", "Stadskantoor"),
    datetime(2026, 3, 3, 9, 0, tzinfo=AMSTERDAM),
)


@dataclass
class Sandbox:
    url: str
    app: web.Application


@asynccontextmanager
async def sandbox_at(database_url: str) -> AsyncIterator[Sandbox]:
    app = create_app(database_url, credentials={CLIENT_ID: SECRET}, today=TODAY)
    async with serving(app, "/jcc") as url:
        yield Sandbox(url, app)


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with sandbox_at(sqlite_url(tmp_path)) as running:
        yield running


@pytest.fixture
async def jcc(sandbox: Sandbox) -> AsyncIterator[JccAppointments]:
    async with closing(JccAppointments(JccClient(sandbox.url, CLIENT_ID, SECRET))) as system:
        yield system


async def test_products_are_the_six_document_products(jcc: JccAppointments) -> None:
    names = [product.name for product in await jcc.products()]
    assert names == [
        "Paspoort aanvragen",
        "Paspoort ophalen",
        "ID-kaart aanvragen",
        "ID-kaart ophalen",
        "Rijbewijs aanvragen",
        "Rijbewijs ophalen",
    ]


async def test_locations_are_the_two_utrecht_offices_with_their_address(
    jcc: JccAppointments,
) -> None:
    product = (await jcc.products())[0]
    stadskantoor, overvecht = await jcc.locations(product)
    assert (stadskantoor.name, stadskantoor.address) == ("Stadskantoor", "Lange Viestraat 2")
    assert (stadskantoor.postcode, stadskantoor.city) == ("3511 BK", "Utrecht")
    assert overvecht.name == "Wijkbureau Overvecht"


async def test_dates_are_office_days_from_tomorrow_for_six_weeks(jcc: JccAppointments) -> None:
    product = (await jcc.products())[0]
    location = (await jcc.locations(product))[0]
    days = await jcc.dates(
        product, location, TODAY - timedelta(days=30), TODAY + timedelta(days=90)
    )
    assert days[0] == date(2026, 3, 3)
    assert days[-1] <= TODAY + timedelta(days=42)
    assert all(day.weekday() < 5 for day in days)
    assert date(2026, 4, 3) not in days  # Good Friday
    assert date(2026, 4, 6) not in days  # Easter Monday
    assert date(2026, 4, 7) in days

    week = await jcc.dates(product, location, date(2026, 3, 9), date(2026, 3, 13))
    assert week == [date(2026, 3, 9) + timedelta(days=n) for n in range(5)]


async def test_times_are_aware_amsterdam_times_every_twenty_minutes(jcc: JccAppointments) -> None:
    product = (await jcc.products())[0]
    location = (await jcc.locations(product))[0]
    times = await jcc.times(product, location, date(2026, 3, 30))  # the day after DST starts
    assert times[0] == datetime(2026, 3, 30, 9, 0, tzinfo=AMSTERDAM)
    assert times[0].utcoffset() == timedelta(hours=2)
    assert times[-1].time() == time(16, 20)
    assert all(later - earlier == timedelta(minutes=20) for earlier, later in pairwise(times))
    assert await jcc.times(product, location, date(2026, 3, 7)) == []  # a Saturday


async def test_a_booking_can_be_read_back_with_its_customer(jcc: JccAppointments) -> None:
    product, location, (start, *_) = await free_times(jcc)

    booked = await jcc.book(product, location, start, ANNA, remarks="Graag een rolstoelplek")
    found = await jcc.details(booked.reference)

    assert found == booked
    assert found.end - found.start == timedelta(minutes=20)
    assert found.start.tzinfo is not None and found.start == start
    assert found.customer == ANNA
    assert found.remarks == "Graag een rolstoelplek"
    assert start not in await jcc.times(product, location, start.date())


async def test_booking_a_taken_time_fails_as_slot_taken(jcc: JccAppointments) -> None:
    product, location, (start, *_) = await free_times(jcc)
    await jcc.book(product, location, start, ANNA)

    with pytest.raises(BackendRejected) as refused:
        await jcc.book(product, location, start, BOB)
    assert refused.value.code == SLOT_TAKEN


async def test_a_cancelled_appointment_is_gone(jcc: JccAppointments) -> None:
    product, location, (start, *_) = await free_times(jcc)
    booked = await jcc.book(product, location, start, ANNA)

    await jcc.cancel(booked.reference)

    with pytest.raises(NotFound):
        await jcc.details(booked.reference)
    with pytest.raises(NotFound):
        await jcc.cancel(booked.reference)
    assert start in await jcc.times(product, location, start.date())


async def test_only_the_resident_who_booked_can_see_the_appointment(jcc: JccAppointments) -> None:
    product, location, (start, *_) = await free_times(jcc)
    booked = await jcc.book(product, location, start, ANNA)

    assert await jcc.verify_owner(booked.reference, "anna.DE.vries@EXAMPLE.nl ") == booked
    assert await jcc.verify_owner(booked.reference, "+31 6 1234 5678") == booked

    with pytest.raises(NotFound) as wrong_contact:
        await jcc.verify_owner(booked.reference, "bob@example.nl")
    with pytest.raises(NotFound) as unknown_reference:
        await jcc.verify_owner("00000000-0000-0000-0000-000000000000", "anna.de.vries@example.nl")
    assert str(wrong_contact.value) == str(unknown_reference.value)
    with pytest.raises(NotFound):
        await jcc.verify_owner(booked.reference, "")


async def test_one_token_serves_many_calls(jcc: JccAppointments, sandbox: Sandbox) -> None:
    product = (await jcc.products())[0]
    await asyncio.gather(*(jcc.locations(product) for _ in range(5)))
    assert len(sandbox.app[TOKENS]) == 1


async def test_a_token_the_server_forgot_is_replaced(
    jcc: JccAppointments, sandbox: Sandbox
) -> None:
    await jcc.products()
    sandbox.app[TOKENS].clear()  # as after a restart of JCC

    assert len(await jcc.products()) == 6
    assert len(sandbox.app[TOKENS]) == 1


async def test_wrong_credentials_are_rejected_as_invalid_client(sandbox: Sandbox) -> None:
    async with closing(
        JccAppointments(JccClient(sandbox.url, CLIENT_ID, "not-the-secret"))
    ) as system:
        with pytest.raises(BackendRejected) as refused:
            await system.products()
    assert (refused.value.status, refused.value.code) == (400, "invalid_client")
    assert sandbox.app[TOKENS] == {}


@pytest.mark.parametrize(
    ("url", "client_id", "secret"),
    [
        ("", CLIENT_ID, SECRET),
        ("http://127.0.0.1:8090/jcc/", "", SECRET),
        ("http://127.0.0.1:8090/jcc/", CLIENT_ID, " "),
    ],
)
def test_a_half_configured_client_is_refused(url: str, client_id: str, secret: str) -> None:
    with pytest.raises(NotConfigured):
        JccClient(url, client_id, secret)


async def test_a_refusal_with_an_unknown_code_is_rejected_as_unknown() -> None:
    """A 200 without acknowledgement is never a booking, whatever code JCC invents next."""

    async def token(_: web.Request) -> web.Response:
        return web.json_response({"access_token": "t", "expires_in": 3600})

    async def duration(_: web.Request) -> web.Response:
        return web.json_response(20)

    async def refuse(_: web.Request) -> web.Response:
        return web.json_response({"acknowledgeIsSuccess": False, "code": 4242, "message": "Nee"})

    stub = web.Application()
    stub.router.add_post("/connect/token", token)
    stub.router.add_get("/appointment/calculateduration", duration)
    stub.router.add_post("/appointment", refuse)
    async with (
        serving(stub) as url,
        closing(JccAppointments(JccClient(url, CLIENT_ID, SECRET))) as system,
    ):
        product, location, start = STUB_SLOT
        with pytest.raises(BackendRejected) as refused:
            await system.book(product, location, start, ANNA)
    assert refused.value.code == "unknown"
    assert "4242" in str(refused.value)


async def test_a_server_that_is_down_makes_jcc_unavailable() -> None:
    async with closing(JccAppointments(JccClient(closed_port_url(), CLIENT_ID, SECRET))) as system:
        with pytest.raises(BackendUnavailable):
            await system.products()


async def test_a_server_that_does_not_answer_in_time_makes_jcc_unavailable(
    silent_url: str,
) -> None:
    async with closing(
        JccAppointments(JccClient(silent_url, CLIENT_ID, SECRET, timeout=0.2))
    ) as system:
        with pytest.raises(BackendUnavailable, match="TimeoutError"):
            await system.products()


async def test_booking_and_cancelling_work_on_postgresql(postgres_url: str) -> None:
    async with (
        sandbox_at(postgres_url) as running,
        closing(JccAppointments(JccClient(running.url, CLIENT_ID, SECRET))) as system,
    ):
        product, location, (start, *_) = await free_times(system)
        booked = await system.book(product, location, start, BOB)
        assert (await system.details(booked.reference)).customer == BOB
        await system.cancel(booked.reference)
        with pytest.raises(NotFound):
            await system.details(booked.reference)
