"""Running stand-ins in tests, shared by tests/sandbox (plain HTTP) and tests/backends (clients).

Every test gets its own server on a free loopback port, with the stand-in mounted under a prefix
as a sub-app, as `assistant.sandbox.server` mounts it, so every URL a stand-in writes carries
that prefix and the host and port the client used. Also here: the one fixed date the stand-ins
run on, a port nothing listens on, the first free times of a calendar and closing its client,
and the ZGW credentials and tokens three test files use.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from assistant.backends.appointments import AppointmentSystem, Location, Product
from assistant.sandbox import zgw

S = TypeVar("S", bound=AppointmentSystem)

# Monday 2 March 2026: the six weeks ahead include Good Friday and Easter Monday.
TODAY = date(2026, 3, 2)

ZGW_CLIENT_ID = "gemeente-assistent"
ZGW_SECRET = "een-geheim-van-ruim-tweeendertig-tekens"
ZAKEN, CATALOGI = "/zaken/api/v1", "/catalogi/api/v1"
CRS = {"Accept-Crs": "EPSG:4326"}
WRITE_CRS = {"Accept-Crs": "EPSG:4326", "Content-Crs": "EPSG:4326"}


def sqlite_url(directory: Path) -> str:
    """The URL of a new SQLite file in `directory` (a test's own `tmp_path`)."""
    return f"sqlite:///{directory / 'sandbox.sqlite'}"


@asynccontextmanager
async def serving(app: web.Application, prefix: str = "") -> AsyncIterator[str]:
    """`app` on a free loopback port; yields its base URL, which ends with "/".

    With a `prefix` ("/zgw") the app is mounted under it as a sub-app and the base URL is
    "http://127.0.0.1:<port>/zgw/"; stubs of a few lines are served at the root.
    """
    name = prefix.strip("/")
    if name:
        root = web.Application()
        root.add_subapp(f"/{name}", app)
        app = root
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}/" + (f"{name}/" if name else "")
    finally:
        await server.close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on (a port bound once by us, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/"


async def free_times(system: AppointmentSystem) -> tuple[Product, Location, list[datetime]]:
    """The first product and location of a calendar stand-in (JCC, Qmatic), through a client,
    and the free times of its first open day within two weeks of TODAY."""
    product = (await system.products())[0]
    location = (await system.locations(product))[0]
    day = (await system.dates(product, location, TODAY, TODAY + timedelta(days=14)))[0]
    return product, location, await system.times(product, location, day)


@asynccontextmanager
async def closing(system: S) -> AsyncIterator[S]:
    """`system`, closed afterwards whatever the test did, so no client session is left open."""
    try:
        yield system
    finally:
        await system.close()


@asynccontextmanager
async def zgw_at(database_url: str) -> AsyncIterator[str]:
    """The Open Zaak stand-in under /zgw; yields its root without the trailing slash
    ("http://127.0.0.1:<port>/zgw"), to which the APIs' paths ("/zaken/api/v1") are added."""
    app = zgw.create_app(database_url, clients={ZGW_CLIENT_ID: ZGW_SECRET}, today=TODAY)
    async with serving(app, "/zgw") as base:
        yield base.rstrip("/")


@pytest.fixture
async def zgw_root(tmp_path: Path) -> AsyncIterator[str]:
    """A fixture (imported by the conftests of tests/sandbox and tests/backends): the root of
    an Open Zaak stand-in of this test's own, as `zgw_at` yields it."""
    async with zgw_at(sqlite_url(tmp_path)) as root:
        yield root


def zgw_token(client_id: str | None = ZGW_CLIENT_ID, secret: str = ZGW_SECRET) -> dict[str, str]:
    """An Authorization header with a ZGW JWT (payload as in the specs)."""
    payload: dict[str, Any] = {"iss": client_id or "x", "iat": int(time.time())}
    if client_id is not None:
        payload.update(client_id=client_id, user_id="test", user_representation="Test")
    return {"Authorization": f"Bearer {jwt.encode(payload, secret, algorithm='HS256')}"}
