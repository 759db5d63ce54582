"""The KCC console as an aiohttp application: `create_app(config)`.

The other parts of the console (the live queue, taking over a chat) are added as routes:

    def queue_routes(app: web.Application) -> None:
        app.router.add_get("/api/queue", queue)          # JSON under /api/
        app.router.add_get("/ws", live)                  # WebSocket: ?csrf_token=<token>

    app = create_app(load_console_config(), extra_routes=queue_routes)

What every added route gets without asking:

- login required: anything but /login, /health and /static/ (`guard.py`); the employee is
  `current_employee(request)`; without one, pages redirect to /login and /api/ answers 401;
- CSRF: a POST, PUT, PATCH or DELETE, and a WebSocket upgrade, must send the session's token
  (form field `csrf_token`, header `X-CSRF-Token`, or for a WebSocket the query parameter);
  `page_context(request)` gives templates the token and the employee;
- security headers, `Cache-Control: no-store`, a 64 KiB request limit, Dutch error pages.

The account and session stores are on the app (`context.ACCOUNTS`, `context.SESSIONS`). The
app runs on its own port (CONFIG.port): `python -m assistant.console` alone, or inside another
process with an `aiohttp.web.AppRunner`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web
from aiohttp_session import get_session, session_middleware
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.engine import Engine

from assistant.console import login
from assistant.console.accounts import AccountStore, Clock
from assistant.console.config import ConsoleConfig
from assistant.console.context import (
    ACCOUNTS,
    AUTH_POOL,
    CONFIG,
    SESSIONS,
    current_employee,
)
from assistant.console.csrf import csrf_protection, csrf_token
from assistant.console.errors import dutch_errors
from assistant.console.guard import require_login
from assistant.console.headers import add_security_headers
from assistant.console.pages import render, stylesheet, tokens
from assistant.console.schema import ensure_schema
from assistant.console.sessions import SessionStore, SqlSessionStorage
from assistant.handoff.store import now as utc_now
from assistant.sql import engine_for

log = logging.getLogger(__name__)

# Forms and JSON of a staff console are small; a bigger body is refused with 413 before it is
# read into memory.
MAX_REQUEST_BYTES = 64 * 1024
# Concurrent password checks (64 MiB each): enough for a shift logging in at once.
AUTH_THREADS = 2

__all__ = ["create_app", "current_employee", "page_context"]


def create_app(
    config: ConsoleConfig,
    *,
    extra_routes: Callable[[web.Application], None] | None = None,
    clock: Clock = utc_now,
    password_hasher: PasswordHasher | None = None,
) -> web.Application:
    """The console. `extra_routes(app)` adds the routes of other modules (see above); `clock`
    and `password_hasher` are for tests (a fixed time, cheap hashing)."""
    engine = engine_for(config.database_url)
    accounts = AccountStore(
        engine,
        clock=clock,
        max_failed_logins=config.max_failed_logins,
        lockout=config.lockout,
        hasher=password_hasher,
    )
    sessions = SessionStore(engine, idle=config.session_idle, clock=clock)
    storage = SqlSessionStorage(sessions, secure=config.secure_cookies)
    app = web.Application(
        client_max_size=MAX_REQUEST_BYTES,
        # Outermost first: errors see everything; the session is there for the login check,
        # which comes before CSRF so that a logged-out employee is sent to log in.
        middlewares=[dutch_errors, session_middleware(storage), require_login, csrf_protection],
    )
    app[CONFIG] = config
    app[ACCOUNTS] = accounts
    app[SESSIONS] = sessions
    app[AUTH_POOL] = ThreadPoolExecutor(AUTH_THREADS, thread_name_prefix="console-auth")
    app.on_response_prepare.append(add_security_headers)
    app.cleanup_ctx.append(_resources(engine, app[AUTH_POOL]))

    app.router.add_get("/login", login.login_page)
    app.router.add_post("/login", login.login)
    app.router.add_post("/logout", login.logout)
    app.router.add_get("/health", health)
    app.router.add_get("/static/console.css", stylesheet)
    app.router.add_get("/static/tokens.css", tokens)
    app.router.add_get("/", home)
    if extra_routes is not None:
        extra_routes(app)
    return app


async def page_context(request: web.Request) -> dict[str, Any]:
    """What `templates/base.html` needs on a logged-in page: the employee (for the header)
    and the CSRF token (for the logout button and the page's forms)."""
    return {
        "employee": current_employee(request),
        "csrf_token": csrf_token(await get_session(request)),
    }


async def home(request: web.Request) -> web.Response:
    """The queue's place; filled by the live queue (another module)."""
    return render("home.html", title="Wachtrij", **await page_context(request))


async def health(request: web.Request) -> web.Response:
    """200 when the console can reach its database, else 503 (for the orchestrator)."""
    try:
        await asyncio.to_thread(_ping, request.app[ACCOUNTS].engine)
    except Exception:
        log.warning("console health check: database unreachable", exc_info=True)
        return web.json_response({"status": "unavailable"}, status=503)
    return web.json_response({"status": "ok"})


def _ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _resources(
    engine: Engine, pool: ThreadPoolExecutor
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def tables_and_teardown(_: web.Application) -> AsyncIterator[None]:
        await asyncio.to_thread(ensure_schema, engine)
        yield
        pool.shutdown(wait=False, cancel_futures=True)
        engine.dispose()

    return tables_and_teardown
