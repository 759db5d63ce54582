"""Login required: every route but the login page, the health check and the stylesheets.

Public is the exception, named here, so a route another module adds is protected without
anyone remembering to. A page request without a logged-in employee is sent to /login (saying
so when the session ended by inactivity); an API request or a WebSocket gets 401 with a Dutch
message. The employee is read from the database on each request, so a removed account is out
at once, and handlers get it from `current_employee(request)`.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp_session import get_session

from assistant.console.accounts import Account
from assistant.console.context import ACCOUNTS, EMPLOYEE_KEY, Handler
from assistant.console.csrf import is_websocket_upgrade
from assistant.console.pages import refusal, wants_json
from assistant.console.sessions import ENDED_KEY

PUBLIC_PATHS = frozenset({"/login", "/health"})
PUBLIC_PREFIXES = ("/static/",)
# The session key that says who is logged in (set by login.py, and only there).
ACCOUNT_ID = "account_id"


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


@web.middleware
async def require_login(request: web.Request, handler: Handler) -> web.StreamResponse:
    if is_public(request.path):
        return await handler(request)
    employee = await logged_in_employee(request)
    if employee is None:
        if wants_json(request) or is_websocket_upgrade(request):
            return refusal(request, 401)
        raise web.HTTPSeeOther("/login?verlopen=1" if request.get(ENDED_KEY) else "/login")
    request[EMPLOYEE_KEY] = employee
    return await handler(request)


async def logged_in_employee(request: web.Request) -> Account | None:
    """The account the request's session is logged in as, if any (and if it still exists)."""
    session = await get_session(request)
    account_id = session.get(ACCOUNT_ID)
    if not isinstance(account_id, str):
        return None
    account = await asyncio.to_thread(request.app[ACCOUNTS].get, account_id)
    if account is None:
        session.invalidate()
    return account
