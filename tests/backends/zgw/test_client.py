"""The ZGW client and CaseService against the Open Zaak stand-in, over real HTTP.

The stand-in is mounted under /zgw, as the runner mounts it, so every URL the client follows
was built by the server. A few tests use tiny servers of their own to see exactly what the
client sends, or to be slow or absent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import pytest
from aiohttp import web

from assistant.backends.errors import (
    BackendRejected,
    BackendUnavailable,
    NotConfigured,
    NotFound,
)
from assistant.backends.zgw.cases import CaseService, duration_days
from assistant.backends.zgw.client import ZgwClient, ZgwConfig
from assistant.backends.zgw.models import (
    Address,
    ContactPerson,
    Initiator,
    PartyType,
    RoleKind,
)
from tests.sandbox.serving import (
    TODAY,
    ZGW_CLIENT_ID,
    ZGW_SECRET,
    closed_port_url,
    serving,
    zgw_at,
)

RSIN = "002220647"
NOW = datetime(2026, 3, 2, 10, 15, tzinfo=timezone.utc)


def config(root: str, **overrides: str) -> ZgwConfig:
    root = root.rstrip("/")
    values = {
        "zaken_url": f"{root}/zaken/api/v1/",
        "catalogi_url": f"{root}/catalogi/api/v1",
        "client_id": ZGW_CLIENT_ID,
        "secret": ZGW_SECRET,
        "rsin": RSIN,
        **overrides,
    }
    return ZgwConfig(**values)


@asynccontextmanager
async def client_for(root: str, **overrides: Any) -> AsyncIterator[ZgwClient]:
    options = {key: overrides.pop(key) for key in ("max_pages", "timeout") if key in overrides}
    async with ZgwClient(config(root, **overrides), **options) as client:
        yield client


@pytest.fixture
async def client(zgw_root: str) -> AsyncIterator[ZgwClient]:
    async with client_for(zgw_root) as zgw_client:
        yield zgw_client


@pytest.fixture
def cases(client: ZgwClient) -> CaseService:
    return CaseService(client, rsin=RSIN, now=lambda: NOW)


RESIDENT = Initiator(
    family_name="Bakker",
    given_names="Sanne",
    family_name_prefix="de",
    address=Address(street="Neude", house_number=11, postcode="3512 AE", city="Utrecht"),
)


class Recorder:
    """A server that answers every request with `answer` and keeps the requests' headers."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.headers: list[dict[str, str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.headers.append(dict(request.headers))
        return web.json_response(self.answer, status=201 if request.method == "POST" else 200)


async def recorded(
    answer: Any,
    call: Callable[[ZgwClient], Awaitable[None]],
    clock: Iterator[float] | None = None,
) -> Recorder:
    """Run `call` with a client of a `Recorder` that answers `answer`; return the recorder."""
    recorder = Recorder(answer)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    ticks = clock or iter(range(1_700_000_000, 1_800_000_000))
    async with (
        serving(app) as base,
        ZgwClient(config(base), clock=lambda: float(next(ticks))) as client,
    ):
        await call(client)
    return recorder


async def test_every_call_carries_a_fresh_token_with_the_claims_of_the_zgw_specs() -> None:
    page = {"count": 0, "next": None, "previous": None, "results": []}

    async def twice(client: ZgwClient) -> None:
        await client.list_zaken({"identificatie": "ZAAK-1"})
        await client.list_zaken({"identificatie": "ZAAK-2"})

    recorder = await recorded(page, twice, clock=iter([1_772_400_000.0, 1_772_400_001.0]))
    tokens = [h["Authorization"].removeprefix("Bearer ") for h in recorder.headers]
    claims = [jwt.decode(t, ZGW_SECRET, algorithms=["HS256"]) for t in tokens]
    assert tokens[0] != tokens[1]
    assert [c["iat"] for c in claims] == [1_772_400_000, 1_772_400_001]
    assert all(c["client_id"] == c["iss"] == ZGW_CLIENT_ID for c in claims)
    assert all(c["user_id"] and c["user_representation"] for c in claims)
    assert all(jwt.get_unverified_header(t)["alg"] == "HS256" for t in tokens)


async def test_reads_send_accept_crs_and_writes_also_content_crs() -> None:
    async def read_and_write(client: ZgwClient) -> None:
        await client.get_zaak(client.base_url + "zaken/0")
        await client.create_status({"zaak": "z", "statustype": "s", "datumStatusGezet": "d"})

    recorder = await recorded({"url": "x"}, read_and_write)
    read, write = recorder.headers
    assert read["Accept-Crs"] == write["Accept-Crs"] == "EPSG:4326"
    assert "Content-Crs" not in read and write["Content-Crs"] == "EPSG:4326"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"secret": "een-ander-geheim-van-ruim-tweeendertig-tekens"}, "invalid-jwt-signature"),
        ({"client_id": "onbekende-applicatie"}, "invalid-client-identifier"),
    ],
)
async def test_a_refused_token_surfaces_as_backend_rejected_with_open_zaaks_code(
    zgw_root: str, overrides: dict[str, str], code: str
) -> None:
    async with client_for(zgw_root, **overrides) as refused:
        with pytest.raises(BackendRejected) as caught:
            await refused.list_zaken()
    assert (caught.value.status, caught.value.code) == (403, code)


