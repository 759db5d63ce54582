"""The Open Zaak stand-in over real HTTP: auth, CRS headers, errors, pages, URLs, demo data."""

from __future__ import annotations

import re
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.sandbox.serving import (
    CATALOGI,
    CRS,
    TODAY,
    WRITE_CRS,
    ZAKEN,
    sqlite_url,
    zgw_at,
    zgw_token,
)


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with http.request(method, url, headers=headers, **kwargs) as response:
        body = await response.json(content_type=None) if await response.read() else None
        return response.status, body, response


async def test_a_request_without_a_token_is_forbidden_as_in_open_zaak(
    http: aiohttp.ClientSession, zgw_root: str
) -> None:
    status, body, response = await call(http, "GET", f"{zgw_root}{ZAKEN}/zaken", headers=CRS)
    assert (status, body["code"]) == (403, "permission_denied")
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (
            zgw_token(secret="een-ander-geheim-van-ruim-tweeendertig-tekens"),
            "invalid-jwt-signature",
        ),
        (zgw_token(client_id=None), "missing-client-identifier"),
        (zgw_token(client_id="onbekende-applicatie"), "invalid-client-identifier"),
        ({"Authorization": "Bearer dit.is.geen-jwt"}, "jwt-decode-error"),
    ],
)
async def test_a_rejected_token_answers_403_with_open_zaaks_code(
    http: aiohttp.ClientSession, zgw_root: str, authorization: dict[str, str], code: str
) -> None:
    status, body, _ = await call(
        http, "GET", f"{zgw_root}{ZAKEN}/zaken", headers={**authorization, **CRS}
    )
    assert (status, body["code"], body["status"]) == (403, code, 403)


async def test_the_zaken_api_demands_accept_crs_and_refuses_another_crs(
    http: aiohttp.ClientSession, zgw_root: str
) -> None:
    missing, body, _ = await call(http, "GET", f"{zgw_root}{ZAKEN}/zaken", headers=zgw_token())
    assert (missing, body["code"]) == (412, "precondition_failed")
    other = {**zgw_token(), "Accept-Crs": "EPSG:28992"}
    wrong, body, _ = await call(http, "GET", f"{zgw_root}{ZAKEN}/zaken", headers=other)
    assert (wrong, body["code"]) == (406, "not_acceptable")


async def test_a_write_without_content_crs_or_with_another_crs_stores_nothing(
    http: aiohttp.ClientSession, zgw_root: str
) -> None:
    _, types, _ = await call(http, "GET", f"{zgw_root}{CATALOGI}/zaaktypen", headers=zgw_token())
    body = {
        "bronorganisatie": "002220647",
        "verantwoordelijkeOrganisatie": "002220647",
        "zaaktype": types["results"][0]["url"],
        "startdatum": TODAY.isoformat(),
    }
    url, headers = f"{zgw_root}{ZAKEN}/zaken", {**zgw_token(), **CRS}
    missing, problem, _ = await call(http, "POST", url, headers=headers, json=body)
    other = {**headers, "Content-Crs": "EPSG:28992"}
    wrong, _, _ = await call(http, "POST", url, headers=other, json=body)
    _, zaken, _ = await call(http, "GET", url, headers=headers)
    assert (missing, problem["code"], problem["detail"]) == (
        412,
        "precondition_failed",
        "'Content-Crs' header ontbreekt",
    )
    assert wrong == 406 and zaken["count"] == 2


async def test_every_answer_carries_the_api_version_of_its_api(
    http: aiohttp.ClientSession, zgw_root: str
) -> None:
    _, _, zaken = await call(
        http, "GET", f"{zgw_root}{ZAKEN}/zaken", headers={**zgw_token(), **CRS}
    )
    _, _, types = await call(http, "GET", f"{zgw_root}{CATALOGI}/zaaktypen", headers=zgw_token())
    _, _, refused = await call(http, "GET", f"{zgw_root}{CATALOGI}/zaaktypen")
    assert zaken.headers["API-version"] == "1.5.1"
    assert types.headers["API-version"] == refused.headers["API-version"] == "1.3.1"


