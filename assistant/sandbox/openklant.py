"""Open Klant stand-in: the Klantinteracties klantcontacten the assistant writes, over real HTTP.

Follows maykinmedia/open-klant (reference/back-office-apis.md section 1, "Klantinteracties"):
- Every endpoint needs `Authorization: Token <key>` (DRF TokenAuthentication over Open Klant's
  TokenAuth keys). No header or another scheme: 401 `not_authenticated`; an unknown key: 401
  `authentication_failed`; both with `WWW-Authenticate: Token`. Open Klant answers no 403 for a
  key: TokenPermissions only checks that a valid key was given.
- Errors are problem+json from vng_api_common's handler: `{type, code, title, status, detail,
  instance}`, plus `invalidParams: [{name, code, reason}]` on a 400, `name` being the dotted
  camelCase path ("klantcontact.onderwerp").
- `POST /klantinteracties/api/v1/maak-klantcontact` creates klantcontact, betrokkene and
  onderwerpobject in one transaction and answers 201 with all three.
- `GET .../klantcontacten` (`{count, next, previous, results}`, `?page=&pageSize=`, newest
  first) and `GET .../klantcontacten/{uuid}`; `betrokkenen/{uuid}` and `onderwerpobjecten/{uuid}`
  too, so every URL the stand-in writes resolves.

The app may be mounted under a prefix; URLs are built from its named routes and `request.url`
(`assistant.sandbox.urls`), so they carry the prefix. Messages are DRF's Dutch ones that Open
Klant's tests assert (its LANGUAGE_CODE is nl); clients rely on `code` and `invalidParams`,
never on text.

Deviations: there are no partijen, so `betrokkene.wasPartij` must be null or absent (Open Klant
checks that the partij exists); `kanaal` is not checked against the referentielijsten (Open Klant
does that only when configured); no expand, filters or other resources.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Collection
from datetime import date, datetime, timezone
from typing import Any

from aiohttp import web
from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine

from assistant.sandbox import openklant_rules as rules
from assistant.sandbox.db import create_tables, engine_for
from assistant.sandbox.urls import Urls

API = "/klantinteracties/api/v1"
MAX_PAGE_SIZE = 500

metadata = MetaData()

klantcontact_table = Table(
    "klant_klantcontact",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("nummer", String(10), nullable=False),
    Column("kanaal", String(50), nullable=False),
    Column("onderwerp", String(200), nullable=False),
    Column("inhoud", String(1000), nullable=False),
    Column("indicatie_contact_gelukt", Boolean, nullable=True),
    Column("taal", String(3), nullable=False),
    Column("vertrouwelijk", Boolean, nullable=False),
    Column("plaatsgevonden_op", String(40), nullable=False),  # ISO 8601, as rendered
)

betrokkene_table = Table(
    "klant_betrokkene",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("klantcontact_id", Integer, ForeignKey("klant_klantcontact.id"), nullable=False),
    Column("rol", String(50), nullable=False),
    Column("organisatienaam", String(200), nullable=False),
    Column("initiator", Boolean, nullable=False),
)

onderwerpobject_table = Table(
    "klant_onderwerpobject",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("klantcontact_id", Integer, ForeignKey("klant_klantcontact.id"), nullable=False),
    Column("object_id", String(200), nullable=False),
    Column("code_objecttype", String(200), nullable=False),
    Column("code_register", String(200), nullable=False),
    Column("code_soort_object_id", String(200), nullable=False),
)


def create_app(
    database_url: str, *, tokens: Collection[str], today: date | None = None
) -> web.Application:
    """The Open Klant stand-in on `database_url`, accepting the API keys in `tokens`.

    `today` pins the date of a klantcontact registered without `plaatsgevondenOp`.
    """
    keys = tuple(token.strip() for token in tokens if token.strip())
    if not keys:
        raise ValueError("the Open Klant sandbox needs at least one API token")
    engine = engine_for(database_url)
    create_tables(engine, metadata)
    app = web.Application()
    app.middlewares.append(rules.token_middleware(keys, app.router))
    server = _OpenKlant(engine, app.router, _clock(today))
    app.router.add_post(f"{API}/maak-klantcontact", server.maak_klantcontact)
    app.router.add_get(f"{API}/klantcontacten", server.klantcontacten, name="klantcontacten")
    app.router.add_get(f"{API}/klantcontacten/{{uuid}}", server.klantcontact, name="klantcontact")
    app.router.add_get(f"{API}/betrokkenen/{{uuid}}", server.betrokkene, name="betrokkene")
    app.router.add_get(
        f"{API}/onderwerpobjecten/{{uuid}}", server.onderwerpobject, name="onderwerpobject"
    )

    async def dispose(_: web.Application) -> None:
        engine.dispose()

    app.on_cleanup.append(dispose)
    return app


def _clock(today: date | None) -> Callable[[], datetime]:
    if today is None:
        return lambda: datetime.now(timezone.utc)
    return lambda: datetime.combine(today, datetime.now(timezone.utc).timetz())


class _OpenKlant:
    def __init__(
        self, engine: Engine, router: web.UrlDispatcher, clock: Callable[[], datetime]
    ) -> None:
        self._engine = engine
        self._router = router
        self._clock = clock

    async def maak_klantcontact(self, request: web.Request) -> web.Response:
        urls = rules.urls_for(request, self._router)
        try:
            body = await request.json()
        except ValueError:
            return rules.problem(urls, 400, "parse_error", "ParseError", "JSON parse error.")
        data, problems = rules.check_maak_klantcontact(body)
        if problems:
            return rules.invalid(urls, problems)
        data["klantcontact"].setdefault("plaatsgevonden_op", self._clock().isoformat())
        contact_id = await asyncio.to_thread(self._store, data)
        contact, people, subjects = await asyncio.to_thread(self._load, contact_id)
        return web.json_response(
            {
                "klantcontact": _klantcontact(contact, people, subjects, urls),
                "betrokkene": _betrokkene(people[0], contact, urls) if people else None,
                "onderwerpobject": _onderwerpobject(subjects[0], contact, urls)
                if subjects
                else None,
            },
            status=201,
        )

    def _store(self, data: dict[str, Any]) -> int:
        """All three rows in one transaction, as MaakKlantcontactSerializer.create does."""
        with self._engine.begin() as conn:
            contact = dict(data["klantcontact"])
            contact_id = conn.execute(
                insert(klantcontact_table).values(
                    uuid=str(uuid.uuid4()), nummer=contact.pop("nummer", None) or "", **contact
                )
            ).inserted_primary_key[0]
            # Open Klant numbers klantcontacten itself when no nummer is given: ten digits.
            conn.execute(
                update(klantcontact_table)
                .where(klantcontact_table.c.id == contact_id, klantcontact_table.c.nummer == "")
                .values(nummer=f"{contact_id:010d}")
            )
            for table, key in (
                (betrokkene_table, "betrokkene"),
                (onderwerpobject_table, "onderwerpobject"),
            ):
                if data.get(key) is not None:
                    conn.execute(
                        insert(table).values(
                            uuid=str(uuid.uuid4()), klantcontact_id=contact_id, **data[key]
                        )
                    )
        return contact_id

    def _load(self, contact_id: int) -> tuple[Any, list[Any], list[Any]]:
        contacts, people, subjects = self._load_many([contact_id])
        return contacts[0], people[contact_id], subjects[contact_id]

    def _load_many(
        self, contact_ids: list[int]
    ) -> tuple[list[Any], dict[int, list[Any]], dict[int, list[Any]]]:
        with self._engine.connect() as conn:
            contacts = conn.execute(
                select(klantcontact_table)
                .where(klantcontact_table.c.id.in_(contact_ids))
                .order_by(klantcontact_table.c.id.desc())
            ).all()
            related = []
            for table in (betrokkene_table, onderwerpobject_table):
                rows = conn.execute(
                    select(table)
                    .where(table.c.klantcontact_id.in_(contact_ids))
                    .order_by(table.c.id)
                ).all()
                grouped: dict[int, list[Any]] = {contact_id: [] for contact_id in contact_ids}
                for row in rows:
                    grouped[row.klantcontact_id].append(row)
                related.append(grouped)
        return contacts, related[0], related[1]

    async def klantcontacten(self, request: web.Request) -> web.Response:
        urls = rules.urls_for(request, self._router)
        try:
            page = int(request.query.get("page", "1"))
            size = min(int(request.query.get("pageSize", "100")), MAX_PAGE_SIZE)
            if page < 1 or size < 1:
                raise ValueError
        except ValueError:
            return rules.problem(urls, 404, "not_found", "NotFound", "Ongeldige pagina.")
        count, contacts, people, subjects = await asyncio.to_thread(self._page, page, size)
        if page > 1 and not contacts:
            return rules.problem(urls, 404, "not_found", "NotFound", "Ongeldige pagina.")
        listing = urls.route("klantcontacten")
        sized = "" if "pageSize" not in request.query else f"&pageSize={size}"

        def link(number: int) -> str | None:
            exists = number >= 1 and (number - 1) * size < count
            return f"{listing}?page={number}{sized}" if exists else None

        results = [_klantcontact(c, people[c.id], subjects[c.id], urls) for c in contacts]
        return web.json_response(
            {"count": count, "next": link(page + 1), "previous": link(page - 1), "results": results}
        )

    def _page(
        self, page: int, size: int
    ) -> tuple[int, list[Any], dict[int, list[Any]], dict[int, list[Any]]]:
        with self._engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(klantcontact_table)).scalar_one()
            ids = list(
                conn.execute(
                    select(klantcontact_table.c.id)
                    .order_by(klantcontact_table.c.id.desc())
                    .limit(size)
                    .offset((page - 1) * size)
                ).scalars()
            )
        if not ids:
            return count, [], {}, {}
        return (count, *self._load_many(ids))

    async def klantcontact(self, request: web.Request) -> web.Response:
        urls = rules.urls_for(request, self._router)
        row = await self._by_uuid(klantcontact_table, request)
        if row is None:
            return rules.not_found(urls)
        contact, people, subjects = await asyncio.to_thread(self._load, row.id)
        return web.json_response(_klantcontact(contact, people, subjects, urls))

    async def betrokkene(self, request: web.Request) -> web.Response:
        return await self._child(request, betrokkene_table, _betrokkene)

    async def onderwerpobject(self, request: web.Request) -> web.Response:
        return await self._child(request, onderwerpobject_table, _onderwerpobject)

    async def _child(
        self, request: web.Request, table: Table, render: Callable[..., dict[str, Any]]
    ) -> web.Response:
        urls = rules.urls_for(request, self._router)
        row = await self._by_uuid(table, request)
        if row is None:
            return rules.not_found(urls)
        contact, _, _ = await asyncio.to_thread(self._load, row.klantcontact_id)
        return web.json_response(render(row, contact, urls))

    async def _by_uuid(self, table: Table, request: web.Request) -> Any:
        try:
            key = str(uuid.UUID(request.match_info["uuid"]))
        except ValueError:
            return None

        def one() -> Any:
            with self._engine.connect() as conn:
                return conn.execute(select(table).where(table.c.uuid == key)).one_or_none()

        return await asyncio.to_thread(one)


def _ref(urls: Urls, route: str, key: str) -> dict[str, str]:
    return {"uuid": key, "url": urls.route(route, uuid=key)}


def _klantcontact(
    contact: Any, people: list[Any], subjects: list[Any], urls: Urls
) -> dict[str, Any]:
    return {
        "uuid": contact.uuid,
        "url": urls.route("klantcontact", uuid=contact.uuid),
        "gingOverOnderwerpobjecten": [_ref(urls, "onderwerpobject", s.uuid) for s in subjects],
        "hadBetrokkenActoren": [],
        "omvatteBijlagen": [],
        "hadBetrokkenen": [_ref(urls, "betrokkene", p.uuid) for p in people],
        "leiddeTotInterneTaken": [],
        "nummer": contact.nummer,
        "kanaal": contact.kanaal,
        "onderwerp": contact.onderwerp,
        "inhoud": contact.inhoud,
        "indicatieContactGelukt": contact.indicatie_contact_gelukt,
        "taal": contact.taal,
        "vertrouwelijk": contact.vertrouwelijk,
        "plaatsgevondenOp": contact.plaatsgevonden_op,
    }


def _betrokkene(person: Any, contact: Any, urls: Urls) -> dict[str, Any]:
    return {
        "uuid": person.uuid,
        "url": urls.route("betrokkene", uuid=person.uuid),
        "wasPartij": None,
        "hadKlantcontact": _ref(urls, "klantcontact", contact.uuid),
        "digitaleAdressen": [],
        "bezoekadres": None,
        "correspondentieadres": None,
        "contactnaam": None,
        "volledigeNaam": "",
        "rol": person.rol,
        "organisatienaam": person.organisatienaam,
        "initiator": person.initiator,
    }


def _onderwerpobject(subject: Any, contact: Any, urls: Urls) -> dict[str, Any]:
    return {
        "uuid": subject.uuid,
        "url": urls.route("onderwerpobject", uuid=subject.uuid),
        "klantcontact": _ref(urls, "klantcontact", contact.uuid),
        "wasKlantcontact": None,
        "onderwerpobjectidentificator": {
            "objectId": subject.object_id,
            "codeObjecttype": subject.code_objecttype,
            "codeRegister": subject.code_register,
            "codeSoortObjectId": subject.code_soort_object_id,
        },
    }
