"""The Qmatic sandbox on the wire: paths with matrix parameters, API key, envelopes and errors.

Spoken to with plain aiohttp (not our client), mounted under /qmatic/ on a loopback port, on an
SQLite file and, where the database matters (concurrent bookings), on PostgreSQL as well.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assistant.sandbox.qmatic import create_app, matrix_parameters
from tests.sandbox.serving import TODAY, serving, sqlite_url

KEY = {"X-Api-Key": "zwolle-sleutel"}


@asynccontextmanager
async def qmatic_at(database_url: str) -> AsyncIterator[str]:
    app = create_app(database_url, api_keys={KEY["X-Api-Key"], "tweede-sleutel"}, today=TODAY)
    async with serving(app, "/qmatic") as url:
        yield url


@pytest.fixture
async def base(tmp_path: Path) -> AsyncIterator[str]:
    async with qmatic_at(sqlite_url(tmp_path)) as url:
        yield url


async def get(http: aiohttp.ClientSession, url: str, key: str = KEY["X-Api-Key"]) -> Any:
    async with http.get(url, headers={"X-Api-Key": key}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def ids(http: aiohttp.ClientSession, base: str) -> tuple[str, str]:
    service = (await get(http, base + "v1/services"))["serviceList"][0]["publicId"]
    branch = (await get(http, base + "v1/branches"))["branchList"][0]["publicId"]
    return service, branch


def booking(service: str, last_name: str) -> dict[str, Any]:
    customer = {"firstName": "Test", "lastName": last_name, "email": "t@example.nl"}
    return {"title": "Test", "customers": [customer], "services": [{"publicId": service}]}


@pytest.mark.parametrize("key", [None, "geraden", ""])
async def test_calls_without_a_known_api_key_answer_401(
    http: aiohttp.ClientSession, base: str, key: str | None
) -> None:
    headers = {} if key is None else {"X-Api-Key": key}
    async with http.get(base + "v1/services", headers=headers) as response:
        assert response.status == 401


async def test_every_configured_key_is_accepted(http: aiohttp.ClientSession, base: str) -> None:
    branches = await get(http, base + "v1/branches", key="tweede-sleutel")
    assert len(branches["branchList"]) == 2


async def test_lists_come_in_qmatics_envelope(http: aiohttp.ClientSession, base: str) -> None:
    services = await get(http, base + "v1/services")
    assert services["notifications"] == []
    assert services["meta"]["totalResults"] == len(services["serviceList"]) == 6
    assert {"publicId", "name", "duration", "active", "publicEnabled"} <= set(
        services["serviceList"][0]
    )

    service, branch = await ids(http, base)
    offered_here = await get(http, base + f"v1/branches/{branch}/services")
    assert len(offered_here["serviceList"]) == 6
    branches = (await get(http, base + f"v1/services/{service}/branches"))["branchList"]
    assert branches[0]["addressLine1"] == "Lübeckplein 2" and branches[0]["addressZip"] == "8017 JZ"
    detail = await get(http, base + f"v1/branches/{branch}")
    assert detail["branch"]["timeZone"] == "Europe/Amsterdam"


async def test_dates_and_times_take_matrix_parameters(
    http: aiohttp.ClientSession, base: str
) -> None:
    service, branch = await ids(http, base)

    dates = (await get(http, base + f"v2/branches/{branch}/dates;servicePublicId={service}"))[
        "dates"
    ]
    assert dates[0] == "2026-03-03T00:00:00"
    days = [datetime.fromisoformat(raw).date() for raw in dates]
    assert all(day.weekday() < 5 for day in days) and date(2026, 4, 6) not in days

    with_customers = (
        f"v2/branches/{branch}/dates/2026-03-04/times;servicePublicId={service};numberOfCustomers=1"
    )
    times = (await get(http, base + with_customers))["times"]
    assert times[:3] == ["08:30", "08:45", "09:00"] and times[-1] == "16:15"
    saturday = f"v2/branches/{branch}/dates/2026-03-07/times;servicePublicId={service}"
    assert (await get(http, base + saturday))["times"] == []


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("v2/branches/{branch}/dates", 400),
        ("v2/branches/{branch}/dates;servicePublicId=onbekend", 404),
        ("v2/branches/onbekend/dates;servicePublicId={service}", 404),
        ("v1/appointments/onbekend", 404),
    ],
)
async def test_missing_or_unknown_things_are_client_errors(
    http: aiohttp.ClientSession, base: str, path: str, status: int
) -> None:
    service, branch = await ids(http, base)
    async with http.get(
        base + path.format(service=service, branch=branch), headers=KEY
    ) as response:
        assert response.status == status
        assert (await response.json())["msg"]


async def test_a_malformed_date_is_a_500_with_the_reason_in_error_message(
    http: aiohttp.ClientSession, base: str
) -> None:
    service, branch = await ids(http, base)
    async with http.get(
        base + f"v2/branches/{branch}/dates/2026-02-30/times;servicePublicId={service}",
        headers=KEY,
    ) as response:
        assert response.status == 500
        assert response.headers["error_message"] == "ValueError: day is out of range for month"


async def test_booking_reading_and_deleting_an_appointment(
    http: aiohttp.ClientSession, base: str
) -> None:
    service, branch = await ids(http, base)

    async with http.post(
        base + f"v2/branches/{branch}/dates/2026-03-30/times/10:15/book",
        json=booking(service, "Jansen"),
        headers=KEY,
    ) as response:
        booked = await response.json()
    assert response.status == 200
    assert booked["start"] == "2026-03-30T08:15:00.000+0000"  # UTC, as booking answers in the mocks
    assert booked["end"] == "2026-03-30T08:30:00.000+0000"

    found = await get(http, base + f"v1/appointments/{booked['publicId']}")
    assert found["meta"]["totalResults"] == 1
    appointment = found["appointment"]
    assert appointment["start"] == "2026-03-30T08:15:00.000+00:00"
    assert datetime.fromisoformat(appointment["start"]) == datetime(
        2026, 3, 30, 8, 15, tzinfo=timezone.utc
    )
    assert appointment["customers"][0]["lastName"] == "Jansen"
    assert appointment["services"][0]["publicId"] == service
    assert appointment["branch"]["publicId"] == branch

    taken = f"v2/branches/{branch}/dates/2026-03-30/times;servicePublicId={service}"
    assert "10:15" not in (await get(http, base + taken))["times"]

    async with http.delete(base + f"v1/appointments/{booked['publicId']}", headers=KEY) as response:
        assert response.status == 204
    async with http.delete(base + f"v1/appointments/{booked['publicId']}", headers=KEY) as response:
        assert response.status == 404
    assert "10:15" in (await get(http, base + taken))["times"]


@pytest.mark.parametrize(
    ("day", "moment"), [("2026-03-30", "10:20"), ("2026-04-03", "10:15"), ("2026-03-02", "10:15")]
)
async def test_times_off_the_grid_closed_days_and_today_are_not_bookable(
    http: aiohttp.ClientSession, base: str, day: str, moment: str
) -> None:
    service, branch = await ids(http, base)
    async with http.post(
        base + f"v2/branches/{branch}/dates/{day}/times/{moment}/book",
        json=booking(service, "X"),
        headers=KEY,
    ) as response:
        assert response.status == 409
        assert response.headers["error_message"]


async def test_a_booking_without_customers_is_refused(
    http: aiohttp.ClientSession, base: str
) -> None:
    service, branch = await ids(http, base)
    body = {"title": "Test", "customers": [], "services": [{"publicId": service}]}
    async with http.post(
        base + f"v2/branches/{branch}/dates/2026-03-30/times/10:15/book", json=body, headers=KEY
    ) as response:
        assert response.status == 400


async def test_concurrent_bookings_of_one_slot_give_exactly_one_appointment(
    http: aiohttp.ClientSession, database_url: str
) -> None:
    async with qmatic_at(database_url) as base:
        service, branch = await ids(http, base)
        path = base + f"v2/branches/{branch}/dates/2026-03-31/times/11:00/book"

        async def attempt(n: int) -> int:
            async with http.post(path, json=booking(service, f"Nr{n}"), headers=KEY) as response:
                return response.status

        statuses = await asyncio.gather(*(attempt(n) for n in range(8)))

    assert sorted(statuses) == [200] + [409] * 7


async def test_seeding_twice_keeps_one_copy_of_everything(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    database = sqlite_url(tmp_path)
    async with qmatic_at(database):
        pass
    async with qmatic_at(database) as base:
        assert len((await get(http, base + "v1/services"))["serviceList"]) == 6
        branches = (await get(http, base + "v1/branches"))["branchList"]
    assert [branch["addressCity"] for branch in branches] == ["Zwolle", "Zwolle"]


def test_matrix_parameters_repeat_and_are_percent_decoded() -> None:
    assert matrix_parameters(";servicePublicId=a;servicePublicId=b%3Bc;numberOfCustomers=2") == {
        "servicePublicId": ["a", "b;c"],
        "numberOfCustomers": ["2"],
    }
    assert matrix_parameters("") == {}