async def test_the_demo_zaak_123_is_in_behandeling_with_its_planned_end_ahead(
    http: aiohttp.ClientSession, zgw_root: str
) -> None:
    headers = {**zgw_token(), **CRS}
    _, page, _ = await call(
        http, "GET", f"{zgw_root}{ZAKEN}/zaken?identificatie=ZAAK-2026-0000123", headers=headers
    )
    [zaak] = page["results"]
    _, status, _ = await call(http, "GET", zaak["status"], headers=headers)
    _, statustype, _ = await call(http, "GET", status["statustype"], headers=headers)
    assert "in behandeling" in statustype["statustekst"]
    assert not statustype["isEindstatus"] and status["indicatieLaatstGezetteStatus"]
    assert date.fromisoformat(zaak["einddatumGepland"]) > TODAY and zaak["einddatum"] is None
    _, rollen, _ = await call(
        http, "GET", f"{zgw_root}{ZAKEN}/rollen", headers=headers, params={"zaak": zaak["url"]}
    )
    [initiator] = rollen["results"]
    assert initiator["omschrijvingGeneriek"] == "initiator"
    assert initiator["betrokkeneIdentificatie"]["verblijfsadres"]["aoaPostcode"] == "3511AB"


async def test_the_demo_zaak_456_is_closed_with_its_final_status(
    http: aiohttp.ClientSession, zgw_root: str
) -> None:
    headers = {**zgw_token(), **CRS}
    _, page, _ = await call(
        http, "GET", f"{zgw_root}{ZAKEN}/zaken?identificatie=ZAAK-2026-0000456", headers=headers
    )
    [zaak] = page["results"]
    _, status, _ = await call(http, "GET", zaak["status"], headers=headers)
    _, statustype, _ = await call(http, "GET", status["statustype"], headers=headers)
    assert zaak["einddatum"] is not None and statustype["isEindstatus"]


