"""What the Signalen stand-in checks on a new melding, and its throttle: DRF's algorithms.

Kept apart from `signalen.py` (HTTP, storage, rendering) so each stays readable. Sources:
PublicSignalCreateSerializer and the nested location/category/reporter serializers,
WithinBoundingBoxValidatorMixin, PublicSignalSourceValidator (Amsterdam/signals), DRF's
CharField, DateTimeField, HyperlinkedRelatedField and SimpleRateThrottle. Messages are DRF's
English source texts and Signalen's own (English) texts.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

ALLOWED_KEYS = frozenset(
    {
        "source",
        "text",
        "text_extra",
        "location",
        "category",
        "reporter",
        "incident_date_start",
        "incident_date_end",
        "extra_properties",
        "session",
    }
)
MAX_TEXT_LENGTH = 3000
MAX_TEXT_EXTRA_LENGTH = 10000
MAX_PHONE_LENGTH = 17
MAX_EMAIL_LENGTH = 254
AMSTERDAM_TIME = ZoneInfo("Europe/Amsterdam")  # TIME_ZONE; USE_TZ reads naive times as local

REQUIRED = "This field is required."
BOUNDING_BOX_ERROR = (
    "The location coordinates (WS84) are not inside the bounding box we are accepting signals for."
)
GEOMETRY_ERROR = (
    "Invalid format: string or unicode input unrecognized as GeoJSON, WKT EWKT or HEXEWKB."
)
DATETIME_ERROR = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
NEITHER_CATEGORY = 'Either the "sub_category" OR the "category_url" must be given'
BOTH_CATEGORIES = 'Only the "sub_category" OR "category_url" can be given'

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
WKT_POINT = re.compile(r"\s*POINT\s*\(\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s*\)\s*", re.I)
SUB_CATEGORY_PATH = re.compile(
    r"/signals/v1/public/terms/categories/([-\w]+)/sub_categories/([-\w]+)/?"
)
MAIN_CATEGORY_PATH = re.compile(r"/signals/v1/public/terms/categories/[-\w]+/?")
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Throttle:
    """DRF's SimpleRateThrottle: per client, the times of its requests within the last period,
    kept in memory as Django's LocMemCache keeps them in Signalen's default configuration."""

    def __init__(self, rate: str, clock: Callable[[], float] = time.monotonic) -> None:
        try:
            count, period = rate.split("/")
            self.num_requests = int(count)
            self.duration = PERIODS[period.strip()[0]]
        except (ValueError, KeyError, IndexError):
            raise ValueError(f"a throttle rate looks like '60/hour', got {rate!r}") from None
        if self.num_requests < 1:
            raise ValueError(f"a throttle rate allows at least one request, got {rate!r}")
        self._clock = clock
        self._history: dict[str, list[float]] = {}

    def wait(self, ident: str) -> float | None:
        """None when a request from `ident` may pass now (and count it); else seconds to wait."""
        now = self._clock()
        history = [
            moment for moment in self._history.get(ident, []) if moment > now - self.duration
        ]
        if len(history) >= self.num_requests:
            self._history[ident] = history
            return self.duration - (now - history[-1])
        self._history[ident] = [now, *history]
        return None


def client_ident(request: web.Request) -> str:
    """DRF's get_ident with NUM_PROXIES unset: X-Forwarded-For (spaces removed) when present,
    else the peer address."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    return "".join(forwarded.split()) if forwarded else (request.remote or "")


def not_a_dict(value: Any) -> str:
    return f"Invalid data. Expected a dictionary, but got {type(value).__name__}."