class LegacyClient(ZgwClient):
    """Puts the client id in the JWT header, as old gemma-zds-client versions did."""

    def token(self) -> str:
        return jwt.encode(
            {"iss": ZGW_CLIENT_ID, "iat": 0},
            ZGW_SECRET,
            algorithm="HS256",
            headers={"client_identifier": ZGW_CLIENT_ID},
        )


async def test_a_token_without_client_id_in_its_payload_is_rejected(zgw_root: str) -> None:
    with pytest.raises(BackendRejected) as caught:
        async with LegacyClient(config(zgw_root)) as legacy:
            await legacy.list_zaaktypen()
    assert (caught.value.status, caught.value.code) == (403, "missing-client-identifier")


async def test_a_crs_the_server_does_not_offer_surfaces_as_not_acceptable(
    client: ZgwClient,
) -> None:
    with pytest.raises(BackendRejected) as caught:
        await client.request("GET", "zaken", headers={"Accept-Crs": "EPSG:28992"})
    assert (caught.value.status, caught.value.code) == (406, "not_acceptable")


async def test_lists_follow_next_over_pages_up_to_the_bound(
    zgw_root: str, client: ZgwClient, cases: CaseService
) -> None:
    for number in range(5):
        await cases.create_case("klacht", f"Klacht {number}", "", RESIDENT)
    everything = await client.list_zaken({"pageSize": "2"})
    async with client_for(zgw_root, max_pages=2) as bounded:
        first_pages = await bounded.list_zaken({"pageSize": "2"})
    assert len(everything) == 7 and len({zaak["uuid"] for zaak in everything}) == 7
    assert len(first_pages) == 4


async def test_a_refused_write_carries_the_problem_code_and_files_nothing(
    client: ZgwClient,
) -> None:
    with pytest.raises(BackendRejected) as caught:
        await client.create_zaak({"bronorganisatie": RSIN})  # type: ignore[typeddict-item]
    assert (caught.value.status, caught.value.code) == (400, "invalid")
    assert len(await client.list_zaken()) == 2


async def test_an_unknown_case_is_not_found(client: ZgwClient, cases: CaseService) -> None:
    with pytest.raises(NotFound):
        await cases.find_case("ZAAK-2026-9999999")
    with pytest.raises(NotFound):
        await client.get_zaak(client.base_url + "zaken/00000000-0000-4000-8000-000000000000")


async def test_a_server_that_is_down_is_backend_unavailable() -> None:
    async with ZgwClient(config(closed_port_url())) as client:
        with pytest.raises(BackendUnavailable):
            await client.list_zaken()


async def test_a_server_that_does_not_answer_in_time_is_backend_unavailable(
    silent_url: str,
) -> None:
    async with ZgwClient(config(silent_url), timeout=0.2) as client:
        with pytest.raises(BackendUnavailable, match="TimeoutError"):
            await client.list_zaken()


async def test_an_answer_that_is_no_page_is_backend_unavailable() -> None:
    async def call(client: ZgwClient) -> None:
        with pytest.raises(BackendUnavailable):
            await client.list_zaaktypen()

    await recorded({"results": "geen lijst"}, call)


async def test_a_case_in_progress_is_read_in_the_residents_words(cases: CaseService) -> None:
    case = await cases.find_case("ZAAK-2026-0000123")
    assert case.case_type.identification == "omgevingsvergunning"
    assert case.status is not None and "in behandeling" in case.status.citizen_text
    assert not case.status.is_final and not case.is_closed
    assert case.planned_end_date is not None and case.planned_end_date > TODAY
    assert await cases.initiator_postcode(case) == "3511AB"


async def test_a_closed_case_has_its_final_status_and_end_date(cases: CaseService) -> None:
    case = await cases.find_case("ZAAK-2026-0000456")
    assert case.is_closed and case.status is not None and case.status.is_final
    assert "besluit" in case.status.citizen_text


async def test_a_complaint_is_filed_with_its_initiator_and_read_back_with_its_status(
    cases: CaseService,
) -> None:
    filed = await cases.create_case(
        "klacht", "Klacht over de afvalinzameling", "De container is twee keer vergeten.", RESIDENT
    )
    found = await cases.find_case(filed.identification)
    assert filed.identification == "ZAAK-2026-0000000001"
    assert found == filed
    assert found.start_date == NOW.date() and found.case_type.identification == "klacht"
    assert found.status is not None and found.status.citizen_text == "Uw klacht is ontvangen."
    assert found.status.set_on == NOW
    assert await cases.initiator_postcode(found) == "3512AE"


