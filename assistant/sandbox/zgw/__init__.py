"""Stand-in for Open Zaak: the Zaken API 1.5.1 and Catalogi API 1.3.1 calls the assistant makes.

A real aiohttp server, so `assistant.backends.zgw` is tested over the wire. What it copies from
Open Zaak and its library commonground-api-common (`vng_api_common`), with the source named
where it is handled:

- JWT auth as `vng_api_common/middleware.py`: the token is decoded unverified to read the
  payload's `client_id`, whose secret then checks the HS256 signature; 403 problems with the
  codes `missing-client-identifier`, `invalid-client-identifier`, `invalid-jwt-signature`,
  `jwt-decode-error`, and `permission_denied` without a token.
- CRS negotiation as `vng_api_common/geo.py`, errors as `vng_api_common/exception_handling.py`
  (`application/problem+json`, `invalidParams` on validation errors), pagination as DRF's
  (`count/next/previous/results`, `page`, `pageSize` up to 500), `API-version` on every answer.
- URLs are built from the request's host and the app's mount prefix, so the app also works
  mounted as a sub-app (`parent.add_subapp("/zgw", create_app(...))`).

Data lives in SQLAlchemy Core tables `zgw_*` (an SQLite file or PostgreSQL). On start the demo
catalogue and two demo zaken are written again, with dates relative to `today`, so a restart
never duplicates them and ZAAK-2026-0000123 always has its planned end date ahead.

Modules: `protocol` (auth, CRS, errors, pages, URLs), `fields` (request validation), `tables`,
`zaken` and `rollen` (Zaken API), `catalogi` (Catalogi API), `demo` (seed data).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from aiohttp import web

from assistant.sandbox.db import create_tables, engine_for
from assistant.sandbox.zgw import catalogi, rollen, zaken
from assistant.sandbox.zgw.demo import seed
from assistant.sandbox.zgw.fields import rsin_ok, today_of
from assistant.sandbox.zgw.protocol import (
    CATALOGI,
    CLIENTS,
    ENGINE,
    RSIN,
    TODAY,
    UUID,
    ZAKEN,
    envelope,
)
from assistant.sandbox.zgw.tables import metadata

__all__ = ["DEFAULT_RSIN", "create_app"]

DEFAULT_RSIN = "002220647"  # passes the 11-proef


def create_app(
    database_url: str,
    *,
    clients: Mapping[str, str],
    rsin: str = DEFAULT_RSIN,
    today: date | None = None,
) -> web.Application:
    """The Open Zaak stand-in. `clients` maps client_id -> secret; `today` fixes the date the
    demo data and new zaken are dated from (default: the real today)."""
    if not rsin_ok(rsin):
        raise ValueError(f"RSIN {rsin!r} fails the 11-proef")
    app = web.Application(middlewares=[envelope])
    app[ENGINE] = engine_for(database_url)
    app[CLIENTS] = dict(clients)
    app[RSIN] = rsin
    app[TODAY] = today
    routes = (
        ("GET", f"{ZAKEN}/zaken", zaken.list_zaken, "zaak_list"),
        ("POST", f"{ZAKEN}/zaken", zaken.create_zaak, None),
        ("GET", f"{ZAKEN}/zaken/{UUID}", zaken.get_zaak, None),
        ("GET", f"{ZAKEN}/statussen", zaken.list_statussen, None),
        ("POST", f"{ZAKEN}/statussen", zaken.create_status, None),
        ("GET", f"{ZAKEN}/statussen/{UUID}", zaken.get_status, None),
        ("GET", f"{ZAKEN}/rollen", rollen.list_rollen, None),
        ("POST", f"{ZAKEN}/rollen", rollen.create_rol, None),
        ("GET", f"{ZAKEN}/rollen/{UUID}", rollen.get_rol, None),
        ("GET", f"{CATALOGI}/zaaktypen", catalogi.list_zaaktypen, None),
        ("GET", f"{CATALOGI}/zaaktypen/{UUID}", catalogi.get_zaaktype, None),
        ("GET", f"{CATALOGI}/statustypen", catalogi.list_statustypen, None),
        ("GET", f"{CATALOGI}/statustypen/{UUID}", catalogi.get_statustype, None),
        ("GET", f"{CATALOGI}/roltypen", catalogi.list_roltypen, None),
        ("GET", f"{CATALOGI}/roltypen/{UUID}", catalogi.get_roltype, None),
    )
    for method, path, handler, name in routes:
        app.router.add_route(method, path, handler, name=name)
    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
    return app


async def _start(app: web.Application) -> None:
    create_tables(app[ENGINE], metadata)
    seed(app[ENGINE], app[RSIN], today_of(app))


async def _stop(app: web.Application) -> None:
    app[ENGINE].dispose()
