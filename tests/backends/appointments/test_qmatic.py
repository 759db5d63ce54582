"""The Qmatic client and plugin, spoken over real HTTP to the Qmatic sandbox mounted under /qmatic/.

Set up as test_jcc.py sets up JCC's: a real server, real network failures, the same TODAY.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from assistant.backends.appointments import SLOT_TAKEN, Customer
from assistant.backends.appointments.calendar import AMSTERDAM
from assistant.backends.appointments.qmatic import QmaticAppointments, QmaticClient
from assistant.backends.errors import (
    BackendRejected,
    BackendUnavailable,
    NotConfigured,
    NotFound,
)
from assistant.sandbox.qmatic import create_app
from tests.sandbox.serving import (
    TODAY,
    closed_port_url,
    closing,
    free_times,
    serving,
    sqlite_url,
)

API_KEY = "zwolle-test-sleutel"
ANNA = Customer("Anna de Vries", email="anna@example.nl", phone="06-12345678")
BOB = Customer("Bob Jansen", phone="+31 38 498 9898")


@asynccontextmanager
async def qmatic_at(database_url: str, api_key: str = API_KEY) -> AsyncIterator[QmaticAppointments]:
    app = create_app(database_url, api_keys={API_KEY}, today=TODAY)
    async with (
        serving(app, "/qmatic") as url,
        closing(QmaticAppointments(QmaticClient(url, api_key))) as system,
    ):
        yield system


@pytest.fixture
async def qmatic(tmp_path: Path) -> AsyncIterator[QmaticAppointments]:
    async with qmatic_at(sqlite_url(tmp_path)) as system:
        yield system


async def test_products_are_the_six_document_products(qmatic: QmaticAppointments) -> None:
    names = {product.name for product in await qmatic.products()}
    assert names == {
        "Paspoort aanvragen",
        "Paspoort ophalen",
        "ID-kaart aanvragen",
        "ID-kaart ophalen",
        "Rijbewijs aanvragen",
        "Rijbewijs ophalen",
    }


async def test_locations_are_two_zwolle_offices_with_their_address(
    qmatic: QmaticAppointments,
) -> None:
    product = (await qmatic.products())[0]
    stadskantoor, second = await qmatic.locations(product)
    assert (stadskantoor.name, stadskantoor.address) == ("Stadskantoor", "Lübeckplein 2")
    assert (stadskantoor.postcode, stadskantoor.city) == ("8017 JZ", "Zwolle")
    assert second.city == "Zwolle" and second.postcode


async def test_dates_are_office_days_within_the_asked_range(qmatic: QmaticAppointments) -> None:
    product = (await qmatic.products())[0]
    location = (await qmatic.locations(product))[0]
    days = await qmatic.dates(product, location, TODAY, TODAY + timedelta(days=90))
    assert days[0] == date(2026, 3, 3)
    assert days[-1] <= TODAY + timedelta(days=42)
    assert all(day.weekday() < 5 for day in days)
    assert (
        date(2026, 4, 3) not in days and date(2026, 4, 6) not in days
    )  # Good Friday, Easter Monday

    easter_week = await qmatic.dates(product, location, date(2026, 4, 2), date(2026, 4, 8))
    assert easter_week == [date(2026, 4, 2), date(2026, 4, 7), date(2026, 4, 8)]


async def test_times_are_aware_amsterdam_times_every_quarter_hour(
    qmatic: QmaticAppointments,
) -> None:
    product = (await qmatic.products())[0]
    location = (await qmatic.locations(product))[0]
    times = await qmatic.times(product, location, date(2026, 3, 30))  # after DST started
    assert times[0] == datetime(2026, 3, 30, 8, 30, tzinfo=AMSTERDAM)
    assert times[0].utcoffset() == timedelta(hours=2)
    assert times[-1].time() == time(16, 15)
    assert all(later - earlier == timedelta(minutes=15) for earlier, later in pairwise(times))
    assert await qmatic.times(product, location, date(2026, 4, 6)) == []  # Easter Monday


async def test_a_booking_can_be_read_back_with_its_customer(qmatic: QmaticAppointments) -> None:
    product, location, (start, *_) = await free_times(qmatic)

    booked = await qmatic.book(product, location, start, ANNA, remarks="Met tolk")
    found = await qmatic.details(booked.reference)

    # Booking answers "+0000" and reading "+00:00" (as in Qmatic's examples); both mean UTC.
    assert found == booked
    assert found.start == start and found.end - found.start == timedelta(minutes=15)
    assert found.customer == ANNA
    assert found.remarks == "Met tolk"
    assert start not in await qmatic.times(product, location, start.date())


async def test_booking_a_taken_time_fails_as_slot_taken(qmatic: QmaticAppointments) -> None:
    product, location, (start, *_) = await free_times(qmatic)
    await qmatic.book(product, location, start, ANNA)

    with pytest.raises(BackendRejected) as refused:
        await qmatic.book(product, location, start, BOB)
    assert (refused.value.status, refused.value.code) == (409, SLOT_TAKEN)


async def test_a_cancelled_appointment_is_gone(qmatic: QmaticAppointments) -> None:
    product, location, (start, *_) = await free_times(qmatic)
    booked = await qmatic.book(product, location, start, ANNA)

    await qmatic.cancel(booked.reference)

    with pytest.raises(NotFound):
        await qmatic.details(booked.reference)
    with pytest.raises(NotFound):
        await qmatic.cancel(booked.reference)
    assert start in await qmatic.times(product, location, start.date())


async def test_only_the_resident_who_booked_can_see_the_appointment(
    qmatic: QmaticAppointments,
) -> None:
    product, location, (start, *_) = await free_times(qmatic)
    booked = await qmatic.book(product, location, start, BOB)

    assert await qmatic.verify_owner(booked.reference, "038-4989898") == booked
    assert await qmatic.verify_owner(booked.reference, "0031 38 498 98 98") == booked

    with pytest.raises(NotFound) as wrong_contact:
        await qmatic.verify_owner(booked.reference, "06-12345678")
    with pytest.raises(NotFound) as unknown_reference:
        await qmatic.verify_owner("0123456789abcdef0123456789abcdef", "038-4989898")
    assert str(wrong_contact.value) == str(unknown_reference.value)
    with pytest.raises(NotFound):
        await qmatic.verify_owner(booked.reference, "bob@example.nl")  # he gave no e-mail


async def test_a_wrong_api_key_is_rejected(tmp_path: Path) -> None:
    database = sqlite_url(tmp_path)
    async with qmatic_at(database, api_key="geraden") as system:
        with pytest.raises(BackendRejected) as refused:
            await system.products()
    assert refused.value.status == 401


@pytest.mark.parametrize(("url", "key"), [("", API_KEY), ("http://127.0.0.1:8090/qmatic/", "")])
def test_a_half_configured_client_is_refused(url: str, key: str) -> None:
    with pytest.raises(NotConfigured):
        QmaticClient(url, key)


async def test_a_500_says_what_went_wrong_from_the_error_message_header(
    qmatic: QmaticAppointments,
) -> None:
    product = (await qmatic.products())[0]
    location = (await qmatic.locations(product))[0]
    path = f"v2/branches/{location.id}/dates/2026-13-45/times;servicePublicId={product.id}"

    with pytest.raises(BackendUnavailable) as failed:
        await qmatic.client.request("GET", path)
    assert "answered 500: ValueError: month must be in 1..12" in str(failed.value)


async def test_a_server_that_is_down_makes_qmatic_unavailable() -> None:
    async with closing(QmaticAppointments(QmaticClient(closed_port_url(), API_KEY))) as system:
        with pytest.raises(BackendUnavailable):
            await system.products()


async def test_a_server_that_does_not_answer_in_time_makes_qmatic_unavailable(
    silent_url: str,
) -> None:
    async with closing(
        QmaticAppointments(QmaticClient(silent_url, API_KEY, timeout=0.2))
    ) as system:
        with pytest.raises(BackendUnavailable, match="TimeoutError"):
            await system.products()


async def test_booking_and_cancelling_work_on_postgresql(postgres_url: str) -> None:
    async with qmatic_at(postgres_url) as system:
        product, location, (start, *_) = await free_times(system)
        booked = await system.book(product, location, start, ANNA)
        assert (await system.details(booked.reference)).customer == ANNA
        await system.cancel(booked.reference)
        with pytest.raises(NotFound):
            await system.details(booked.reference)
