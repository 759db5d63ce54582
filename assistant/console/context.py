"""What the console's handlers find on the application and the request (typed aiohttp keys).

Kept apart from `app.py` so handlers, middlewares and routes added by other modules can import
them without importing the application that imports them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from assistant.console.accounts import Account, AccountStore
from assistant.console.config import ConsoleConfig
from assistant.console.sessions import SessionStore

CONFIG = web.AppKey("console_config", ConsoleConfig)
ACCOUNTS = web.AppKey("console_accounts", AccountStore)
SESSIONS = web.AppKey("console_sessions", SessionStore)
# Password hashing takes 64 MiB and tens of milliseconds by design: a few threads of its own
# bound what a flood of login attempts can cost, and keep the default pool free.
AUTH_POOL = web.AppKey("console_auth_pool", ThreadPoolExecutor)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Set on a request by the login-required middleware: the logged-in employee.
EMPLOYEE_KEY = "console.employee"


def current_employee(request: web.Request) -> Account:
    """The logged-in employee of a request to any route that requires login (every route but
    /login, /health and /static/). A RuntimeError on a public route: a programming error."""
    employee = request.get(EMPLOYEE_KEY)
    if not isinstance(employee, Account):
        raise RuntimeError("current_employee() on a route that does not require login")
    return employee
