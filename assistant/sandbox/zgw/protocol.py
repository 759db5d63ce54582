"""What every answer of the stand-in shares, copied from Open Zaak and commonground-api-common.

- JWT auth as `vng_api_common/middleware.py`.
- CRS negotiation as `vng_api_common/geo.py`.
- problem+json errors as `vng_api_common/exception_handling.py`; titles are DRF's Dutch ones.
- DRF pagination, and URLs built from the request's host and the app's mount prefix.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from aiohttp import web
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.sql import Select

from assistant.sandbox.urls import mount_prefix

ZAKEN = "/zaken/api/v1"
CATALOGI = "/catalogi/api/v1"
VERSIONS = {ZAKEN: "1.5.1", CATALOGI: "1.3.1"}
CRS = "EPSG:4326"
PAGE_SIZE, MAX_PAGE_SIZE = 100, 500
UUID = "{uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}}"


ENGINE = web.AppKey("zgw_engine", Engine)
CLIENTS = web.AppKey("zgw_clients", dict)
RSIN = web.AppKey("zgw_rsin", str)
TODAY = web.AppKey("zgw_today", object)


Errors = list[tuple[str, str, str]]  # invalidParams entries: (name, code, reason)
Serialise = Callable[[web.Request, Connection, list[Row]], list[dict[str, Any]]]


class Problem(Exception):
    """An error answered as `Fout` (or `ValidatieFout` when `invalid` is given)."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        kind: str,
        invalid: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.kind, self.invalid = kind, invalid

    def response(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = {
            "type": f"{root(request)}/ref/fouten/{self.kind}/",
            "code": self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": f"urn:uuid:{uuidlib.uuid4()}",
        }
        if self.invalid is not None:
            body["invalidParams"] = self.invalid
        return web.json_response(body, status=self.status, content_type="application/problem+json")


def forbidden(code: str, detail: str) -> Problem:
    title = "Je hebt geen toestemming om deze actie uit te voeren."
    return Problem(403, code, title, detail, kind="PermissionDenied")


def invalid(errors: Errors, code: str = "invalid") -> Problem:
    params = [{"name": name, "code": c, "reason": reason} for name, c, reason in errors]
    title = "Ongeldige invoer."
    return Problem(400, code, title, title, kind="ValidationError", invalid=params)


def not_found(detail: str = "Niet gevonden.") -> Problem:
    return Problem(404, "not_found", "Niet gevonden.", detail, kind="NotFound")


@web.middleware
async def envelope(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    api = CATALOGI if f"{CATALOGI}/" in request.path else ZAKEN
    try:
        if request.match_info.http_exception is not None:
            raise request.match_info.http_exception
        _authorise(request)
        if api == ZAKEN:
            _negotiate_crs(request)
        response = await handler(request)
    except Problem as problem:
        response = problem.response(request)
    except web.HTTPNotFound:
        response = not_found().response(request)
    except web.HTTPMethodNotAllowed:
        detail = f'Methode "{request.method}" niet toegestaan.'
        problem = Problem(405, "method_not_allowed", detail, detail, kind="MethodNotAllowed")
        response = problem.response(request)
    response.headers["API-version"] = VERSIONS[api]
    if api == ZAKEN:
        response.headers["Content-Crs"] = CRS
    return response


def _authorise(request: web.Request) -> None:
    """Open Zaak's check (vng_api_common/middleware.py `JWTAuth.payload`), in its order."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        # vng_api_common's AuthCheckMixin: "JWT missing" answers 403, not 401.
        raise forbidden("permission_denied", "Authenticatiegegevens zijn niet opgegeven.")
    token = header.removeprefix("Bearer ")
    try:
        payload = jwt.decode(token, options={"verify_signature": False})
    except jwt.DecodeError:
        raise forbidden(
            "jwt-decode-error", "JWT could not be decoded. Possibly you made a copy-paste mistake."
        ) from None
    if "client_id" not in payload:
        raise forbidden("missing-client-identifier", "Client identifier is niet aanwezig in JWT")
    secret = request.app[CLIENTS].get(payload["client_id"])
    if not isinstance(secret, str) or not secret:
        raise forbidden("invalid-client-identifier", "Client identifier bestaat niet")
    try:
        jwt.decode(token, secret, algorithms=["HS256"])
    except jwt.InvalidSignatureError:
        raise forbidden("invalid-jwt-signature", "Client credentials zijn niet geldig") from None
    except jwt.InvalidTokenError:
        # Open Zaak lets other PyJWT errors (wrong algorithm, `iat` in the future) become a 500;
        # the stand-in refuses them the way it refuses an undecodable token.
        raise forbidden("jwt-decode-error", "JWT is niet geldig.") from None


def _negotiate_crs(request: web.Request) -> None:
    """vng_api_common/geo.py `GeoMixin.perform_crs_negotation`.

    Deviation: Open Zaak does this only on `/zaken` (its geo viewset) and answers 412 only for
    a zaak with a geometry; the stand-in demands the headers on every Zaken API call, so a
    client that passes here passes there (`reference/back-office-apis.md`, stand-in notes).
    """
    if request.method in ("POST", "PUT", "PATCH"):
        content = request.headers.get("Content-Crs")
        if content is None:
            raise _precondition("'Content-Crs' header ontbreekt")
        if content != CRS:
            raise _not_acceptable(f"CRS '{content}' is niet ondersteund")
    accept = request.headers.get("Accept-Crs")
    if accept is None:
        raise _precondition("'Accept-Crs' header ontbreekt")
    if accept != CRS:
        raise _not_acceptable(f"CRS '{accept}' is niet ondersteund")


def _precondition(detail: str) -> Problem:
    return Problem(
        412, "precondition_failed", "Precondition failed", detail, kind="PreconditionFailed"
    )


def _not_acceptable(detail: str) -> Problem:
    title = "Kan niet voldoen aan de opgegeven Accept header."
    return Problem(406, "not_acceptable", title, detail, kind="NotAcceptable")


def root(request: web.Request) -> str:
    """Scheme, host, port and mount prefix of this app as the client reached it."""
    try:
        prefix = mount_prefix(request.app.router, "zaak_list", f"{ZAKEN}/zaken")
    except KeyError:  # a request the parent app answered
        prefix = ""
    return str(request.url.origin()) + prefix


def link(request: web.Request, api: str, collection: str, uuid: str) -> str:
    return f"{root(request)}{api}/{collection}/{uuid}"


def ref_uuid(url: Any, api: str, collection: str) -> str | None:
    """The uuid in a reference to one of our resources, or None."""
    if not isinstance(url, str):
        return None
    found = re.search(rf"{api}/{collection}/([0-9a-f-]{{36}})/?$", url)
    return found.group(1) if found else None


def paginate(request: web.Request, query: Select, serialise: Serialise) -> web.Response:
    """One DRF page of `query`; a page past the end is a 404, as in DRF."""
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        page = 0
    try:
        size = min(max(int(request.query.get("pageSize", PAGE_SIZE)), 1), MAX_PAGE_SIZE)
    except ValueError:
        size = PAGE_SIZE
    if page < 1:
        raise not_found("Ongeldige pagina.")
    with request.app[ENGINE].connect() as conn:
        counted = select(func.count()).select_from(query.order_by(None).subquery())
        count = conn.execute(counted).scalar_one()
        rows = list(conn.execute(query.limit(size).offset((page - 1) * size)))
        results = serialise(request, conn, rows)
    if page > 1 and not rows:
        raise not_found("Ongeldige pagina.")
    more = page * size < count
    return web.json_response(
        {
            "count": count,
            "next": _page_link(request, page + 1) if more else None,
            "previous": _page_link(request, page - 1) if page > 1 else None,
            "results": results,
        }
    )


def _page_link(request: web.Request, page: int) -> str:
    return str(request.url.update_query(page=page))


def retrieve(request: web.Request, table: Table, serialise: Serialise) -> web.Response:
    with request.app[ENGINE].connect() as conn:
        row = conn.execute(select(table).where(table.c.uuid == request.match_info["uuid"])).first()
        if row is None:
            raise not_found()
        return web.json_response(serialise(request, conn, [row])[0])
