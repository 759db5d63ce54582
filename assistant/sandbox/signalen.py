"""Signalen stand-in: the public melding API (file, read, categories) over real HTTP.

Paths, status codes and bodies follow Amsterdam/signals (reference/back-office-apis.md section 3;
`api/serializers/signal.py`, `serializers/nested/*.py`, `generics/mixins.py`, `throttling.py`):
- `POST /signals/v1/public/signals/` is anonymous and throttled per client address like DRF's
  SimpleRateThrottle (PostOnlyNoUserRateThrottle, PUBLIC_THROTTLE_RATE, default 60/hour);
  429 `{"detail": ...}` with Retry-After. Every POST counts, also one that is then refused.
- A 400 is DRF's shape: field errors first (`{"text": [...]}`, `{"location": {"geometrie":
  [...]}}`); only when the fields are valid are unknown keys refused, as Signalen's
  `validate()` does: `{"non_field_errors": ["Extra properties present: <keys>"]}`.
- 201 and `GET /signals/v1/public/signals/{uuid}` answer the public view: state OPEN or CLOSED.
- `GET /signals/v1/public/terms/categories/` (HAL pagination) and the category and
  sub-category details; a melding names its sub-category by that URL, resolved by path only
  (host ignored), like DRF's HyperlinkedRelatedField.

The app may be mounted under a prefix (`add_subapp("/signalen/", ...)`): every URL it writes or
reads goes through its named routes, which carry the prefix.

Deviations, each also commented where handled: messages are DRF's English source texts (a live
Signalen runs with LANGUAGE_CODE nl-NL and sends DRF's Dutch translations of the standard ones;
clients must not parse messages); the address is stored as given (Signalen checks it against
PDOK); only the source "online" exists; no questionnaire sessions, attachments or ML prediction.

`handle_signal` changes a melding's state the way a back-office employee would (Signalen's
private API, with JWT), for demos and tests.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from assistant.sandbox import signalen_rules as rules
from assistant.sandbox.db import create_tables, engine_for
from assistant.sandbox.urls import Urls

BOUNDING_BOX = (3.3, 50.7, 7.3, 53.6)  # lon_min, lat_min, lon_max, lat_max (settings/base.py)
DEFAULT_THROTTLE_RATE = "60/hour"
AMSTERDAM_TIME = ZoneInfo("Europe/Amsterdam")
SIGNALS = "/signals/v1/public/signals/"
CATEGORIES = "/signals/v1/public/terms/categories/"
PAGE_SIZE = 100  # REST_FRAMEWORK PAGE_SIZE
# signals/apps/signals/workflow.py: the public view shows CLOSED for afgehandeld, geannuleerd
# and gesplitst, OPEN for every other state.
GEMELD = "m"
CLOSED_STATES = frozenset({"o", "a", "s"})
STATES = frozenset({"m", "i", "b", "h", "o", "a", "s", "reopened", "ingepland"})

metadata = MetaData()

category_table = Table(
    "signalen_category",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("parent_slug", String(50), nullable=False),  # "" for a main category
    Column("slug", String(50), nullable=False),
    Column("name", String(255), nullable=False),
    Column("is_active", Boolean, nullable=False),
    UniqueConstraint("parent_slug", "slug", name="uq_signalen_category_slug"),
)

signal_table = Table(
    "signalen_signal",
    metadata,
    Column("id", Integer, primary_key=True),  # "SIG-<id>"
    Column("uuid", String(36), nullable=False, unique=True),
    Column("source", String(128), nullable=False),
    Column("text", Text, nullable=False),
    Column("text_extra", Text, nullable=True),
    Column("category_id", Integer, ForeignKey("signalen_category.id"), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("address", JSON, nullable=True),
    Column("reporter_email", String(254), nullable=True),
    Column("reporter_phone", String(17), nullable=True),
    Column("reporter_sharing_allowed", Boolean, nullable=False),
    Column("extra_properties", JSON, nullable=True),
    Column("state", String(20), nullable=False),
    # ISO 8601 with offset, as Signalen renders them; the same text on SQLite and PostgreSQL.
    Column("incident_date_start", String(40), nullable=False),
    Column("incident_date_end", String(40), nullable=True),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
)

# A slice of Amsterdam's tree: the sub-categories the assistant's keyword table chooses from.
SEED: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("afval", "Afval", (("veeg-zwerfvuil", "Veeg- / zwerfvuil"),)),
    ("openbaar-groen-en-water", "Openbaar groen en water", (("boom", "Boom"),)),
    ("overig", "Overig", (("overig", "Overig"),)),
    (
        "overlast-in-de-openbare-ruimte",
        "Overlast in de openbare ruimte",
        (("fietswrak", "Fietswrak"), ("auto-scooter-bromfietswrak", "Auto- / scooter- / wrak")),
    ),
    ("overlast-van-dieren", "Overlast van dieren", (("ratten", "Ratten"),)),
    (
        "wegen-verkeer-straatmeubilair",
        "Wegen, verkeer, straatmeubilair",
        (
            ("bestrating", "Bestrating"),
            ("lantaarnpaal-straatverlichting", "Lantaarnpaal straatverlichting"),
            ("speelplaats", "Speelplaats"),
        ),
    ),
)


def create_app(
    database_url: str,
    *,
    throttle_rate: str = DEFAULT_THROTTLE_RATE,
    bounding_box: tuple[float, float, float, float] = BOUNDING_BOX,
    today: date | None = None,
) -> web.Application:
    """The Signalen stand-in on `database_url`; tables are created and categories seeded now.

    `throttle_rate` is DRF's "<n>/<second|minute|hour|day>"; `today` pins the date of every
    timestamp the server writes (the time of day stays real).
    """
    engine = engine_for(database_url)
    create_tables(engine, metadata)
    _seed(engine)
    server = _Signalen(engine, rules.Throttle(throttle_rate), bounding_box, _clock(today))
    app = web.Application()
    app.router.add_post(SIGNALS, server.create, name="signals")
    app.router.add_get(SIGNALS + "{uuid}", server.retrieve, name="signal")
    app.router.add_get(CATEGORIES, server.categories, name="categories")
    app.router.add_get(CATEGORIES + "{slug}", server.main_category, name="category")
    app.router.add_get(
        CATEGORIES + "{slug}/sub_categories/{sub_slug}", server.sub_category, name="sub_category"
    )

    async def dispose(_: web.Application) -> None:
        engine.dispose()

    app.on_cleanup.append(dispose)
    return app


def handle_signal(database_url: str, signal_id: str, state: str) -> None:
    """Set a melding's internal state (workflow code, e.g. "o" afgehandeld) as the back office
    would. Raises ValueError for an unknown state and LookupError for an unknown melding."""
    if state not in STATES:
        raise ValueError(f"unknown Signalen state {state!r}")
    engine = engine_for(database_url)
    try:
        with engine.begin() as conn:
            changed = conn.execute(
                update(signal_table)
                .where(signal_table.c.uuid == signal_id)
                .values(state=state, updated_at=datetime.now(AMSTERDAM_TIME).isoformat())
            ).rowcount
    finally:
        engine.dispose()
    if not changed:
        raise LookupError(f"no melding {signal_id}")


def _clock(today: date | None) -> Callable[[], datetime]:
    if today is None:
        return lambda: datetime.now(AMSTERDAM_TIME)
    return lambda: datetime.combine(today, datetime.now(AMSTERDAM_TIME).timetz())


def _seed(engine: Engine) -> None:
    """Insert the categories that are missing; safe to run at every start, and by two at once."""
    rows = []
    for main_slug, main_name, subs in SEED:
        rows.append({"parent_slug": "", "slug": main_slug, "name": main_name, "is_active": True})
        rows += [
            {"parent_slug": main_slug, "slug": slug, "name": name, "is_active": True}
            for slug, name in subs
        ]
    try:
        with engine.begin() as conn:
            existing = set(
                conn.execute(select(category_table.c.parent_slug, category_table.c.slug))
            )
            missing = [row for row in rows if (row["parent_slug"], row["slug"]) not in existing]
            if missing:
                conn.execute(insert(category_table), missing)
    except IntegrityError:
        pass  # another process seeded the same rows between our read and our insert


def _urls(request: web.Request) -> Urls:
    """The absolute URLs of this request's answer, with the prefix the app is mounted under."""
    return Urls(request, request.app.router, "categories", CATEGORIES)


