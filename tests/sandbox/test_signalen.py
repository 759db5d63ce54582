"""The Signalen stand-in over real HTTP on a loopback port: paths, status codes and DRF bodies.

Each test gets its own SQLite file (and one its own PostgreSQL database). Requests carry no
waits: every answer is awaited directly.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from sqlalchemy import func, select

from assistant.sandbox import signalen
from assistant.sandbox.db import engine_for
from tests.sandbox.serving import serving, sqlite_url

SIGNALS = "/signals/v1/public/signals/"
CATEGORIES = "/signals/v1/public/terms/categories/"
LAMP = "wegen-verkeer-straatmeubilair/sub_categories/lantaarnpaal-straatverlichting"


class Signalen:
    """A running stand-in (mounted under /signalen) and a session that talks to it."""

    def __init__(self, base: str, session: aiohttp.ClientSession, database_url: str = "") -> None:
        self.base = base.rstrip("/")
        self.mount = urlsplit(self.base).path  # "/signalen"
        self.session = session
        self.database_url = database_url

    def url(self, path: str) -> str:
        return self.base + path

    async def get(self, path_or_url: str) -> tuple[int, Any]:
        url = path_or_url if "://" in path_or_url else self.url(path_or_url)
        async with self.session.get(url) as response:
            return response.status, await response.json()

    async def post(self, body: Any, **headers: str) -> tuple[int, Any]:
        async with self.session.post(self.url(SIGNALS), json=body, headers=headers) as response:
            return response.status, await response.json()

    def melding(self, **changes: Any) -> dict[str, Any]:
        """A valid public create body, as in Signalen's create_initial_public.json."""
        body: dict[str, Any] = {
            "text": "Lantaarnpaal kapot",
            "incident_date_start": "2026-11-24T10:00:00+01:00",
            "location": {
                "geometrie": {"type": "Point", "coordinates": [4.90022563, 52.36768424]},
                "address": {"openbare_ruimte": "Amstel", "huisnummer": 1, "postcode": "1011PN"},
            },
            "category": {"sub_category": self.url(CATEGORIES + LAMP)},
            "reporter": {"email": "melder@example.com", "phone": "0612345678"},
        }
        body.update(changes)
        return body


@asynccontextmanager
async def running(database_url: str, **options: Any) -> AsyncIterator[Signalen]:
    app = signalen.create_app(database_url, **options)
    async with serving(app, "/signalen") as url, aiohttp.ClientSession() as session:
        yield Signalen(url, session, database_url)


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Signalen]:
    async with running(sqlite_url(tmp_path)) as running_sandbox:
        yield running_sandbox


async def test_a_filed_melding_is_open_and_can_be_read_back_by_its_uuid(sandbox: Signalen) -> None:
    status, created = await sandbox.post(sandbox.melding())

    assert status == 201
    assert created["_display"] == created["id_display"] == f"SIG-{created['id']}"
    assert created["status"] == {"state": "OPEN", "state_display": "Open"}
    assert created["incident_date_start"] == "2026-11-24T10:00:00+01:00"
    assert set(created) == {
        "_links",
        "_display",
        "id",
        "id_display",
        "signal_id",
        "status",
        "created_at",
        "updated_at",
        "incident_date_start",
        "incident_date_end",
    }
    assert "reporter" not in created  # the public view says nothing about people

    status, read = await sandbox.get(created["_links"]["self"]["href"])
    assert status == 200
    assert read == created


async def test_meldingen_are_kept_in_postgresql_across_restarts(postgres_url: str) -> None:
    async with running(postgres_url) as first:
        status, created = await first.post(first.melding())
        assert status == 201
    async with running(postgres_url) as second:  # seeds again: must not duplicate anything
        status, read = await second.get(SIGNALS + created["signal_id"])
        _, page = await second.get(CATEGORIES)

    assert status == 200
    assert read["id_display"] == created["id_display"]
    engine = engine_for(postgres_url)
    try:
        with engine.connect() as conn:
            categories = conn.execute(
                select(func.count()).select_from(signalen.category_table)
            ).scalar_one()
    finally:
        engine.dispose()
    assert page["count"] == len(signalen.SEED)
    assert categories == len(signalen.SEED) + sum(len(subs) for _, _, subs in signalen.SEED)


async def test_unknown_keys_are_refused_once_the_fields_are_valid(sandbox: Signalen) -> None:
    body = sandbox.melding(status={"state": "b"}, priority={"priority": "high"})
    status, errors = await sandbox.post(body)
    assert status == 400
    assert errors == {"non_field_errors": ["Extra properties present: priority, status"]}

    # DRF validates the fields first; the extra-key check runs only when they pass.
    status, errors = await sandbox.post({**body, "text": ""})
    assert status == 400
    assert errors == {"text": ["This field may not be blank."]}