class SignalChecks:
    """The field checks of PublicSignalCreateSerializer, in DRF's error shape.

    `local_path` turns a category URL into a path inside the app (None when outside its mount
    prefix); `find_category` looks up a sub-category id by main and sub slug.
    """

    def __init__(
        self,
        bounding_box: tuple[float, float, float, float],
        local_path: Callable[[str], str | None],
        find_category: Callable[[str, str], int | None],
    ) -> None:
        self._box = bounding_box
        self._local_path = local_path
        self._find_category = find_category

    def check(self, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(column values, {}) for valid fields, or (partial values, DRF's field errors)."""
        errors: dict[str, Any] = {}
        clean: dict[str, Any] = {
            "text": _char(body, "text", errors, max_length=MAX_TEXT_LENGTH),
            "text_extra": _char(
                body, "text_extra", errors, max_length=MAX_TEXT_EXTRA_LENGTH, required=False
            ),
            "source": _source(body, errors),
            "incident_date_start": _datetime(body, "incident_date_start", errors, required=True),
            "incident_date_end": _datetime(body, "incident_date_end", errors, required=False),
            "category_id": self._category(body, errors),
            "extra_properties": _extra_properties(body, errors),
        }
        clean.update(self._location(body, errors))
        clean.update(_reporter(body, errors))
        _session(body, errors)
        return clean, errors

    def _location(self, body: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
        value = _nested(body, "location", errors)
        if value is None:
            return {}
        problems: dict[str, Any] = {}
        point = None
        if "geometrie" not in value:  # AddressValidationMixin: "Coordinate data must be present"
            problems["geometrie"] = [REQUIRED]
        elif (point := _point(value["geometrie"])) is None:
            problems["geometrie"] = [GEOMETRY_ERROR]
        elif not self._inside(point):
            problems["geometrie"] = [BOUNDING_BOX_ERROR]
        address = value.get("address")
        if address is not None and not isinstance(address, dict):
            problems["address"] = ["Value must be valid JSON."]
        if problems or point is None:
            errors["location"] = problems
            return {}
        # Deviation: Signalen checks the address against PDOK; the stand-in keeps it as given.
        return {"lon": point[0], "lat": point[1], "address": address or None}

    def _inside(self, point: tuple[float, float]) -> bool:
        lon_min, lat_min, lon_max, lat_max = self._box
        return lon_min <= point[0] <= lon_max and lat_min <= point[1] <= lat_max

    def _category(self, body: dict[str, Any], errors: dict[str, Any]) -> int | None:
        value = _nested(body, "category", errors)
        if value is None:
            return None
        given = [key for key in ("sub_category", "category_url") if key in value]
        if len(given) != 1:
            errors["category"] = {
                "non_field_errors": [BOTH_CATEGORIES if given else NEITHER_CATEGORY]
            }
            return None
        field, url = given[0], value[given[0]]
        if not isinstance(url, str):
            kind = type(url).__name__
            errors["category"] = {field: [f"Incorrect type. Expected URL string, received {kind}."]}
            return None
        # HyperlinkedRelatedField resolves the path only; the host is not checked.
        path = self._local_path(url)
        match = SUB_CATEGORY_PATH.fullmatch(path) if path is not None else None
        if match is None:
            wrong_view = path is not None and MAIN_CATEGORY_PATH.fullmatch(path)
            problem = "Incorrect URL match." if wrong_view else "No URL match."
            errors["category"] = {field: [f"Invalid hyperlink - {problem}"]}
            return None
        category_id = self._find_category(match[1], match[2])
        if category_id is None:
            errors["category"] = {field: ["Invalid hyperlink - Object does not exist."]}
        return category_id


def _nested(body: dict[str, Any], key: str, errors: dict[str, Any]) -> dict[str, Any] | None:
    if key not in body:
        errors[key] = [REQUIRED]
        return None
    if not isinstance(body[key], dict):
        errors[key] = {"non_field_errors": [not_a_dict(body[key])]}
        return None
    return body[key]


def _char(
    container: dict[str, Any],
    key: str,
    errors: dict[str, Any],
    *,
    max_length: int,
    required: bool = True,
    nullable: bool = False,
) -> str | None:
    """DRF's CharField: numbers become text, surrounding space is trimmed; a required field may
    not be blank, an optional one may."""
    if key not in container:
        if required:
            errors[key] = [REQUIRED]
        return None
    value = container[key]
    if value is None:
        if not nullable:
            errors[key] = ["This field may not be null."]
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        errors[key] = ["Not a valid string."]
        return None
    text = str(value).strip()
    if not text and required:
        errors[key] = ["This field may not be blank."]
        return None
    if len(text) > max_length:
        errors[key] = [f"Ensure this field has no more than {max_length} characters."]
        return None
    return text


def _datetime(
    body: dict[str, Any], key: str, errors: dict[str, Any], *, required: bool
) -> str | None:
    if key not in body or (body[key] is None and not required):
        if required:
            errors[key] = [REQUIRED]
        return None
    value = body[key]
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        errors[key] = [DATETIME_ERROR]
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=AMSTERDAM_TIME)
    return parsed.astimezone(AMSTERDAM_TIME).isoformat()


def _point(value: Any) -> tuple[float, float] | None:
    """[lon, lat] from GeoJSON or WKT "POINT (lon lat)", the two forms Signalen documents."""
    if isinstance(value, str):
        match = WKT_POINT.fullmatch(value)
        return (float(match[1]), float(match[2])) if match else None
    if not isinstance(value, dict) or value.get("type") != "Point":
        return None
    coordinates = value.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) != 2:
        return None
    if any(isinstance(c, bool) or not isinstance(c, (int, float)) for c in coordinates):
        return None
    lon, lat = float(coordinates[0]), float(coordinates[1])
    return (lon, lat) if math.isfinite(lon) and math.isfinite(lat) else None


def _source(body: dict[str, Any], errors: dict[str, Any]) -> str:
    value = _char(body, "source", errors, max_length=128, required=False)
    if value is None:
        return "online"
    # Deviation: the stand-in knows no other active public source than the default "online".
    if value.lower() != "online":
        errors["source"] = ["Invalid source given, value not known"]
    return value


def _reporter(body: dict[str, Any], errors: dict[str, Any]) -> dict[str, Any]:
    value = _nested(body, "reporter", errors)
    if value is None:
        return {}
    problems: dict[str, Any] = {}
    # nested/reporter.py: an empty email or phone is stored as null.
    email = _char(
        value, "email", problems, max_length=MAX_EMAIL_LENGTH, required=False, nullable=True
    )
    if email and not EMAIL.fullmatch(email):
        problems["email"] = ["Enter a valid email address."]
    phone = _char(
        value, "phone", problems, max_length=MAX_PHONE_LENGTH, required=False, nullable=True
    )
    sharing = value.get("sharing_allowed", False)
    if not isinstance(sharing, bool):  # DRF also takes "true"/1; the stand-in JSON booleans only
        problems["sharing_allowed"] = ["Must be a valid boolean."]
    if problems:
        errors["reporter"] = problems
        return {}
    return {
        "reporter_email": email or None,
        "reporter_phone": phone or None,
        "reporter_sharing_allowed": sharing,
    }


def _extra_properties(body: dict[str, Any], errors: dict[str, Any]) -> Any:
    value = body.get("extra_properties")
    if value is None or isinstance(value, list):
        return value
    errors["extra_properties"] = [f"{value!r} is not of type 'array'"]  # jsonschema's message
    return None


def _session(body: dict[str, Any], errors: dict[str, Any]) -> None:
    value = body.get("session")
    if value is None:
        return
    try:
        uuid.UUID(str(value))
    except ValueError:
        errors["session"] = ["Must be a valid UUID."]
        return
    # Deviation: the stand-in has no questionnaires, so no session exists.
    errors["session"] = ["Session matching query does not exist."]