async def test_starting_again_on_the_same_database_does_not_duplicate_the_demo_data(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with zgw_at(sqlite_url(tmp_path)):
        pass
    async with zgw_at(sqlite_url(tmp_path)) as zgw_root:
        _, zaken, _ = await call(
            http, "GET", f"{zgw_root}{ZAKEN}/zaken", headers={**zgw_token(), **CRS}
        )
        _, types, _ = await call(
            http, "GET", f"{zgw_root}{CATALOGI}/zaaktypen", headers=zgw_token()
        )
    assert zaken["count"] == 2
    assert sorted(t["identificatie"] for t in types["results"]) == [
        "kapvergunning",
        "klacht",
        "omgevingsvergunning",
    ]


async def new_zaak(http: aiohttp.ClientSession, zgw_root: str, **fields: Any) -> dict[str, Any]:
    headers = zgw_token()
    _, types, _ = await call(
        http, "GET", f"{zgw_root}{CATALOGI}/zaaktypen?identificatie=klacht", headers=headers
    )
    body = {
        "bronorganisatie": "002220647",
        "verantwoordelijkeOrganisatie": "002220647",
        "zaaktype": types["results"][0]["url"],
        "startdatum": TODAY.isoformat(),
        **fields,
    }
    status, zaak, _ = await call(
        http, "POST", f"{zgw_root}{ZAKEN}/zaken", headers={**headers, **WRITE_CRS}, json=body
    )
    assert status == 201, zaak
    return zaak


async def test_a_new_zaak_without_identificatie_is_numbered_like_open_zaak(
    http: aiohttp.ClientSession, zgw_root: str
) -> None:
    first = await new_zaak(http, zgw_root)
    second = await new_zaak(http, zgw_root, omschrijving="Tweede klacht")
    assert (first["identificatie"], second["identificatie"]) == (
        "ZAAK-2026-0000000001",
        "ZAAK-2026-0000000002",
    )
    assert first["status"] is None and first["registratiedatum"] == TODAY.isoformat()


async def test_missing_required_fields_answer_400_naming_each_field(
    http: aiohttp.ClientSession, zgw_root: str
) -> None:
    headers = {**zgw_token(), **WRITE_CRS}
    status, problem, response = await call(
        http, "POST", f"{zgw_root}{ZAKEN}/zaken", headers=headers, json={"omschrijving": "x" * 81}
    )
    assert (status, problem["code"]) == (400, "invalid")
    assert response.content_type == "application/problem+json"
    named = {(p["name"], p["code"]) for p in problem["invalidParams"]}
    assert named == {
        ("bronorganisatie", "required"),
        ("verantwoordelijkeOrganisatie", "required"),
        ("startdatum", "required"),
        ("zaaktype", "required"),
        ("omschrijving", "max_length"),
    }


async def test_a_body_that_is_not_json_answers_400_parse_error(
    http: aiohttp.ClientSession, zgw_root: str
) -> None:
    status, problem, _ = await call(
        http,
        "POST",
        f"{zgw_root}{ZAKEN}/statussen",
        headers={**zgw_token(), **WRITE_CRS, "Content-Type": "application/json"},
        data=b"{niet: json",
    )
    assert (status, problem["code"]) == (400, "parse_error")
    assert problem["invalidParams"][0]["name"] == "nonFieldErrors"


async def test_an_unknown_uuid_answers_a_404_problem(
    http: aiohttp.ClientSession, zgw_root: str
) -> None:
    headers = {**zgw_token(), **CRS}
    for url in (
        f"{zgw_root}{ZAKEN}/zaken/{uuid.uuid4()}",
        f"{zgw_root}{CATALOGI}/statustypen/{uuid.uuid4()}",
    ):
        status, problem, response = await call(http, "GET", url, headers=headers)
        assert (status, problem["code"]) == (404, "not_found")
        assert response.content_type == "application/problem+json"


async def test_pages_link_to_each_other_and_a_page_past_the_end_is_404(
    http: aiohttp.ClientSession, zgw_root: str
) -> None:
    headers = {**zgw_token(), **CRS}
    _, first, _ = await call(http, "GET", f"{zgw_root}{ZAKEN}/zaken?pageSize=1", headers=headers)
    _, second, _ = await call(http, "GET", first["next"], headers=headers)
    assert (first["count"], len(first["results"]), first["previous"]) == (2, 1, None)
    assert second["next"] is None and second["previous"] is not None
    assert first["results"][0]["uuid"] != second["results"][0]["uuid"]
    past, problem, _ = await call(
        http, "GET", f"{zgw_root}{ZAKEN}/zaken?pageSize=1&page=3", headers=headers
    )
    assert (past, problem["code"]) == (404, "not_found")


async def test_urls_carry_the_mount_prefix_and_the_requests_host_and_port(
    http: aiohttp.ClientSession, zgw_root: str
) -> None:
    headers = {**zgw_token(), **CRS}
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/zgw", zgw_root)
    _, page, _ = await call(http, "GET", f"{zgw_root}{ZAKEN}/zaken?pageSize=1", headers=headers)
    zaak = page["results"][0]
    assert zaak["url"].startswith(f"{zgw_root}{ZAKEN}/zaken/")
    assert zaak["zaaktype"].startswith(f"{zgw_root}{CATALOGI}/zaaktypen/")
    assert page["next"].startswith(f"{zgw_root}{ZAKEN}/zaken?")
    fetched, same, _ = await call(http, "GET", zaak["url"], headers=headers)
    _, problem, _ = await call(
        http, "GET", f"{zgw_root}{ZAKEN}/zaken/{uuid.uuid4()}", headers=headers
    )
    assert (fetched, same["uuid"]) == (200, zaak["uuid"])
    assert problem["type"].startswith(f"{zgw_root}/ref/fouten/")


async def test_the_final_status_closes_the_zaak_and_a_foreign_statustype_is_refused(
    http: aiohttp.ClientSession, zgw_root: str
) -> None:
    zaak = await new_zaak(http, zgw_root)
    headers = {**zgw_token(), **WRITE_CRS}
    _, own, _ = await call(
        http,
        "GET",
        f"{zgw_root}{CATALOGI}/statustypen",
        headers=headers,
        params={"zaaktype": zaak["zaaktype"]},
    )
    _, permit, _ = await call(
        http, "GET", f"{zgw_root}{CATALOGI}/zaaktypen?identificatie=kapvergunning", headers=headers
    )
    foreign = permit["results"][0]["statustypen"][0]
    final = max(own["results"], key=lambda statustype: statustype["volgnummer"])
    refused, problem, _ = await call(
        http,
        "POST",
        f"{zgw_root}{ZAKEN}/statussen",
        headers=headers,
        json={
            "zaak": zaak["url"],
            "statustype": foreign,
            "datumStatusGezet": "2026-03-02T10:00:00Z",
        },
    )
    created, status, _ = await call(
        http,
        "POST",
        f"{zgw_root}{ZAKEN}/statussen",
        headers=headers,
        json={
            "zaak": zaak["url"],
            "statustype": final["url"],
            "datumStatusGezet": "2026-03-02T10:00:00Z",
        },
    )
    _, closed, _ = await call(http, "GET", zaak["url"], headers=headers)
    assert (refused, problem["invalidParams"][0]["code"]) == (400, "zaaktype-mismatch")
    assert created == 201 and closed["status"] == status["url"]
    assert closed["einddatum"] == "2026-03-02"


async def test_roltypen_are_found_by_zaaktype_and_generic_role(
    http: aiohttp.ClientSession, zgw_root: str
) -> None:
    headers = zgw_token()
    _, types, _ = await call(
        http, "GET", f"{zgw_root}{CATALOGI}/zaaktypen?identificatie=klacht", headers=headers
    )
    params = {"zaaktype": types["results"][0]["url"], "omschrijvingGeneriek": "initiator"}
    _, roltypen, _ = await call(
        http, "GET", f"{zgw_root}{CATALOGI}/roltypen", headers=headers, params=params
    )
    assert [(r["omschrijving"], r["zaaktypeIdentificatie"]) for r in roltypen["results"]] == [
        ("Klager", "klacht")
    ]


async def test_the_stand_in_keeps_its_data_in_postgresql(
    http: aiohttp.ClientSession, postgres_url: str
) -> None:
    async with zgw_at(postgres_url) as zgw_root:
        zaak = await new_zaak(http, zgw_root, omschrijving="Klacht over afval")
    async with zgw_at(postgres_url) as zgw_root:
        status, page, _ = await call(
            http,
            "GET",
            f"{zgw_root}{ZAKEN}/zaken",
            headers={**zgw_token(), **CRS},
            params={"identificatie": zaak["identificatie"]},
        )
    assert status == 200
    assert [z["omschrijving"] for z in page["results"]] == ["Klacht over afval"]


async def test_a_rol_keeps_its_contact_person_and_refuses_one_without_a_name(
    http: aiohttp.ClientSession, zgw_root: str
) -> None:
    zaak = await new_zaak(http, zgw_root)
    headers = {**zgw_token(), **WRITE_CRS}
    _, roltypen, _ = await call(
        http,
        "GET",
        f"{zgw_root}{CATALOGI}/roltypen",
        headers=headers,
        params={"zaaktype": zaak["zaaktype"], "omschrijvingGeneriek": "initiator"},
    )
    body = {
        "zaak": zaak["url"],
        "betrokkeneType": "natuurlijk_persoon",
        "roltype": roltypen["results"][0]["url"],
        "betrokkeneIdentificatie": {"geslachtsnaam": "Bakker"},
    }
    refused, problem, _ = await call(
        http,
        "POST",
        f"{zgw_root}{ZAKEN}/rollen",
        headers=headers,
        json={
            **body,
            "contactpersoonRol": {"emailadres": "geen-adres", "telefoonnummer": "1" * 21},
        },
    )
    assert refused == 400
    assert {(p["name"], p["code"]) for p in problem["invalidParams"]} == {
        ("contactpersoonRol.naam", "required"),
        ("contactpersoonRol.emailadres", "invalid"),
        ("contactpersoonRol.telefoonnummer", "max_length"),
    }
    contact = {"naam": "Sanne Bakker", "emailadres": "sanne@example.nl"}
    created, rol, _ = await call(
        http,
        "POST",
        f"{zgw_root}{ZAKEN}/rollen",
        headers=headers,
        json={**body, "contactpersoonRol": contact},
    )
    _, read, _ = await call(http, "GET", rol["url"], headers=headers)
    assert created == 201 and rol["contactpersoonRol"] == read["contactpersoonRol"] == contact
    _, rollen, _ = await call(
        http, "GET", f"{zgw_root}{ZAKEN}/rollen", headers=headers, params={"zaak": zaak["url"]}
    )
    assert [r["contactpersoonRol"] for r in rollen["results"]] == [contact]