async def test_a_text_over_3000_characters_is_refused(sandbox: Signalen) -> None:
    status, _ = await sandbox.post(sandbox.melding(text="x" * 3000))
    assert status == 201

    status, errors = await sandbox.post(sandbox.melding(text="x" * 3001))
    assert status == 400
    assert errors == {"text": ["Ensure this field has no more than 3000 characters."]}


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        (
            {},
            {"non_field_errors": ['Either the "sub_category" OR the "category_url" must be given']},
        ),
        (
            {"sub_category": "LAMP", "category_url": "LAMP"},
            {"non_field_errors": ['Only the "sub_category" OR "category_url" can be given']},
        ),
        (
            {"sub_category": CATEGORIES + "afval/sub_categories/graffiti"},
            {"sub_category": ["Invalid hyperlink - Object does not exist."]},
        ),
        (
            {"sub_category": CATEGORIES + "wegen-verkeer-straatmeubilair"},
            {"sub_category": ["Invalid hyperlink - Incorrect URL match."]},
        ),
        (
            {"category_url": "/signals/v1/public/signals/"},
            {"category_url": ["Invalid hyperlink - No URL match."]},
        ),
        (
            {"sub_category": 7},
            {"sub_category": ["Incorrect type. Expected URL string, received int."]},
        ),
    ],
)
async def test_a_category_must_be_exactly_one_known_sub_category_url(
    sandbox: Signalen, category: dict[str, Any], expected: dict[str, Any]
) -> None:
    lamp = sandbox.url(CATEGORIES + LAMP)
    # A path in the cases is a path inside the app: the stand-in is mounted under /signalen.
    category = {
        key: lamp if value == "LAMP" else sandbox.mount + value if _is_path(value) else value
        for key, value in category.items()
    }
    status, errors = await sandbox.post(sandbox.melding(category=category))
    assert status == 400
    assert errors == {"category": expected}


