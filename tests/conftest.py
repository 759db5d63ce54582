"""Fixtures shared by the whole test suite.

- `assistant_stack`: the real assistant (actions, Rasa with the trained model, demo site) on free
  loopback ports, started once per test session.
- `postgres_url`: a fresh, uniquely named PostgreSQL database per test, dropped afterwards.
- `redis_url` / `redis_prefix`: the real Redis and a key prefix per test (keys deleted after).
- `silent_url`: a server that accepts connections and never answers (timeouts).

PostgreSQL and Redis are real services (127.0.0.1:5432 user postgres, 127.0.0.1:6379); when one
is not reachable the tests that need it fail with a message saying so, they are never skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import redis
import yaml
from aiohttp import web
from psycopg2 import sql

from assistant.console.accounts import AccountStore
from assistant.console.schema import ensure_schema
from assistant.content import MUNICIPALITIES_DIR
from assistant.handoff.hours import WEEKDAYS
from assistant.sandbox.server import VARIABLES as SANDBOX_VARIABLES
from assistant.sql import engine_for
from assistant.stack import Stack, StackError, channel_secrets, free_ports, running_stack
from tests.browser import browser  # noqa: F401 - the fixture, for every browser test
from tests.compose_files import COMPOSE_FILE, ENV_EXAMPLE
from tests.sandbox.serving import serving

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL_PATH = REPO_ROOT / "models" / "assistant.tar.gz"

# Overridable for machines where the services live elsewhere; the defaults are the CI services.
POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_ADMIN_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)
POSTGRES_URL_TEMPLATE = os.environ.get(
    "TEST_POSTGRES_URL_TEMPLATE", "postgresql://postgres@127.0.0.1:5432/{database}"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# The back-office sandbox's credentials for this test session, so tests can look into it. Kept
# in the environment, so every import of this module (pytest's and a test's) sees the same ones.
SANDBOX_CREDENTIALS = {
    name: os.environ.setdefault(name, secrets.token_urlsafe(16))
    for name in SANDBOX_VARIABLES.values()
}
# The WhatsApp and phone channels' secrets the test stack runs with, so tests can sign webhooks.
CHANNEL_SECRETS = {
    name: os.environ.setdefault(name, value) for name, value in channel_secrets(os.environ).items()
}


@pytest.fixture(scope="session")
def assistant_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The running assistant. Use `stack.rest_webhook_url`, `stack.demo_url`, `stack.rasa_url`.

    Conversations are kept apart by giving every test its own sender id. Logs of the three
    processes are kept under pytest's temporary directory (`stack.log_dir`); the settings they
    run with (feedback database, allowed origins) are `stack.settings`.
    """
    if not MODEL_PATH.is_file():
        pytest.fail(f"No trained model at {MODEL_PATH}: run `make train` first.", pytrace=False)
    work = tmp_path_factory.mktemp("assistant-stack")
    content = content_with_kcc_always_open(work / "content")
    rasa_port, action_port, demo_port = free_ports(3)
    try:
        with running_stack(
            MODEL_PATH,
            rasa_port=rasa_port,
            action_port=action_port,
            demo_port=demo_port,
            # Independent of the developer's own environment (e.g. production values).
            env_overrides={
                "FEEDBACK_DATABASE_URL": f"sqlite:///{work / 'feedback.sqlite'}",
                "HANDOFF_DATABASE_URL": f"sqlite:///{work / 'handoff.sqlite'}",
                # Queue timeouts are noticed within a second, not the default fifteen.
                "HANDOFF_SWEEP_SECONDS": "1",
                "ASSISTANT_CONTENT_DIR": str(content),
                "WEBCHAT_ALLOWED_ORIGINS": f"http://127.0.0.1:{demo_port},http://localhost:{demo_port}",
                "RASA_PUBLIC_URL": f"http://127.0.0.1:{rasa_port}",
                # As behind production's reverse proxy: each test resident reports an address
                # of their own in X-Forwarded-For (tests/residents.py).
                "SANIC_PROXIES_COUNT": "1",
                **SANDBOX_CREDENTIALS,
            },
            log_dir=work / "logs",
        ) as stack:
            yield stack
    except StackError as error:
        pytest.fail(f"The assistant did not start:\n{error}", pytrace=False)


