"""Meldingen openbare ruimte as the assistant knows them: file one, read its state.

Actions use `ReportService` and the neutral types here; Signalen's wire format stays in `types`
and `client`, and is translated once, in this module.

Checked before anything is sent, raising `ReportInvalid` (a ValueError) that names the field:
- `text` longer than Signalen's 3000 characters is refused, not cut. A cut description can lose
  exactly the detail the back office needs (the hazard, the spot), and nobody would notice; the
  assistant asks the resident for a shorter description instead. An empty text is refused too.
- `phone` longer than 17 characters after removing spaces, dashes, dots and brackets.
- a location without coordinates when no `fallback_point` is configured.

Signalen requires a point (`location.geometrie`, "Coordinate data must be present"), while a
resident in a chat often gives only an address. With `fallback_point` (the municipality's centre,
from its configuration) such a melding is filed at that point *with* the address, which Signalen
checks against PDOK and which the back office routes by; without it, the melding is refused
before sending rather than placed somewhere arbitrary.

Writes fail loudly: `file` returns a Report only for a melding Signalen confirmed (201).

The category list is read once per service (`ensure_available` reads it when a resident starts,
so a filing is then a single call). A filing that still has to read it waits at most
`CATEGORY_SECONDS`: a Signalen that does not list its categories in that time is not answering,
and posting into it would keep the resident waiting a second full timeout, past the 3 seconds
in which they must hear what else they can do. A list that fails quickly (a 503, a refusal)
still degrades to the built-in table.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from zoneinfo import ZoneInfo

from assistant.backends.errors import (
    BackendError,
    BackendRejected,
    BackendUnavailable,
    NotConfigured,
    NotFound,
)
from assistant.backends.signalen.categories import FALLBACK, PARENTS, choose_category
from assistant.backends.signalen.client import SignalenClient
from assistant.backends.signalen.types import (
    MAX_PHONE_LENGTH,
    MAX_TEXT_LENGTH,
    Address,
    LocationCreate,
    PublicSignal,
    ReporterCreate,
    SignalCreate,
)

__all__ = [
    "Report",
    "ReportInvalid",
    "ReportLocation",
    "ReportService",
    "ReportState",
    "Reporter",
    "choose_category",
]

log = logging.getLogger(__name__)
AMSTERDAM_TIME = ZoneInfo("Europe/Amsterdam")
PHONE_SEPARATORS = re.compile(r"[\s().-]")
HOUSE_NUMBER = re.compile(r"(\d{1,5})\s*(.*)")
SLUG = re.compile(r"[-\w]+")
CATEGORY_SECONDS = 1.0


class ReportInvalid(ValueError):
    """The melding cannot be accepted by Signalen; found before sending. `field` is "text",
    "phone" or "location", so the action knows what to ask the resident again."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class ReportState(str, Enum):
    """The public state. Signalen exposes only OPEN and CLOSED (CLOSED covers afgehandeld,
    geannuleerd and gesplitst); anything else it may send later becomes UNKNOWN."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def _missing_(cls, value: object) -> ReportState:
        return cls.UNKNOWN


@dataclass(frozen=True)
class Report:
    number: str  # "SIG-123": what the resident quotes when calling the municipality
    id: str  # the uuid; the only key the public API can look a melding up by
    state: ReportState
    created_at: datetime


@dataclass(frozen=True)
class ReportLocation:
    """Where it is: coordinates (WGS84), an address, or both. `house_number` is as typed ("12a").

    An address is a street, or a postcode with a house number: a resident in a chat often
    knows the postcode and number rather than the street, and the pair names one address.
    """

    street: str | None = None
    house_number: str | None = None
    postcode: str | None = None
    city: str | None = None
    lon: float | None = None
    lat: float | None = None

    def __post_init__(self) -> None:
        if (self.lon is None) != (self.lat is None):
            raise ReportInvalid("location", "give both lon and lat, or neither")
        if not self.has_point and not self.has_address:
            raise ReportInvalid(
                "location", "needs coordinates or a street, or a postcode with a house number"
            )

    @property
    def has_point(self) -> bool:
        return self.lon is not None and self.lat is not None

    @property
    def has_address(self) -> bool:
        if self.street and self.street.strip():
            return True
        return bool(
            self.postcode
            and self.postcode.strip()
            and HOUSE_NUMBER.fullmatch((self.house_number or "").strip())
        )


@dataclass(frozen=True)
class Reporter:
    """Contact details the resident chose to give; `sharing_allowed` lets Signalen pass them on
    to a third party handling the melding."""

    email: str | None = None
    phone: str | None = None
    sharing_allowed: bool = False


def _now() -> datetime:
    return datetime.now(AMSTERDAM_TIME)


class ReportService:
    """Files meldingen and reads their state through one SignalenClient."""

    def __init__(
        self,
        client: SignalenClient,
        *,
        fallback_point: tuple[float, float] | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._client = client
        self._fallback_point = fallback_point
        self._clock = clock
        self._offered: dict[str, str] | None = None

    async def file(
        self,
        text: str,
        location: ReportLocation,
        category_slug: str,
        reporter: Reporter | None = None,
    ) -> Report:
        """File a melding and return it as Signalen confirmed it (state OPEN).

        `category_slug` is a sub-category slug (from `choose_category`) or "main/sub". A slug
        this Signalen does not offer is filed under "overig". Raises ReportInvalid (before
        sending), BackendRejected (400: `code` names the field, e.g. "location.geometrie" for a
        point outside the bounding box; 429: code "throttled"), BackendUnavailable, or
        NotConfigured when the server offers neither the category nor "overig".
        """
        description = _checked_text(text)
        where = self._location(location)
        who = _reporter(reporter or Reporter())
        body: SignalCreate = {
            "text": description,
            "location": where,
            "category": {"sub_category": await self._category_url(category_slug)},
            "reporter": who,
            "incident_date_start": self._clock().isoformat(timespec="seconds"),
        }
        return to_report(await self._client.create_signal(body))

    async def ensure_available(self) -> None:
        """Read the category list now and keep it, so a filing later is one call.

        Raises BackendUnavailable when Signalen does not answer (timeout, 5xx, no connection):
        the assistant then offers another way before the resident describes anything. A refusal
        of the list (4xx) is no sign of that; a filing then uses the built-in table.
        """
        if self._offered is None:
            try:
                self._offered = await self._read_categories()
            except (BackendRejected, NotFound) as error:
                log.warning("Signalen categories refused, using the built-in table: %s", error)

    async def state(self, report_id: str) -> Report:
        """The melding with uuid `report_id` as Signalen shows it now.

        Raises NotFound (unknown or not a uuid), BackendUnavailable or BackendRejected; the
        action then says it cannot look the melding up right now.
        """
        return to_report(await self._client.get_signal(report_id))

    def _location(self, location: ReportLocation) -> LocationCreate:
        if location.lon is not None and location.lat is not None:
            point = (float(location.lon), float(location.lat))
        elif self._fallback_point is not None:
            point = self._fallback_point
        else:
            raise ReportInvalid("location", "Signalen needs coordinates; no fallback point is set")
        result: LocationCreate = {"geometrie": {"type": "Point", "coordinates": list(point)}}
        if location.has_address:
            result["address"] = _address(location)
        return result

    async def _category_url(self, slug: str) -> str:
        main, _, sub = slug.strip().rpartition("/")
        if not SLUG.fullmatch(sub) or (main and not SLUG.fullmatch(main)):
            main, sub = "", FALLBACK.sub_slug  # never put an odd string into a URL path
        main = main or PARENTS.get(sub, "")
        offered = await self._offered_categories()
        if not offered:  # the list could not be read: build the URL from our own table
            if not main:
                main, sub = FALLBACK.main_slug, FALLBACK.sub_slug
            return self._client.sub_category_url(main, sub)
        keys = [f"{main}/{sub}"] if main else []
        keys += [sub, f"{FALLBACK.main_slug}/{FALLBACK.sub_slug}", FALLBACK.sub_slug]
        for key in keys:
            if key in offered:
                if key not in (keys[0], sub):
                    log.info("Signalen offers no category %r; filing under %r", slug, key)
                return offered[key]
        raise NotConfigured("signalen", f"neither {slug!r} nor 'overig' is an offered category")

    async def _offered_categories(self) -> dict[str, str]:
        """Active sub-category URLs by "main/sub" and by "sub", read once per service. A failed
        read is not cached: it degrades to our own table for this melding only. A read that
        takes longer than CATEGORY_SECONDS raises BackendUnavailable: Signalen is not answering.
        """
        if self._offered is None:
            try:
                self._offered = await asyncio.wait_for(self._read_categories(), CATEGORY_SECONDS)
            except asyncio.TimeoutError:
                raise BackendUnavailable(
                    "signalen", f"no category list within {CATEGORY_SECONDS} s"
                ) from None
            except BackendError as error:
                log.warning("Signalen categories unreadable, using the built-in table: %s", error)
                return {}
        return self._offered

    async def _read_categories(self) -> dict[str, str]:
        offered: dict[str, str] = {}
        for main in await self._client.list_categories():
            for sub in main.get("sub_categories", []):
                href = sub.get("_links", {}).get("self", {}).get("href")
                if sub.get("is_active", True) and href:
                    offered[f"{main['slug']}/{sub['slug']}"] = href
                    offered.setdefault(sub["slug"], href)
        return offered


def to_report(payload: PublicSignal) -> Report:
    """Signalen's public view of a melding as a Report; a shape we cannot read is not a
    confirmation, so it raises BackendUnavailable."""
    try:
        return Report(
            number=str(payload["id_display"]),
            id=str(payload["signal_id"]),
            state=ReportState(payload["status"]["state"]),
            created_at=datetime.fromisoformat(payload["created_at"].replace("Z", "+00:00")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise BackendUnavailable(
            "signalen", f"answered an unexpected shape ({type(error).__name__})"
        ) from None


def _checked_text(text: str) -> str:
    description = text.strip()
    if not description:
        raise ReportInvalid("text", "a melding needs a description")
    if len(description) > MAX_TEXT_LENGTH:
        raise ReportInvalid(
            "text", f"{len(description)} characters; Signalen accepts at most {MAX_TEXT_LENGTH}"
        )
    return description


def _reporter(reporter: Reporter) -> ReporterCreate:
    result: ReporterCreate = {"sharing_allowed": reporter.sharing_allowed}
    if reporter.email and reporter.email.strip():
        result["email"] = reporter.email.strip()
    phone = PHONE_SEPARATORS.sub("", reporter.phone or "")
    if len(phone) > MAX_PHONE_LENGTH:
        raise ReportInvalid("phone", f"longer than {MAX_PHONE_LENGTH} characters")
    if phone:
        result["phone"] = phone
    return result


def _address(location: ReportLocation) -> Address:
    address: Address = {}
    if location.street and location.street.strip():
        address["openbare_ruimte"] = location.street.strip()
    match = HOUSE_NUMBER.fullmatch((location.house_number or "").strip())
    if match:
        address["huisnummer"] = int(match.group(1))
        rest = match.group(2).strip(" -")
        if len(rest) == 1 and rest.isalpha():
            address["huisletter"] = rest.upper()
        elif rest:
            address["huisnummer_toevoeging"] = rest
    if location.postcode and location.postcode.strip():
        address["postcode"] = location.postcode.replace(" ", "").upper()
    if location.city and location.city.strip():
        address["woonplaats"] = location.city.strip()
    return address
