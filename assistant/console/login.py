"""Logging in and out: `GET/POST /login`, `POST /logout`.

One form, in one or two steps: username and password, then, for accounts with an authenticator
app, its code. The step lives in the session (which account passed the password, until when),
never in the form, so it cannot be skipped. Each step that changes what the session may do
starts a new session (new key, new CSRF token, the old row deleted). Errors follow the NL Design
System pattern: a summary at the top that takes the focus, linked to the field, the field
marked invalid. Wrong username and wrong password get one message, so the form does not tell
which usernames exist; a locked account gets its own, with the minutes to wait.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web
from aiohttp_session import Session, get_session

from assistant.console.accounts import Account, Outcome
from assistant.console.context import ACCOUNTS, AUTH_POOL
from assistant.console.csrf import csrf_token
from assistant.console.guard import ACCOUNT_ID, logged_in_employee
from assistant.console.pages import render
from assistant.console.sessions import end_session, rotate_session

T = TypeVar("T")

# Time to type the code after the password; then the password again.
CODE_STEP_TIME = dt.timedelta(minutes=5)
PENDING_ACCOUNT = "pending_account_id"
PENDING_UNTIL = "pending_until"
MAX_ECHOED_USERNAME = 64

WRONG_CREDENTIALS = "Gebruikersnaam of wachtwoord klopt niet."
WRONG_CODE = "De code klopt niet. Vul de code in die uw app nu laat zien."
NOTICES = {
    "uitgelogd": "U bent uitgelogd.",
    "verlopen": "U was een tijd niet actief en bent daarom uitgelogd. Log opnieuw in.",
}
CODE_STEP_EXPIRED = "Het inloggen duurde te lang. Vul uw gebruikersnaam en wachtwoord opnieuw in."


def locked_message(locked_until: dt.datetime | None, now: dt.datetime) -> str:
    left = (locked_until - now).total_seconds() if locked_until else 60.0
    minutes = max(1, math.ceil(left / 60))
    wait = "1 minuut" if minutes == 1 else f"{minutes} minuten"
    return f"Te veel mislukte pogingen. Probeer het over {wait} opnieuw."


async def login_page(request: web.Request) -> web.Response:
    if await logged_in_employee(request) is not None:
        raise web.HTTPSeeOther("/")
    session = await get_session(request)
    notice = next((text for key, text in NOTICES.items() if key in request.query), None)
    if _pending_account(request, session) is not None:
        return _form(session, step="code", notice=notice)
    return _form(session, step="password", notice=notice)


async def login(request: web.Request) -> web.Response:
    if await logged_in_employee(request) is not None:
        raise web.HTTPSeeOther("/")
    form = await request.post()
    session = await get_session(request)
    step = form.get("step")
    if step == "restart":
        _forget_pending(session)
        raise web.HTTPSeeOther("/login")
    if step == "code":
        return await _code_step(request, session, _text(form.get("code")))
    return await _password_step(
        request, session, _text(form.get("username")).strip(), _text(form.get("password"))
    )


async def logout(request: web.Request) -> web.Response:
    await end_session(request)
    raise web.HTTPSeeOther("/login?uitgelogd")


async def _password_step(
    request: web.Request, session: Session, username: str, password: str
) -> web.Response:
    errors = []
    if not username:
        errors.append(("username", "Vul uw gebruikersnaam in."))
    if not password:
        errors.append(("password", "Vul uw wachtwoord in."))
    if errors:
        return _form(session, step="password", errors=errors, username=username)
    accounts = request.app[ACCOUNTS]
    result = await _auth(request, accounts.authenticate, username, password)
    if result.outcome is Outcome.LOCKED:
        message = locked_message(result.locked_until, accounts.now())
        return _form(session, step="password", errors=[("username", message)], username=username)
    if result.outcome is Outcome.REJECTED or result.account is None:
        return _form(
            session, step="password", errors=[("password", WRONG_CREDENTIALS)], username=username
        )
    session = await rotate_session(request)
    if result.outcome is Outcome.NEEDS_CODE:
        session[PENDING_ACCOUNT] = result.account.id
        session[PENDING_UNTIL] = (accounts.now() + CODE_STEP_TIME).timestamp()
        csrf_token(session)
        raise web.HTTPSeeOther("/login")
    _log_in(session, result.account)
    raise web.HTTPSeeOther("/")


async def _code_step(request: web.Request, session: Session, code: str) -> web.Response:
    account_id = _pending_account(request, session)
    if account_id is None:
        _forget_pending(session)
        return _form(session, step="password", notice=CODE_STEP_EXPIRED)
    if not code.strip():
        return _form(session, step="code", errors=[("code", "Vul de code uit uw app in.")])
    accounts = request.app[ACCOUNTS]
    result = await _auth(request, accounts.verify_code, account_id, code)
    if result.outcome is Outcome.LOCKED:
        _forget_pending(session)
        message = locked_message(result.locked_until, accounts.now())
        return _form(session, step="password", errors=[("username", message)])
    if result.outcome is not Outcome.LOGGED_IN or result.account is None:
        return _form(session, step="code", errors=[("code", WRONG_CODE)])
    _log_in(await rotate_session(request), result.account)
    raise web.HTTPSeeOther("/")


def _log_in(session: Session, account: Account) -> None:
    session[ACCOUNT_ID] = account.id
    csrf_token(session)


def _pending_account(request: web.Request, session: Session) -> str | None:
    account_id, until = session.get(PENDING_ACCOUNT), session.get(PENDING_UNTIL)
    if not isinstance(account_id, str) or not isinstance(until, (int, float)):
        return None
    if request.app[ACCOUNTS].now().timestamp() >= until:
        return None
    return account_id


def _forget_pending(session: Session) -> None:
    session.pop(PENDING_ACCOUNT, None)
    session.pop(PENDING_UNTIL, None)


def _form(
    session: Session,
    *,
    step: str,
    errors: list[tuple[str, str]] | None = None,
    username: str = "",
    notice: str | None = None,
) -> web.Response:
    errors = errors or []
    return render(
        "login.html",
        title="Inloggen",
        step=step,
        errors=[{"field": field, "message": message} for field, message in errors],
        field_errors=dict(errors),
        username=username[:MAX_ECHOED_USERNAME],
        notice=notice,
        csrf_token=csrf_token(session),
    )


async def _auth(request: web.Request, check: Callable[..., T], *args: Any) -> T:
    """Run a blocking account check in the console's hashing pool."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[AUTH_POOL], functools.partial(check, *args))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
