"""What the Open Klant stand-in checks: the API key and the maak-klantcontact body, in Open
Klant's error shapes. Kept apart from `openklant.py` (HTTP, storage, rendering).

Sources: DRF's TokenAuthentication, vng_api_common's exception handler (problem+json with
`invalidParams`), Open Klant's KlantcontactSerializer, BetrokkeneSerializer,
OnderwerpobjectSerializer and MaakKlantcontactSerializer and its tests for the messages.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from assistant.sandbox.urls import Urls

API_PATH = "/klantinteracties/api/v1/klantcontacten"
REQUIRED = "Dit veld is vereist."
NULL = "Dit veld mag niet null zijn."
BLANK = "Dit veld mag niet leeg zijn."
NOT_A_STRING = "Not a valid string."  # untranslated in DRF's Dutch catalogue (Open Klant tests)
NOT_A_BOOLEAN = "Must be a valid boolean."
NOT_A_DATETIME = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
NOT_AUTHENTICATED = "Authenticatiegegevens zijn niet opgegeven."
ROLES = ("vertegenwoordiger", "klant")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def urls_for(request: web.Request, router: web.UrlDispatcher) -> Urls:
    """The absolute URLs of this request's answer, with the prefix the app is mounted under."""
    return Urls(request, router, "klantcontacten", API_PATH)