async def test_a_case_type_missing_from_the_catalogue_is_not_configured_and_files_nothing(
    client: ZgwClient, cases: CaseService
) -> None:
    with pytest.raises(NotConfigured):
        await cases.create_case("parkeervergunning", "Parkeren", "", RESIDENT)
    assert len(await client.list_zaken()) == 2


async def test_cases_are_filed_and_found_on_postgresql_too(postgres_url: str) -> None:
    async with zgw_at(postgres_url) as root, client_for(root) as client:
        service = CaseService(client, rsin=RSIN, now=lambda: NOW)
        filed = await service.create_case("klacht", "Klacht over groen", "", RESIDENT)
        assert await service.find_case(filed.identification) == filed


def test_codes_open_zaak_adds_later_become_unknown_instead_of_an_error() -> None:
    assert RoleKind("initiator") is RoleKind.INITIATOR
    assert RoleKind("toekomstige_rol") is RoleKind.UNKNOWN
    assert PartyType("nieuw_soort_betrokkene") is PartyType.UNKNOWN


@pytest.mark.parametrize(
    "overrides",
    [{"secret": ""}, {"zaken_url": " "}, {"rsin": "123456789"}],
)
def test_a_half_or_wrongly_configured_client_is_refused_at_start(
    overrides: dict[str, str],
) -> None:
    with pytest.raises(NotConfigured):
        config("http://127.0.0.1:8090/zgw", **overrides)


def test_the_secret_and_the_residents_bsn_stay_out_of_reprs() -> None:
    resident = Initiator(family_name="Bakker", bsn="999993653", address=RESIDENT.address)
    assert ZGW_SECRET not in repr(config("http://127.0.0.1:8090/zgw"))
    assert "999993653" not in repr(resident) and "Neude" not in repr(resident)


async def test_a_complaint_carries_how_to_reach_the_resident_and_when_to_answer(
    client: ZgwClient, cases: CaseService
) -> None:
    contact = ContactPerson("Sanne de Bakker", email="sanne@example.nl", phone="0612345678")
    filed = await cases.create_case("klacht", "Klacht", "Niemand belde terug.", RESIDENT, contact)
    assert filed.planned_end_date == NOW.date() + timedelta(days=42), "the klacht's doorlooptijd"
    (rol,) = await client.list_rollen({"zaak": filed.url})
    assert rol["contactpersoonRol"] == {
        "naam": "Sanne de Bakker",
        "emailadres": "sanne@example.nl",
        "telefoonnummer": "0612345678",
    }
    without_phone = await cases.create_case(
        "klacht", "Klacht", "", RESIDENT, ContactPerson("Sanne", email="sanne@example.nl")
    )
    (rol,) = await client.list_rollen({"zaak": without_phone.url})
    assert rol["contactpersoonRol"] == {"naam": "Sanne", "emailadres": "sanne@example.nl"}
    assert "sanne@example.nl" not in repr(contact) and "0612345678" not in repr(contact)


async def test_a_case_without_contact_details_has_no_contact_person(
    client: ZgwClient, cases: CaseService
) -> None:
    filed = await cases.create_case("klacht", "Klacht", "", RESIDENT)
    (rol,) = await client.list_rollen({"zaak": filed.url})
    assert rol["contactpersoonRol"] is None


async def test_whether_a_case_type_can_be_filed_is_known_before_anything_is_asked(
    client: ZgwClient, cases: CaseService
) -> None:
    with pytest.raises(NotConfigured):
        await cases.ensure_case_type("parkeervergunning")
    reads: list[str] = []
    listing = client.list_zaaktypen

    async def counted(filters: Any = None) -> Any:
        reads.append("zaaktypen")
        return await listing(filters)

    client.list_zaaktypen = counted  # type: ignore[method-assign]
    await cases.ensure_case_type("klacht")
    await cases.create_case("klacht", "Klacht", "", RESIDENT)
    assert reads == ["zaaktypen"], "the catalogue is read once, filing is writes only"
    assert len(await client.list_zaken()) == 3


async def test_open_zaak_down_when_asked_whether_a_case_type_can_be_filed() -> None:
    async with ZgwClient(config(closed_port_url())) as client:
        with pytest.raises(BackendUnavailable):
            await CaseService(client, rsin=RSIN).ensure_case_type("klacht")


@pytest.mark.parametrize(
    ("duration", "days"),
    [("P42D", 42), ("P6W", 42), ("P1W2D", 9), ("P2M", None), ("P", None), (None, None)],
)
def test_a_handling_term_in_days_or_weeks_is_read(duration: str | None, days: int | None) -> None:
    assert duration_days(duration) == days