def content_with_kcc_always_open(folder: Path) -> Path:
    """The shipped municipality files, with KCC chat hours round the clock, so a test that asks
    for a person is queued whatever day and hour the suite runs (the hours themselves are
    tested in tests/assistant/handoff/test_hours.py)."""
    folder.mkdir()
    for source in MUNICIPALITIES_DIR.glob("*.yml"):
        text = source.read_text(encoding="utf-8")
        kcc = yaml.safe_load(text).get("kcc") or {}
        kcc.update(
            hours={day: "00:00-24:00" for day in WEEKDAYS},
            open_on_public_holidays=True,
            closed_on=[],
        )
        # The rest as text: the content loader reads fees as exact decimals that a YAML round
        # trip would lose.
        text = re.sub(r"^kcc:\n(?:[ \t].*\n|\n)*", "", text, flags=re.M)
        kcc_yaml = yaml.safe_dump({"kcc": kcc}, allow_unicode=True)
        (folder / source.name).write_text(text + "\n" + kcc_yaml, encoding="utf-8")
    return folder


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """SQLAlchemy/psycopg2 URL of an empty database that exists only for this test."""
    with fresh_postgres_database() as url:
        yield url


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """An empty database with a unique name (its URL), dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = _postgres_admin()
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        admin.close()
    try:
        yield POSTGRES_URL_TEMPLATE.format(database=name)
    finally:
        admin = _postgres_admin()
        try:
            with admin.cursor() as cursor:
                # FORCE (PostgreSQL 13+) ends connections a test left open, e.g. a pool.
                cursor.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        finally:
            admin.close()


def _postgres_admin() -> psycopg2.extensions.connection:
    try:
        connection = psycopg2.connect(POSTGRES_ADMIN_DSN, connect_timeout=5)
    except psycopg2.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable ({POSTGRES_ADMIN_DSN}): {error}".strip(), pytrace=False
        )
    connection.autocommit = True  # CREATE/DROP DATABASE cannot run inside a transaction
    return connection


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the real Redis; checked once per session."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis is not reachable ({REDIS_URL}): {error}", pytrace=False)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix ("test:<random>:") only this test uses; its keys are deleted afterwards."""
    prefix = f"test:{uuid.uuid4().hex[:16]}:"
    yield prefix
    delete_redis_keys(redis_url, prefix)


def delete_redis_keys(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
async def silent_url() -> AsyncIterator[str]:
    """The URL of a server that accepts connections and never answers, so a client times out.

    Every handler waits for an event that is set at teardown, so the server closes at once.
    """
    release = asyncio.Event()

    async def hang(_: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hang)
    async with serving(app) as url:
        try:
            yield url
        finally:
            release.set()


@pytest.fixture
def employee(assistant_stack: Stack) -> Iterator[tuple[str, str]]:
    """A KCC employee of Utrecht (the stack's default municipality) with a console account in
    the running assistant's database: (username, password)."""
    assert assistant_stack.settings is not None
    engine = engine_for(assistant_stack.settings.handoff_database_url)
    ensure_schema(engine)
    username, password = f"sanne{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    AccountStore(engine).create(
        username, display_name="Sanne", password=password, municipalities=("utrecht",)
    )
    try:
        yield username, password
    finally:
        engine.dispose()


# --- the deployment files (tests/compose_files.py) ---------------------------------------------


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    content = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(content, dict), "docker-compose.yml must be a YAML mapping"
    return content


@pytest.fixture(scope="session")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="session")
def documented_variables() -> dict[str, str]:
    documented = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"deploy/.env.example: not NAME=value: {line!r}"
            documented[name.strip()] = value.strip()
    return documented