def problem(
    urls: Urls,
    status: int,
    code: str,
    exception: str,
    detail: str,
    *,
    title: str | None = None,
    invalid_params: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """vng_api_common's problem+json; `type` points at its error page for the exception class."""
    body: dict[str, Any] = {
        "type": f"{urls.root}/ref/fouten/{exception}/",
        "code": code,
        "title": title or detail,
        "status": status,
        "detail": detail,
        "instance": f"urn:uuid:{uuid.uuid4()}",
    }
    if invalid_params is not None:
        body["invalidParams"] = invalid_params
    return web.json_response(
        body, status=status, content_type="application/problem+json", headers=headers
    )


def not_found(urls: Urls) -> web.Response:
    return problem(urls, 404, "not_found", "NotFound", "Niet gevonden.")


def invalid(urls: Urls, params: list[dict[str, str]]) -> web.Response:
    return problem(
        urls,
        400,
        "invalid",
        "ValidationError",
        "",
        title="Ongeldige invoer.",
        invalid_params=params,
    )


def token_middleware(
    keys: tuple[str, ...], router: web.UrlDispatcher
) -> Callable[[web.Request, Handler], Awaitable[Any]]:
    """DRF's TokenAuthentication for every route of the app; compares keys in constant time."""

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        urls = urls_for(request, router)
        challenge = {"WWW-Authenticate": "Token"}
        parts = request.headers.get("Authorization", "").split()
        if not parts or parts[0].lower() != "token":
            return problem(
                urls,
                401,
                "not_authenticated",
                "NotAuthenticated",
                NOT_AUTHENTICATED,
                headers=challenge,
            )
        if len(parts) != 2:  # DRF's own (untranslated here) texts for a malformed header
            detail = (
                "Invalid token header. No credentials provided."
                if len(parts) == 1
                else "Invalid token header. Token string should not contain spaces."
            )
        elif not any(hmac.compare_digest(parts[1].encode(), key.encode()) for key in keys):
            detail = "Ongeldige token."
        else:
            return await handler(request)
        return problem(
            urls,
            401,
            "authentication_failed",
            "AuthenticationFailed",
            detail,
            title="Ongeldige authenticatiegegevens.",
            headers=challenge,
        )

    return authenticate


def check_maak_klantcontact(body: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Column values for klantcontact, betrokkene and onderwerpobject, or `invalidParams`."""
    problems: list[dict[str, str]] = []
    if not isinstance(body, dict):
        return {}, [_param("nonFieldErrors", "invalid", _not_a_dict(body))]
    contact = _group(problems, body, "klantcontact", required=True)
    data: dict[str, Any] = {"klantcontact": None, "betrokkene": None, "onderwerpobject": None}
    if contact is not None:
        data["klantcontact"] = _klantcontact(problems, contact)
    person = _group(problems, body, "betrokkene", required=False)
    if person is not None:
        data["betrokkene"] = _betrokkene(problems, person)
    subject = _group(problems, body, "onderwerpobject", required=False)
    if subject is not None:
        data["onderwerpobject"] = _onderwerpobject(problems, subject)
    return data, problems


def _klantcontact(problems: list[dict[str, str]], data: dict[str, Any]) -> dict[str, Any]:
    def field(key: str, **options: Any) -> Any:
        return _field(problems, data, f"klantcontact.{key}", key, **options)

    values = {
        "nummer": field("nummer", max_length=10, required=False),
        "kanaal": field("kanaal", max_length=50),
        "onderwerp": field("onderwerp", max_length=200),
        "inhoud": field("inhoud", max_length=1000, required=False) or "",
        "indicatie_contact_gelukt": field(
            "indicatieContactGelukt", kind="bool", required=False, nullable=True
        ),
        "taal": field("taal", max_length=3),
        "vertrouwelijk": field("vertrouwelijk", kind="bool"),
    }
    when = field("plaatsgevondenOp", kind="datetime", required=False)
    if when is not None:
        values["plaatsgevonden_op"] = when
    return values


def _betrokkene(problems: list[dict[str, str]], data: dict[str, Any]) -> dict[str, Any]:
    if data.get("wasPartij") is not None:
        # Deviation: the stand-in has no partijen, so no reference to one can exist.
        problems.append(
            _param("betrokkene.wasPartij.uuid", "does_not_exist", "Object bestaat niet.")
        )
    return {
        "rol": _field(problems, data, "betrokkene.rol", "rol", max_length=50, choices=ROLES),
        "organisatienaam": _field(
            problems,
            data,
            "betrokkene.organisatienaam",
            "organisatienaam",
            max_length=200,
            required=False,
        )
        or "",
        "initiator": _field(problems, data, "betrokkene.initiator", "initiator", kind="bool"),
    }


def _onderwerpobject(problems: list[dict[str, str]], data: dict[str, Any]) -> dict[str, Any]:
    path = "onderwerpobject.onderwerpobjectidentificator"
    identificator = _group(
        problems, data, "onderwerpobjectidentificator", required=False, path=path
    )
    values = {}
    for key, column in (
        ("objectId", "object_id"),
        ("codeObjecttype", "code_objecttype"),
        ("codeRegister", "code_register"),
        ("codeSoortObjectId", "code_soort_object_id"),
    ):
        value = None
        if identificator is not None:
            value = _field(
                problems, identificator, f"{path}.{key}", key, max_length=200, blank=True
            )
        values[column] = value or ""
    return values


def _group(
    problems: list[dict[str, str]],
    data: dict[str, Any],
    key: str,
    *,
    required: bool,
    path: str | None = None,
) -> dict[str, Any] | None:
    name = path or key
    if key not in data:
        if required:
            problems.append(_param(name, "required", REQUIRED))
        return None
    value = data[key]
    if value is None:
        if required:
            problems.append(_param(name, "null", NULL))
        return None
    if not isinstance(value, dict):
        problems.append(_param(f"{name}.nonFieldErrors", "invalid", _not_a_dict(value)))
        return None
    return value


def _field(
    problems: list[dict[str, str]],
    data: dict[str, Any],
    name: str,
    key: str,
    *,
    kind: str = "str",
    max_length: int | None = None,
    required: bool = True,
    nullable: bool = False,
    blank: bool | None = None,
    choices: tuple[str, ...] = (),
) -> Any:
    """One DRF field: a required text may not be blank (an optional one may); numbers become
    text; booleans must be JSON booleans."""
    if key not in data:
        if required:
            problems.append(_param(name, "required", REQUIRED))
        return None
    value = data[key]
    if value is None:
        if not nullable:
            problems.append(_param(name, "null", NULL))
        return None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        problems.append(_param(name, "invalid", NOT_A_BOOLEAN))
        return None
    if kind == "datetime":
        return _datetime(problems, name, value)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        problems.append(_param(name, "invalid", NOT_A_STRING))
        return None
    text = str(value).strip()
    if not text and not (blank if blank is not None else not required):
        problems.append(_param(name, "blank", BLANK))
    elif max_length is not None and len(text) > max_length:
        reason = f"Zorg ervoor dat dit veld niet meer dan {max_length} karakters bevat."
        problems.append(_param(name, "max_length", reason))
    elif choices and text not in choices:
        problems.append(_param(name, "invalid_choice", f'"{text}" is een ongeldige keuze.'))
    else:
        return text
    return None


def _datetime(problems: list[dict[str, str]], name: str, value: Any) -> str | None:
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        problems.append(_param(name, "invalid", NOT_A_DATETIME))
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.isoformat()


def _param(name: str, code: str, reason: str) -> dict[str, str]:
    return {"name": name, "code": code, "reason": reason}


def _not_a_dict(value: Any) -> str:
    return f"Ongeldige data. Verwacht een dictionary, kreeg een {type(value).__name__}."