class _Signalen:
    def __init__(
        self,
        engine: Engine,
        throttle: rules.Throttle,
        bounding_box: tuple[float, float, float, float],
        clock: Callable[[], datetime],
    ) -> None:
        self._engine = engine
        self._throttle = throttle
        self._bounding_box = bounding_box
        self._clock = clock

    async def create(self, request: web.Request) -> web.Response:
        wait = self._throttle.wait(rules.client_ident(request))
        if wait is not None:
            seconds = math.ceil(wait)
            return web.json_response(
                {"detail": f"Request was throttled. Expected available in {seconds} seconds."},
                status=429,
                headers={"Retry-After": str(seconds)},
            )
        try:
            body = await request.json()
        except ValueError as error:
            return web.json_response({"detail": f"JSON parse error - {error}"}, status=400)
        urls = _urls(request)
        status, payload = await asyncio.to_thread(self._create, body, urls)
        return web.json_response(payload, status=status)

    def _create(self, body: Any, urls: Urls) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict):
            return 400, {"non_field_errors": [rules.not_a_dict(body)]}
        with self._engine.begin() as conn:
            checker = rules.SignalChecks(
                self._bounding_box, urls.local_path, self._find_category(conn)
            )
            clean, errors = checker.check(body)
            if errors:
                return 400, errors
            extra = set(body) - rules.ALLOWED_KEYS  # Signalen's validate(), after the fields
            if extra:
                present = ", ".join(sorted(extra))
                return 400, {"non_field_errors": [f"Extra properties present: {present}"]}
            now = self._clock().isoformat()
            signal_id = conn.execute(
                insert(signal_table).values(
                    uuid=str(uuid.uuid4()), state=GEMELD, created_at=now, updated_at=now, **clean
                )
            ).inserted_primary_key[0]
            row = conn.execute(select(signal_table).where(signal_table.c.id == signal_id)).one()
        return 201, _public_signal(row, urls)

    @staticmethod
    def _find_category(conn: Any) -> Callable[[str, str], int | None]:
        def find(slug: str, sub_slug: str) -> int | None:
            return conn.execute(
                select(category_table.c.id).where(
                    category_table.c.parent_slug == slug, category_table.c.slug == sub_slug
                )
            ).scalar_one_or_none()

        return find

    async def retrieve(self, request: web.Request) -> web.Response:
        try:
            signal_id = str(uuid.UUID(request.match_info["uuid"]))
        except ValueError:
            return _not_found()
        row = await asyncio.to_thread(self._one, signal_table.c.uuid == signal_id)
        if row is None:
            return _not_found()
        return web.json_response(_public_signal(row, _urls(request)))

    def _one(self, condition: Any) -> Any:
        with self._engine.connect() as conn:
            return conn.execute(select(signal_table).where(condition)).one_or_none()

    async def categories(self, request: web.Request) -> web.Response:
        urls = _urls(request)
        try:
            page = int(request.query.get("page", "1"))
            if page < 1:
                raise ValueError
        except ValueError:
            return web.json_response({"detail": "Invalid page."}, status=404)
        tree = await asyncio.to_thread(self._tree)
        start = (page - 1) * PAGE_SIZE
        if start and start >= len(tree):
            return web.json_response({"detail": "Invalid page."}, status=404)
        listing = urls.route("categories")

        def link(number: int) -> dict[str, str | None]:
            exists = number >= 1 and (number - 1) * PAGE_SIZE < len(tree)
            return {"href": f"{listing}?page={number}" if exists else None}

        results = [
            _main_category(main, subs, urls) for main, subs in tree[start : start + PAGE_SIZE]
        ]
        return web.json_response(
            {
                "_links": {
                    "self": {"href": listing},
                    "next": link(page + 1),
                    "previous": link(page - 1),
                },
                "count": len(tree),
                "results": results,
            }
        )

    async def main_category(self, request: web.Request) -> web.Response:
        tree = await asyncio.to_thread(self._tree)
        for main, subs in tree:
            if main.slug == request.match_info["slug"]:
                return web.json_response(_main_category(main, subs, _urls(request)))
        return _not_found()

    async def sub_category(self, request: web.Request) -> web.Response:
        slug, sub_slug = request.match_info["slug"], request.match_info["sub_slug"]
        for main, subs in await asyncio.to_thread(self._tree):
            for sub in subs if main.slug == slug else ():
                if sub.slug == sub_slug:
                    return web.json_response(_sub_category(slug, sub, _urls(request)))
        return _not_found()

    def _tree(self) -> list[tuple[Any, list[Any]]]:
        """Active main categories, by slug, each with its active sub-categories."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(category_table)
                .where(category_table.c.is_active.is_(True))
                .order_by(category_table.c.slug)
            ).all()
        mains = [row for row in rows if not row.parent_slug]
        return [(main, [r for r in rows if r.parent_slug == main.slug]) for main in mains]


def _public_signal(row: Any, urls: Urls) -> dict[str, Any]:
    """PublicSignalSerializerDetail: the id, the public state and dates, nothing about people."""
    closed = row.state in CLOSED_STATES
    return {
        "_links": {"self": {"href": urls.route("signal", uuid=row.uuid)}},
        "_display": f"SIG-{row.id}",
        "id": row.id,
        "id_display": f"SIG-{row.id}",
        "signal_id": row.uuid,
        "status": {
            "state": "CLOSED" if closed else "OPEN",
            "state_display": "Gesloten" if closed else "Open",
        },
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "incident_date_start": row.incident_date_start,
        "incident_date_end": row.incident_date_end,
    }


def _links(href: str, urls: Urls) -> dict[str, Any]:
    return {
        "curies": {"name": "sia", "href": urls.root + "/signals/v1/relations"},
        "self": {"href": href},
    }


def _sub_category(main_slug: str, sub: Any, urls: Urls) -> dict[str, Any]:
    href = urls.route("sub_category", slug=main_slug, sub_slug=sub.slug)
    return {
        "_links": _links(href, urls),
        "_display": sub.name,
        "name": sub.name,
        "slug": sub.slug,
        "handling": "REST",
        "departments": [],
        "is_active": sub.is_active,
        "description": None,
        "handling_message": "",
        "public_name": None,
        "is_public_accessible": False,
    }


def _main_category(main: Any, subs: list[Any], urls: Urls) -> dict[str, Any]:
    return {
        "_links": _links(urls.route("category", slug=main.slug), urls),
        "_display": main.name,
        "name": main.name,
        "slug": main.slug,
        "public_name": None,
        "is_public_accessible": False,
        "sub_categories": [_sub_category(main.slug, sub, urls) for sub in subs],
        "configuration": {"show_children_in_filter": True},
    }


def _not_found() -> web.Response:
    return web.json_response({"detail": "Not found."}, status=404)
