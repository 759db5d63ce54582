"""ReportService and SignalenClient over the wire: against the Signalen stand-in (SQLite and
PostgreSQL), a closed port, a server that never answers and a server scripted for edge cases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from assistant.backends.errors import BackendRejected, BackendUnavailable, NotFound
from assistant.backends.signalen.client import SignalenClient
from assistant.backends.signalen.reports import (
    CATEGORY_SECONDS,
    Report,
    Reporter,
    ReportInvalid,
    ReportLocation,
    ReportService,
    ReportState,
    choose_category,
)
from assistant.sandbox import signalen
from assistant.sandbox.db import engine_for
from tests.sandbox.serving import closed_port_url, serving, sqlite_url

DAM = ReportLocation(street="Dam", house_number="1", city="Amsterdam", lon=4.8932, lat=52.3731)
CITY_HALL = (5.1214, 52.0907)  # Utrecht's Stadskantoor, as a municipality would configure it
FIXED_NOW = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)


@asynccontextmanager
async def signalen_at(database_url: str, **options: Any) -> AsyncIterator[SignalenClient]:
    """A client of the Signalen stand-in under /signalen on `database_url`."""
    app = signalen.create_app(database_url, **options)
    async with serving(app, "/signalen") as url, SignalenClient(url) as client:
        yield client


@pytest.fixture
def database(tmp_path: Path) -> str:
    return sqlite_url(tmp_path)


def stored_signal(database_url: str, signal_id: str) -> Any:
    engine = engine_for(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(signalen.signal_table, signalen.category_table.c.slug.label("category"))
                .join(signalen.category_table)
                .where(signalen.signal_table.c.uuid == signal_id)
            ).one()
    finally:
        engine.dispose()


async def test_a_filed_melding_is_confirmed_open_and_its_state_follows_the_back_office(
    database: str,
) -> None:
    async with signalen_at(database) as client:
        service = ReportService(client)
        report = await service.file(
            "De lantaarnpaal voor Dam 1 brandt niet meer.",
            DAM,
            choose_category("De lantaarnpaal brandt niet"),
            Reporter(email="melder@example.com", phone="06 12 34 56 78"),
        )

        assert isinstance(report, Report)
        assert report.number == "SIG-1"
        assert report.state is ReportState.OPEN
        assert report.created_at.tzinfo is not None
        assert await service.state(report.id) == report

        signalen.handle_signal(database, report.id, "o")  # afgehandeld by the back office
        assert (await service.state(report.id)).state is ReportState.CLOSED

    stored = stored_signal(database, report.id)
    assert stored.category == "lantaarnpaal-straatverlichting"
    assert (stored.reporter_email, stored.reporter_phone) == ("melder@example.com", "0612345678")
    assert (stored.lon, stored.lat) == (4.8932, 52.3731)


async def test_an_address_only_melding_is_filed_at_the_fallback_point_in_postgresql(
    postgres_url: str,
) -> None:
    where = ReportLocation(
        street="Oudegracht", house_number="12a", postcode="3511 ar", city="Utrecht"
    )
    async with signalen_at(postgres_url) as client:
        service = ReportService(client, fallback_point=CITY_HALL, clock=lambda: FIXED_NOW)
        report = await service.file("Stoeptegels liggen los", where, "bestrating")

    stored = stored_signal(postgres_url, report.id)
    assert (stored.lon, stored.lat) == CITY_HALL
    assert stored.address == {
        "openbare_ruimte": "Oudegracht",
        "huisnummer": 12,
        "huisletter": "A",
        "postcode": "3511AR",
        "woonplaats": "Utrecht",
    }
    assert stored.category == "bestrating"
    assert stored.incident_date_start == "2026-11-24T11:00:00+01:00"
    assert (stored.reporter_email, stored.reporter_phone) == (None, None)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("De lantaarnpaal voor mijn huis is kapot", "lantaarnpaal-straatverlichting"),
        ("'s Avonds donker: de straatverlichting doet het niet", "lantaarnpaal-straatverlichting"),
        ("Er liggen losse stoeptegels voor de bakker", "bestrating"),
        ("Er staat al dagen afval naast de container", "veeg-zwerfvuil"),
        ("Veel zwerfvuil in het park", "veeg-zwerfvuil"),
        ("Een omgevallen boom blokkeert het fietspad", "boom"),
        ("De schommel in de speeltuin is stuk", "speelplaats"),
        ("Ik zie ratten bij de vuilnisbakken", "ratten"),
        ("Er staat een fietswrak naast de container", "fietswrak"),
        ("Al weken een autowrak in onze straat", "auto-scooter-bromfietswrak"),
        ("De slagboom bij de parkeerplaats staat open", "overig"),
        ("Ik wil iets melden over de markt", "overig"),
        ("", "overig"),
    ],
)
def test_choose_category_picks_a_sub_category_from_dutch_text(text: str, slug: str) -> None:
    assert choose_category(text) == slug


@pytest.mark.parametrize(
    ("text", "location", "reporter", "field"),
    [
        ("x" * 3001, DAM, None, "text"),
        ("   ", DAM, None, "text"),
        ("Kapotte lamp", DAM, Reporter(phone="+31 (0)6 1234 5678 99999"), "phone"),
        ("Kapotte lamp", ReportLocation(street="Dam", house_number="1"), None, "location"),
    ],
)
async def test_what_signalen_cannot_accept_is_refused_before_anything_is_sent(
    text: str, location: ReportLocation, reporter: Reporter | None, field: str
) -> None:
    # Nothing listens on this port: a request would fail with BackendUnavailable instead.
    async with SignalenClient(closed_port_url()) as client:
        with pytest.raises(ReportInvalid) as refused:
            await ReportService(client).file(text, location, "overig", reporter)
    assert refused.value.field == field


def test_a_location_needs_coordinates_or_a_street_and_both_coordinates() -> None:
    with pytest.raises(ReportInvalid, match="coordinates or a street"):
        ReportLocation(postcode="3511AR")
    with pytest.raises(ReportInvalid, match="both lon and lat"):
        ReportLocation(street="Dam", lon=4.89)


async def test_the_longest_text_and_a_phone_of_17_characters_are_accepted(database: str) -> None:
    async with signalen_at(database) as client:
        report = await ReportService(client).file(
            "x" * 3000, DAM, "overig", Reporter(phone="0031 6 1234-5678 9012")
        )
    stored = stored_signal(database, report.id)
    assert (len(stored.text), stored.reporter_phone) == (3000, "00316123456789012")


async def test_a_point_outside_the_bounding_box_is_rejected_naming_the_field(
    database: str,
) -> None:
    paris = ReportLocation(lon=2.35, lat=48.85)
    async with signalen_at(database) as client:
        with pytest.raises(BackendRejected) as rejected:
            await ReportService(client).file("Kapotte lamp", paris, "overig")
    assert (rejected.value.status, rejected.value.code) == (400, "location.geometrie")


async def test_a_throttled_melding_is_rejected_with_code_throttled(database: str) -> None:
    async with signalen_at(database, throttle_rate="1/hour") as client:
        service = ReportService(client)
        await service.file("Kapotte lamp", DAM, "lantaarnpaal-straatverlichting")
        with pytest.raises(BackendRejected) as rejected:
            await service.file("Nog een kapotte lamp", DAM, "lantaarnpaal-straatverlichting")
    assert (rejected.value.status, rejected.value.code) == (429, "throttled")


async def test_a_category_this_signalen_does_not_offer_is_filed_under_overig(
    database: str,
) -> None:
    async with signalen_at(database) as client:
        service = ReportService(client)
        graffiti = await service.file("Graffiti op de brug", DAM, "graffiti")
        explicit = await service.file("Boomtak", DAM, "openbaar-groen-en-water/boom")
    assert stored_signal(database, graffiti.id).category == "overig"
    assert stored_signal(database, explicit.id).category == "boom"


async def test_the_categories_of_the_server_are_listed_with_their_urls(database: str) -> None:
    async with signalen_at(database) as client:
        mains = await client.list_categories()
        lamp = await client.get_sub_category(
            "wegen-verkeer-straatmeubilair", "lantaarnpaal-straatverlichting"
        )
    assert {main["slug"] for main in mains} == {slug for slug, _, _ in signalen.SEED}
    assert lamp["_links"]["self"]["href"] == client.sub_category_url(
        "wegen-verkeer-straatmeubilair", "lantaarnpaal-straatverlichting"
    )


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[str, list[Any]]]:
    """A Signalen whose category list fails and whose meldingen have a state we do not know."""
    received: list[Any] = []
    melding = {
        "_links": {"self": {"href": None}},
        "_display": "SIG-77",
        "id": 77,
        "id_display": "SIG-77",
        "signal_id": "0b9c3c9e-8f3b-4c1e-9d61-0c7f2b1a5e11",
        "status": {"state": "ARCHIVED", "state_display": "Gearchiveerd"},
        "created_at": "2026-11-24T10:00:00.123456+01:00",
        "updated_at": "2026-11-24T10:00:00.123456+01:00",
        "incident_date_start": "2026-11-24T10:00:00+01:00",
        "incident_date_end": None,
    }

    async def categories(_: web.Request) -> web.Response:
        return web.json_response({"detail": "down for maintenance"}, status=503)

    async def create(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response(melding, status=201)

    async def read(request: web.Request) -> web.Response:
        known = request.match_info["id"] == melding["signal_id"]
        return web.json_response(melding if known else {"no": "shape"})

    app = web.Application()
    app.router.add_get("/signals/v1/public/terms/categories/", categories)
    app.router.add_post("/signals/v1/public/signals/", create)
    app.router.add_get("/signals/v1/public/signals/{id}", read)
    async with serving(app) as url:
        yield url, received


async def test_unreadable_categories_use_the_built_in_table_and_new_states_read_unknown(
    scripted: tuple[str, list[Any]],
) -> None:
    base_url, received = scripted
    async with SignalenClient(base_url) as client:
        report = await ReportService(client).file("Ratten bij de container", DAM, "ratten")

    ratten = "signals/v1/public/terms/categories/overlast-van-dieren/sub_categories/ratten"
    assert received[0]["category"] == {"sub_category": base_url + ratten}
    assert report.number == "SIG-77"
    assert report.state is ReportState.UNKNOWN


async def test_an_answer_without_the_public_shape_is_no_confirmation(
    scripted: tuple[str, list[Any]],
) -> None:
    base_url, _ = scripted
    async with SignalenClient(base_url) as client:
        with pytest.raises(BackendUnavailable, match="unexpected shape"):
            await ReportService(client).state("11111111-1111-1111-1111-111111111111")


async def test_an_unknown_or_malformed_melding_id_is_not_found(database: str) -> None:
    async with signalen_at(database) as client:
        service = ReportService(client)
        with pytest.raises(NotFound):
            await service.state("00000000-0000-0000-0000-000000000000")
        with pytest.raises(NotFound):
            await service.state("SIG-1/../../admin")


async def test_a_server_that_is_down_is_backend_unavailable() -> None:
    async with SignalenClient(closed_port_url()) as client:
        service = ReportService(client)
        with pytest.raises(BackendUnavailable):
            await service.file("Kapotte lamp", DAM, "lantaarnpaal-straatverlichting")
        with pytest.raises(BackendUnavailable):
            await service.state("00000000-0000-0000-0000-000000000000")


async def test_a_server_that_does_not_answer_in_time_is_backend_unavailable(
    silent_url: str,
) -> None:
    async with SignalenClient(silent_url, timeout=0.2) as client:
        service = ReportService(client)
        with pytest.raises(BackendUnavailable, match="TimeoutError"):
            await service.file("Kapotte lamp", DAM, "lantaarnpaal-straatverlichting")
        with pytest.raises(BackendUnavailable, match="TimeoutError"):
            await service.state("00000000-0000-0000-0000-000000000000")


async def test_a_postcode_and_house_number_without_a_street_are_an_address(database: str) -> None:
    where = ReportLocation(house_number="12", postcode="3511 ab")
    async with signalen_at(database) as client:
        service = ReportService(client, fallback_point=CITY_HALL)
        report = await service.file("Losse stoeptegel", where, "bestrating")
    assert stored_signal(database, report.id).address == {"huisnummer": 12, "postcode": "3511AB"}
    with pytest.raises(ReportInvalid, match="postcode with a house number"):
        ReportLocation(postcode="3511AB", house_number="geen")


async def test_the_category_list_read_at_the_start_makes_a_filing_one_call(database: str) -> None:
    async with signalen_at(database) as client:
        service = ReportService(client)
        await service.ensure_available()
        calls: list[str] = []
        listing = client.list_categories

        async def counted() -> Any:
            calls.append("categories")
            return await listing()

        client.list_categories = counted  # type: ignore[method-assign]
        await service.file("Kapotte lamp", DAM, "lantaarnpaal-straatverlichting")
    assert calls == []


async def test_a_signalen_that_does_not_answer_is_unavailable_at_the_start(
    silent_url: str,
) -> None:
    async with SignalenClient(silent_url, timeout=0.3) as client:
        with pytest.raises(BackendUnavailable):
            await ReportService(client).ensure_available()


async def test_a_filing_does_not_wait_twice_for_a_signalen_that_does_not_answer(
    silent_url: str,
) -> None:
    started = asyncio.get_running_loop().time()
    async with SignalenClient(silent_url) as client:
        with pytest.raises(BackendUnavailable, match="no category list"):
            await ReportService(client).file("Kapotte lamp", DAM, "overig")
    assert asyncio.get_running_loop().time() - started < CATEGORY_SECONDS + 0.5


async def test_a_refused_category_list_at_the_start_is_no_unavailability() -> None:
    async def refuse(_: web.Request) -> web.Response:
        return web.json_response({"detail": "Authenticatie vereist"}, status=401)

    app = web.Application()
    app.router.add_get("/signals/v1/public/terms/categories/", refuse)
    async with serving(app) as url, SignalenClient(url) as client:
        await ReportService(client).ensure_available()
