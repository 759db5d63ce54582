"""Wire types of the Signalen public API, with Signalen's own field names.

Source: Amsterdam/signals@adbe8fc7 as summarised in reference/back-office-apis.md section 3:
`app/signals/apps/api/serializers/signal.py` (PublicSignalCreateSerializer,
PublicSignalSerializerDetail), `serializers/nested/{location,category,reporter}.py`,
`api/tests/json_schema/get_signals_v1_public_terms_categories.json` and
`generics/mixins.py` (the bounding box). Only the public, anonymous endpoints are typed: the
assistant files a melding and reads its state as the resident would, never through the
back-office (private, JWT) API.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from typing_extensions import NotRequired

# Limits the server enforces (Signal.text max_length, Reporter.phone max_length).
MAX_TEXT_LENGTH = 3000
MAX_PHONE_LENGTH = 17


class Point(TypedDict):
    """GeoJSON point; `coordinates` is [lon, lat] in WGS84 and must lie in BOUNDING_BOX."""

    type: Literal["Point"]
    coordinates: list[float]


class Address(TypedDict, total=False):
    """BAG-style address; Signalen checks it against PDOK and keeps the original as well."""

    openbare_ruimte: str
    huisnummer: int
    huisletter: str
    huisnummer_toevoeging: str
    postcode: str
    woonplaats: str


class LocationCreate(TypedDict):
    """`geometrie` is required ("Coordinate data must be present"); `address` is optional."""

    geometrie: Point
    address: NotRequired[Address]


class CategoryCreate(TypedDict, total=False):
    """Exactly one of the two: a sub-category URL from `terms/categories/`."""

    sub_category: str
    category_url: str


class ReporterCreate(TypedDict, total=False):
    """Empty `email` or `phone` is stored as null (nested/reporter.py)."""

    email: str
    phone: str
    sharing_allowed: bool


class SignalCreate(TypedDict):
    """Body of `POST signals/v1/public/signals/`. Any key not listed here is refused with
    "Extra properties present: <keys>"."""

    text: str
    location: LocationCreate
    category: CategoryCreate
    reporter: ReporterCreate
    incident_date_start: str
    source: NotRequired[str]
    text_extra: NotRequired[str]
    incident_date_end: NotRequired[str | None]
    extra_properties: NotRequired[list[dict[str, Any]] | None]
    session: NotRequired[str | None]


class Href(TypedDict):
    href: str | None


class SelfLinks(TypedDict):
    self: Href


class PublicStatus(TypedDict):
    """Only "OPEN" or "CLOSED" today; typed as `str` so a value added later is not a type lie."""

    state: str
    state_display: str


class PublicSignal(TypedDict):
    """Answer of the create (201) and of `GET signals/v1/public/signals/{signal_id}`."""

    _links: SelfLinks
    _display: str
    id: int
    id_display: str
    signal_id: str
    status: PublicStatus
    created_at: str
    updated_at: str
    incident_date_start: str
    incident_date_end: str | None


class CategoryLinks(TypedDict):
    curies: dict[str, str]
    self: Href


class SubCategory(TypedDict):
    _links: CategoryLinks
    _display: str
    name: str
    slug: str
    handling: str
    departments: list[dict[str, Any]]
    is_active: bool
    description: str | None
    handling_message: str
    public_name: str | None
    is_public_accessible: bool


class MainCategory(TypedDict):
    _links: CategoryLinks
    _display: str
    name: str
    slug: str
    public_name: str | None
    is_public_accessible: bool
    sub_categories: list[SubCategory]
    configuration: NotRequired[dict[str, Any]]


class PageLinks(TypedDict):
    self: Href
    next: Href
    previous: Href


class CategoryPage(TypedDict):
    """HAL pagination (datapunt_api.pagination.HALPagination)."""

    _links: PageLinks
    count: int
    results: list[MainCategory]


# A 400 is DRF's plain shape: {"field": ["message"], "nested": {"field": ["message"]},
# "non_field_errors": ["message"]}; a 404 or 429 is {"detail": "message"}.
ValidationErrors = dict[str, Any]
