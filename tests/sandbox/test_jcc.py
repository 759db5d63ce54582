"""The JCC sandbox on the wire: paths, OAuth2 token flow, status codes and bodies as JCC's.

Spoken to with plain aiohttp (not our client), mounted under /jcc/ on a loopback port, on an
SQLite file and, where the database matters (concurrent bookings), on PostgreSQL as well.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assistant.sandbox.jcc import create_app
from tests.sandbox.serving import TODAY, serving, sqlite_url

CLIENT_ID, SECRET = "assistent", "geheim"
TOKEN_FORM = {"grant_type": "client_credentials", "scope": "warp-api"}


@asynccontextmanager
async def jcc_at(database_url: str, **options: Any) -> AsyncIterator[str]:
    app = create_app(database_url, credentials={CLIENT_ID: SECRET}, today=TODAY, **options)
    async with serving(app, "/jcc") as url:
        yield url


@pytest.fixture
async def base(tmp_path: Path) -> AsyncIterator[str]:
    async with jcc_at(sqlite_url(tmp_path)) as url:
        yield url


async def bearer(http: aiohttp.ClientSession, base: str) -> dict[str, str]:
    auth = aiohttp.BasicAuth(CLIENT_ID, SECRET)
    async with http.post(base + "connect/token", data=TOKEN_FORM, auth=auth) as response:
        assert response.status == 200
        token = (await response.json())["access_token"]
    return {"Authorization": f"Bearer {token}", "language": "nl"}


async def get(http: aiohttp.ClientSession, url: str, headers: dict[str, str], **params: Any) -> Any:
    async with http.get(url, headers=headers, params=params) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def ids(http: aiohttp.ClientSession, base: str, headers: dict[str, str]) -> tuple[str, str]:
    activity = (await get(http, base + "activity/listforappointment", headers))[0]["id"]
    location = (await get(http, base + "location", headers))[0]["id"]
    return activity, location


def booking(activity: str, location: str, start: str, end: str, last_name: str) -> dict[str, Any]:
    return {
        "id": None,
        "activityList": [{"activityId": activity, "amount": 1}],
        "customerList": [
            {"isMainCustomer": True, "gender": 0, "lastName": last_name, "emailAddress": "a@b.nl"}
        ],
        "fromDateTime": start,
        "toDateTime": end,
        "locationId": location,
        "message": "",
        "fieldList": None,
    }


async def test_token_endpoint_issues_a_new_opaque_bearer_token_each_time(
    http: aiohttp.ClientSession, base: str
) -> None:
    """Credentials may come as HTTP Basic (what our client sends) or in the form body."""
    async with http.post(
        base + "connect/token", data={**TOKEN_FORM, "client_id": CLIENT_ID, "client_secret": SECRET}
    ) as response:
        answer = await response.json()
    assert response.status == 200
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3600
    assert len(answer["access_token"]) >= 32 and CLIENT_ID not in answer["access_token"]
    other = await bearer(http, base)
    assert other["Authorization"] != f"Bearer {answer['access_token']}"
    for headers in ({"Authorization": f"Bearer {answer['access_token']}"}, other):
        assert (await get(http, base + "version", headers))["warpApiVersion"]


@pytest.mark.parametrize(
    ("form", "auth", "error"),
    [
        (TOKEN_FORM, aiohttp.BasicAuth(CLIENT_ID, "fout"), "invalid_client"),
        (TOKEN_FORM, aiohttp.BasicAuth("onbekend", SECRET), "invalid_client"),
        (TOKEN_FORM, None, "invalid_client"),
        (
            {**TOKEN_FORM, "grant_type": "password"},
            aiohttp.BasicAuth(CLIENT_ID, SECRET),
            "unsupported_grant_type",
        ),
        ({**TOKEN_FORM, "scope": "openid"}, aiohttp.BasicAuth(CLIENT_ID, SECRET), "invalid_scope"),
    ],
)
async def test_token_endpoint_refuses_wrong_credentials_grant_or_scope(
    http: aiohttp.ClientSession,
    base: str,
    form: dict[str, str],
    auth: aiohttp.BasicAuth | None,
    error: str,
) -> None:
    async with http.post(base + "connect/token", data=form, auth=auth) as response:
        assert response.status == 400
        assert await response.json() == {"error": error}


@pytest.mark.parametrize("authorization", [None, "Bearer verzonnen", "Basic YTpi"])
async def test_calls_without_a_valid_token_answer_401(
    http: aiohttp.ClientSession, base: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with http.get(base + "activity/listforappointment", headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_an_expired_token_answers_401(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    async with jcc_at(sqlite_url(tmp_path), token_lifetime=0) as url:
        headers = await bearer(http, url)
        async with http.get(url + "version", headers=headers) as response:
            assert response.status == 401


async def test_available_times_are_naive_slots_on_office_days(
    http: aiohttp.ClientSession, base: str
) -> None:
    headers = await bearer(http, base)
    activity, location = await ids(http, base, headers)
    params = {"locationId": location, "activityId": activity, "amount": "1"}

    week = await get(
        http,
        base + "appointment/availabletimelist",
        headers,
        fromDate="2026-04-01",
        toDate="2026-04-08",
        **params,
    )
    times = [datetime.fromisoformat(raw) for raw in week["availableTimesList"]]
    assert all(moment.tzinfo is None for moment in times)
    assert {moment.date() for moment in times} == {
        date(2026, 4, 1),
        date(2026, 4, 2),
        date(2026, 4, 7),
    }
    assert times[0] == datetime(2026, 4, 1, 9, 0) and times[22] == datetime(2026, 4, 1, 16, 20)

    same_day = await get(
        http,
        base + "appointment/availabletimelist",
        headers,
        fromDate="2026-04-01",
        toDate="2026-04-01",
        **params,
    )
    assert same_day["availableTimesList"] == []

    window = await get(http, base + "activity/appointmentdaterange", headers, activityId=activity)
    assert window == {"minDate": "2026-03-03T00:00:00", "maxDate": "2026-04-13T00:00:00"}
    minutes = await get(
        http,
        base + "appointment/calculateduration",
        headers,
        activityId=activity,
        amount="1",
        dateTime="2026-04-01",
    )
    assert minutes == 20


async def test_a_booking_round_trip_and_its_404_after_cancelling(
    http: aiohttp.ClientSession, base: str
) -> None:
    headers = await bearer(http, base)
    activity, location = await ids(http, base, headers)
    body = booking(
        activity, location, "2026-03-30T10:00:00+02:00", "2026-03-30T10:20:00+02:00", "Jansen"
    )

    async with http.post(base + "appointment", json=body, headers=headers) as response:
        created = await response.json()
    assert response.status == 200 and created["acknowledgeIsSuccess"] is True

    found = await get(http, base + "appointment", headers, id=created["id"])
    assert found["startDateTime"] == "2026-03-30T10:00:00"  # naive local time, as JCC answers
    assert found["customerList"][0]["lastName"] == "Jansen"
    assert found["activityList"][0]["activity"]["id"] == activity

    async with http.delete(
        base + "appointment", params={"id": created["id"]}, headers=headers
    ) as response:
        assert (response.status, await response.json()) == (200, {"id": created["id"]})
    for method in ("GET", "DELETE"):
        async with http.request(
            method, base + "appointment", params={"id": created["id"]}, headers=headers
        ) as response:
            problem = await response.json()
            assert response.status == 404 and response.content_type == "application/problem+json"
            assert problem["status"] == 404 and isinstance(problem["code"], int)


async def test_an_invalid_booking_is_refused_with_code_and_validate_errors(
    http: aiohttp.ClientSession, base: str
) -> None:
    headers = await bearer(http, base)
    activity, location = await ids(http, base, headers)
    too_long = booking(activity, location, "2026-03-30T10:00:00", "2026-03-30T11:00:00", "Jansen")

    async with http.post(base + "appointment", json=too_long, headers=headers) as response:
        answer = await response.json()
    assert response.status == 400
    assert answer["acknowledgeIsSuccess"] is False
    assert isinstance(answer["code"], int) and answer["message"] and answer["validateErrors"]


@pytest.mark.parametrize(
    "start", ["2026-03-30T10:10:00", "2026-03-28T10:00:00", "2026-04-06T10:00:00"]
)
async def test_times_off_the_grid_or_on_closed_days_are_not_bookable(
    http: aiohttp.ClientSession, base: str, start: str
) -> None:
    headers = await bearer(http, base)
    activity, location = await ids(http, base, headers)
    end = (datetime.fromisoformat(start) + timedelta(minutes=20)).isoformat()

    async with http.post(
        base + "appointment", json=booking(activity, location, start, end, "X"), headers=headers
    ) as response:
        answer = await response.json()
    assert (response.status, answer["acknowledgeIsSuccess"], answer["code"]) == (200, False, 1001)


async def test_concurrent_bookings_of_one_slot_give_exactly_one_appointment(
    http: aiohttp.ClientSession, database_url: str
) -> None:
    async with jcc_at(database_url) as base:
        headers = await bearer(http, base)
        activity, location = await ids(http, base, headers)

        async def attempt(n: int) -> dict[str, Any]:
            body = booking(
                activity, location, "2026-03-31T11:00:00", "2026-03-31T11:20:00", f"Nr{n}"
            )
            async with http.post(base + "appointment", json=body, headers=headers) as response:
                return await response.json()

        answers = await asyncio.gather(*(attempt(n) for n in range(8)))

    assert sum(answer["acknowledgeIsSuccess"] for answer in answers) == 1
    assert {answer.get("code") for answer in answers if not answer["acknowledgeIsSuccess"]} == {
        1001
    }


async def test_seeding_twice_keeps_one_copy_of_everything(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    database = sqlite_url(tmp_path)
    async with jcc_at(database):
        pass
    async with jcc_at(database) as base:
        headers = await bearer(http, base)
        assert len(await get(http, base + "activity/listforappointment", headers)) == 6
        offices = await get(http, base + "location", headers)
    assert [office["description"] for office in offices] == ["Stadskantoor", "Wijkbureau Overvecht"]
    assert offices[0]["address"]["postalCode"] == "3511 BK"
