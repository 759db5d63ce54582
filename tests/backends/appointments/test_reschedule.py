"""Rescheduling, implemented once in `AppointmentSystem`: book the new time, then cancel the old.

Against both sandboxes over real HTTP for the normal cases, and against an in-memory backend
whose cancellation can be made to fail for the cases no sandbox produces on demand. Whatever
goes wrong, the resident must never be left without an appointment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from assistant.backends.appointments import (
    SLOT_TAKEN,
    Appointment,
    AppointmentSystem,
    Customer,
    Location,
    Product,
)
from assistant.backends.appointments.calendar import AMSTERDAM
from assistant.backends.appointments.jcc import JccAppointments, JccClient
from assistant.backends.appointments.qmatic import QmaticAppointments, QmaticClient
from assistant.backends.errors import BackendRejected, BackendUnavailable, NotFound
from assistant.sandbox import jcc as jcc_sandbox
from assistant.sandbox import qmatic as qmatic_sandbox
from tests.sandbox.serving import TODAY, free_times, serving, sqlite_url

ANNA = Customer("Anna de Vries", email="anna@example.nl")
BOB = Customer("Bob Jansen", phone="0612345678")


@pytest.fixture(params=["jcc", "qmatic"])
async def system(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AppointmentSystem]:
    database = sqlite_url(tmp_path)
    backend: AppointmentSystem
    if request.param == "jcc":
        app = jcc_sandbox.create_app(database, credentials={"assistent": "geheim"}, today=TODAY)
        async with serving(app, "/jcc") as url:
            backend = JccAppointments(JccClient(url, "assistent", "geheim"))
            yield backend
            await backend.close()
    else:
        app = qmatic_sandbox.create_app(database, api_keys={"sleutel"}, today=TODAY)
        async with serving(app, "/qmatic") as url:
            backend = QmaticAppointments(QmaticClient(url, "sleutel"))
            yield backend
            await backend.close()


async def test_rescheduling_moves_the_appointment_to_the_new_time(
    system: AppointmentSystem,
) -> None:
    product, location, (old_time, new_time, *_) = await free_times(system)
    old = await system.book(product, location, old_time, ANNA, remarks="Met tolk")

    new = await system.reschedule(old.reference, new_time)

    assert (new.start, new.product, new.location) == (new_time, product, location)
    assert await system.details(new.reference) == new
    assert (await system.details(new.reference)).customer == ANNA
    with pytest.raises(NotFound):
        await system.details(old.reference)
    free = await system.times(product, location, old_time.date())
    assert old_time in free and new_time not in free


async def test_rescheduling_to_another_office_moves_it_there(system: AppointmentSystem) -> None:
    product, here, (start, *_) = await free_times(system)
    there = (await system.locations(product))[1]
    old = await system.book(product, here, start, BOB)

    new = await system.reschedule(old.reference, start, location=there)

    assert (await system.details(new.reference)).location == there
    with pytest.raises(NotFound):
        await system.details(old.reference)


async def test_rescheduling_to_a_taken_time_keeps_the_old_appointment(
    system: AppointmentSystem,
) -> None:
    product, location, (old_time, taken_time, *_) = await free_times(system)
    old = await system.book(product, location, old_time, ANNA)
    await system.book(product, location, taken_time, BOB)

    with pytest.raises(BackendRejected) as refused:
        await system.reschedule(old.reference, taken_time)

    assert refused.value.code == SLOT_TAKEN
    assert await system.details(old.reference) == old


async def test_rescheduling_an_unknown_reference_books_nothing(system: AppointmentSystem) -> None:
    product, location, (_, new_time, *_) = await free_times(system)

    with pytest.raises(NotFound):
        await system.reschedule("00000000000000000000000000000000", new_time)

    assert new_time in await system.times(product, location, new_time.date())


class Ledger(AppointmentSystem):
    """An in-memory backend whose cancellation fails on demand.

    `cancel_failure` applies to the next cancellation only: None (it works), "refused" (the
    backend says no; nothing changes), "answer lost" (it happens, but the answer times out) or
    "gone away" (it times out and the backend stops answering altogether).
    """

    system = "ledger"

    def __init__(self) -> None:
        self.booked: dict[str, Appointment] = {}
        self.cancel_failure: str | None = None
        self.details_down = False
        self.product, self.location = Product("p", "Paspoort aanvragen"), Location("l", "Balie")

    async def products(self) -> list[Product]:
        return [self.product]

    async def locations(self, product: Product) -> list[Location]:
        return [self.location]

    async def dates(
        self, product: Product, location: Location, start: date, end: date
    ) -> list[date]:
        return []

    async def times(self, product: Product, location: Location, day: date) -> list[datetime]:
        return []

    async def book(
        self,
        product: Product,
        location: Location,
        start: datetime,
        customer: Customer,
        remarks: str = "",
    ) -> Appointment:
        if any(appointment.start == start for appointment in self.booked.values()):
            raise BackendRejected(self.system, "taken", status=409, code=SLOT_TAKEN)
        reference = f"A{len(self.booked) + 1}-{start:%H%M}"
        end = start + timedelta(minutes=20)
        appointment = Appointment(reference, product, location, start, end, customer, remarks)
        self.booked[reference] = appointment
        return appointment

    async def details(self, reference: str) -> Appointment:
        if self.details_down:
            raise BackendUnavailable(self.system, "timeout")
        if reference not in self.booked:
            raise NotFound(self.system, "unknown")
        return self.booked[reference]

    async def cancel(self, reference: str) -> None:
        failure, self.cancel_failure = self.cancel_failure, None  # only the first cancel fails
        if failure == "refused":
            raise BackendRejected(self.system, "not now", status=400)
        if failure == "gone away":
            self.details_down = True
            raise BackendUnavailable(self.system, "timeout")
        if reference not in self.booked:
            raise NotFound(self.system, "unknown")
        del self.booked[reference]
        if failure == "answer lost":
            raise BackendUnavailable(self.system, "timeout")


NINE = datetime(2026, 3, 3, 9, 0, tzinfo=AMSTERDAM)
TEN = datetime(2026, 3, 3, 10, 0, tzinfo=AMSTERDAM)


async def test_when_the_old_appointment_cannot_be_cancelled_the_new_booking_is_undone() -> None:
    ledger = Ledger()
    old = await ledger.book(ledger.product, ledger.location, NINE, ANNA)
    ledger.cancel_failure = "refused"

    with pytest.raises(BackendRejected):
        await ledger.reschedule(old.reference, TEN)

    assert list(ledger.booked.values()) == [old]


async def test_when_the_cancel_worked_but_its_answer_was_lost_the_new_appointment_counts() -> None:
    ledger = Ledger()
    old = await ledger.book(ledger.product, ledger.location, NINE, ANNA)
    ledger.cancel_failure = "answer lost"

    new = await ledger.reschedule(old.reference, TEN)

    assert list(ledger.booked.values()) == [new]
    assert new.start == TEN and new.customer == ANNA


async def test_when_the_outcome_cannot_be_known_both_appointments_are_kept() -> None:
    ledger = Ledger()
    old = await ledger.book(ledger.product, ledger.location, NINE, ANNA)
    ledger.cancel_failure = "gone away"

    with pytest.raises(BackendUnavailable):
        await ledger.reschedule(old.reference, TEN)

    assert {appointment.start for appointment in ledger.booked.values()} == {NINE, TEN}