def _is_path(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("/")


async def test_a_category_url_is_resolved_by_its_path_whatever_the_host(sandbox: Signalen) -> None:
    elsewhere = "https://meldingen.example.nl" + sandbox.mount + CATEGORIES + LAMP
    status, _ = await sandbox.post(sandbox.melding(category={"category_url": elsewhere}))
    assert status == 201


@pytest.mark.parametrize(
    ("geometrie", "expected"),
    [
        (
            {"type": "Point", "coordinates": [52.36768424, 4.90022563]},  # lat, lon: swapped
            "The location coordinates (WS84) are not inside the bounding box we are accepting "
            "signals for.",
        ),
        (
            {"type": "Point", "coordinates": [2.35, 48.85]},  # Paris
            "The location coordinates (WS84) are not inside the bounding box we are accepting "
            "signals for.",
        ),
        (
            {"type": "Point", "coordinates": ["4.9"]},
            "Invalid format: string or unicode input unrecognized as GeoJSON, WKT EWKT or HEXEWKB.",
        ),
    ],
)
async def test_coordinates_must_be_lon_lat_inside_the_bounding_box(
    sandbox: Signalen, geometrie: Any, expected: str
) -> None:
    status, errors = await sandbox.post(sandbox.melding(location={"geometrie": geometrie}))
    assert status == 400
    assert errors == {"location": {"geometrie": [expected]}}


async def test_a_location_needs_a_point_and_may_be_wkt(sandbox: Signalen) -> None:
    status, errors = await sandbox.post(sandbox.melding(location={"address": {"huisnummer": 1}}))
    assert (status, errors) == (400, {"location": {"geometrie": ["This field is required."]}})

    wkt = {"geometrie": "POINT (4.893697 52.372840)"}
    status, _ = await sandbox.post(sandbox.melding(location=wkt))
    assert status == 201


async def test_the_bounding_box_is_configurable(tmp_path: Path) -> None:
    utrecht_only = (5.0, 52.0, 5.2, 52.2)
    database = sqlite_url(tmp_path)
    async with running(database, bounding_box=utrecht_only) as sandbox:
        status, _ = await sandbox.post(sandbox.melding())  # Amsterdam
        assert status == 400


async def test_a_reporter_phone_is_at_most_17_characters_and_empty_means_none(
    sandbox: Signalen,
) -> None:
    status, errors = await sandbox.post(sandbox.melding(reporter={"phone": "+31 6 1234 5678 90"}))
    assert status == 400
    assert errors == {"reporter": {"phone": ["Ensure this field has no more than 17 characters."]}}

    status, created = await sandbox.post(sandbox.melding(reporter={"email": "", "phone": ""}))
    assert status == 201
    engine = engine_for(sandbox.database_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                select(
                    signalen.signal_table.c.reporter_email, signalen.signal_table.c.reporter_phone
                ).where(signalen.signal_table.c.uuid == created["signal_id"])
            ).one()
    finally:
        engine.dispose()
    assert tuple(stored) == (None, None)


async def test_required_fields_are_named(sandbox: Signalen) -> None:
    status, errors = await sandbox.post({})
    assert status == 400
    assert errors == {
        field: ["This field is required."]
        for field in ("text", "incident_date_start", "category", "location", "reporter")
    }

    status, errors = await sandbox.post([sandbox.melding()])
    assert (status, errors) == (
        400,
        {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
    )


async def test_the_throttle_answers_429_per_client_address_and_counts_refused_posts(
    tmp_path: Path,
) -> None:
    async with running(sqlite_url(tmp_path), throttle_rate="2/hour") as sandbox:
        assert (await sandbox.post({}))[0] == 400  # refused, but counted
        status, created = await sandbox.post(sandbox.melding())
        assert status == 201

        async with sandbox.session.post(sandbox.url(SIGNALS), json=sandbox.melding()) as response:
            assert response.status == 429
            retry_after = int(response.headers["Retry-After"])
            assert 3500 < retry_after <= 3600
            assert await response.json() == {
                "detail": f"Request was throttled. Expected available in {retry_after} seconds."
            }

        # Another client address has its own budget; reading is never throttled.
        other = {"X-Forwarded-For": "203.0.113.7"}
        assert (await sandbox.post(sandbox.melding(), **other))[0] == 201
        assert (await sandbox.get(SIGNALS + created["signal_id"]))[0] == 200


def test_a_throttle_rate_that_cannot_be_read_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="60/hour"):
        signalen.create_app(sqlite_url(tmp_path), throttle_rate="lots")


async def test_a_handled_melding_reads_as_closed_and_other_states_as_open(tmp_path: Path) -> None:
    database = sqlite_url(tmp_path)
    async with running(database) as sandbox:
        _, created = await sandbox.post(sandbox.melding())
        for state, public in [("b", ("OPEN", "Open")), ("o", ("CLOSED", "Gesloten"))]:
            signalen.handle_signal(database, created["signal_id"], state)
            _, read = await sandbox.get(SIGNALS + created["signal_id"])
            assert (read["status"]["state"], read["status"]["state_display"]) == public

    with pytest.raises(ValueError, match="unknown Signalen state"):
        signalen.handle_signal(database, created["signal_id"], "archived")
    with pytest.raises(LookupError):
        signalen.handle_signal(database, "00000000-0000-0000-0000-000000000000", "o")


async def test_an_unknown_melding_is_404_in_drf_shape(sandbox: Signalen) -> None:
    for key in ("00000000-0000-0000-0000-000000000000", "SIG-1"):
        assert await sandbox.get(SIGNALS + key) == (404, {"detail": "Not found."})


async def test_categories_are_listed_with_their_sub_categories_and_have_details(
    sandbox: Signalen,
) -> None:
    status, page = await sandbox.get(CATEGORIES)
    assert status == 200
    assert page["_links"]["next"] == {"href": None}
    assert page["count"] == len(page["results"]) == len(signalen.SEED)
    roads = next(c for c in page["results"] if c["slug"] == "wegen-verkeer-straatmeubilair")
    lamp = next(s for s in roads["sub_categories"] if s["slug"] == "lantaarnpaal-straatverlichting")
    assert lamp["_links"]["self"]["href"] == sandbox.url(CATEGORIES + LAMP)
    assert {"name", "slug", "is_active", "handling", "public_name"} <= set(lamp)

    assert await sandbox.get(CATEGORIES + LAMP) == (200, lamp)
    assert await sandbox.get(roads["_links"]["self"]["href"]) == (200, roads)
    assert (await sandbox.get(CATEGORIES + "graffiti"))[0] == 404
    assert (await sandbox.get(CATEGORIES + "afval/sub_categories/graffiti"))[0] == 404


async def test_today_pins_the_date_the_server_writes(tmp_path: Path) -> None:
    database = sqlite_url(tmp_path)
    async with running(database, today=date(2031, 2, 3)) as sandbox:
        _, created = await sandbox.post(sandbox.melding())
    assert created["created_at"].startswith("2031-02-03T")


async def test_every_url_carries_the_mount_prefix_and_the_requests_host_and_port(
    sandbox: Signalen,
) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/signalen", sandbox.base)
    _, page = await sandbox.get(CATEGORIES)
    hrefs = [s["_links"]["self"]["href"] for c in page["results"] for s in c["sub_categories"]]
    assert sandbox.base + CATEGORIES + LAMP in hrefs

    status, created = await sandbox.post(sandbox.melding())
    assert status == 201
    assert created["_links"]["self"]["href"].startswith(sandbox.base + SIGNALS)
    assert (await sandbox.get(created["_links"]["self"]["href"]))[0] == 200

    # A category URL outside the mount prefix names nothing in this app.
    outside = sandbox.base.removesuffix("/signalen") + CATEGORIES + LAMP
    status, errors = await sandbox.post(sandbox.melding(category={"sub_category": outside}))
    assert status == 400
    assert errors == {"category": {"sub_category": ["Invalid hyperlink - No URL match."]}}
