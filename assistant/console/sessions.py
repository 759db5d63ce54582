"""Employees' sessions, kept on the server in SQL, for aiohttp-session.

The cookie holds only a random key (`secrets.token_urlsafe(32)`); what the session says (who is
logged in, the CSRF token) stays in the database, under the key's SHA-256, so a copy of the
table cannot be replayed as cookies. Every console process sees the same sessions, and logging
out, or an administrator setting a new password, ends a session at once.

A session ends after a period without requests (CONSOLE_SESSION_IDLE_MINUTES): each request
moves its end forward (at most once a minute, to spare the database a write per request). The
cookie itself has no lifetime, so the browser forgets it when it closes, and it is `HttpOnly`,
`SameSite=Strict`, and `Secure` with the `__Host-` prefix in production. Logging in starts a
new session under a new key (`rotate_session`), so a key planted before login is worth nothing.
Ended sessions are purged now and then, when a new one is made.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp_session import STORAGE_KEY, AbstractStorage, Session, get_session, new_session
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from assistant.console.schema import sessions
from assistant.handoff.store import aware
from assistant.handoff.store import now as utc_now

Clock = Callable[[], dt.datetime]

COOKIE_NAME = "kcc_sessie"
RENEW_AFTER = dt.timedelta(minutes=1)
PURGE_EVERY = dt.timedelta(minutes=5)
_MAX_KEY_LENGTH = 64  # token_urlsafe(32) is 43 characters
# Set on a request that came with a cookie of a session that has ended (to say so at login).
ENDED_KEY = "console.session_ended"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class SessionStore:
    """The session rows; blocking calls (the storage below runs them in a thread)."""

    def __init__(self, engine: Engine, *, idle: dt.timedelta, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._idle = idle
        self._clock = clock
        self._purged_at: dt.datetime | None = None

    def now(self) -> dt.datetime:
        return self._clock().astimezone(dt.timezone.utc)

    def load(self, key: str) -> dict[str, Any] | None:
        """The data of a live session, whose end moves forward; None when it has ended."""
        now = self.now()
        with self._engine.begin() as connection:
            row = connection.execute(
                select(sessions.c.data, sessions.c.expires_at).where(
                    sessions.c.key_hash == _digest(key), sessions.c.expires_at > now
                )
            ).first()
            if row is None:
                return None
            if now + self._idle - aware(row.expires_at) >= RENEW_AFTER:  # type: ignore[operator]
                connection.execute(
                    update(sessions)
                    .where(sessions.c.key_hash == _digest(key))
                    .values(expires_at=now + self._idle)
                )
        data = json.loads(row.data)
        return data if isinstance(data, dict) else None

    def ends_at(self, key: str) -> dt.datetime | None:
        """When the session with cookie `key` ends, read without moving that end (the live
        feed checks it; only what the employee does keeps a session alive). None: no such
        session."""
        with self._engine.connect() as connection:
            row = connection.execute(
                select(sessions.c.expires_at).where(sessions.c.key_hash == _digest(key))
            ).first()
        return aware(row.expires_at) if row is not None else None

    def create(self, data: dict[str, Any]) -> str:
        """Store a new session and return its key (for the cookie)."""
        key = secrets.token_urlsafe(32)
        now = self.now()
        with self._engine.begin() as connection:
            connection.execute(
                insert(sessions).values(
                    key_hash=_digest(key),
                    account_id=data.get("account_id"),
                    data=json.dumps(data),
                    expires_at=now + self._idle,
                )
            )
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
            self.purge_expired()
        return key

    def save(self, key: str, data: dict[str, Any]) -> bool:
        """Replace a live session's data; False when it ended meanwhile (it stays ended)."""
        now = self.now()
        with self._engine.begin() as connection:
            return (
                connection.execute(
                    update(sessions)
                    .where(sessions.c.key_hash == _digest(key), sessions.c.expires_at > now)
                    .values(
                        account_id=data.get("account_id"),
                        data=json.dumps(data),
                        expires_at=now + self._idle,
                    )
                ).rowcount
                == 1
            )

    def delete(self, key: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(delete(sessions).where(sessions.c.key_hash == _digest(key)))

    def end_for_account(self, account_id: str) -> int:
        """End every session of an account (a new password, a removed account)."""
        with self._engine.begin() as connection:
            return connection.execute(
                delete(sessions).where(sessions.c.account_id == account_id)
            ).rowcount

    def purge_expired(self) -> int:
        now = self.now()
        self._purged_at = now
        with self._engine.begin() as connection:
            return connection.execute(delete(sessions).where(sessions.c.expires_at <= now)).rowcount


class SqlSessionStorage(AbstractStorage):
    """aiohttp-session storage over `SessionStore`."""

    def __init__(self, store: SessionStore, *, secure: bool) -> None:
        super().__init__(
            # Browsers accept a __Host- cookie only with Secure, path / and no Domain, so no
            # other site on the domain can set or overwrite it.
            cookie_name=f"__Host-{COOKIE_NAME}" if secure else COOKIE_NAME,
            max_age=None,  # a browser-session cookie; the idle timeout is kept on the server
            path="/",
            secure=secure,
            httponly=True,
            samesite="Strict",
        )
        self.store = store

    async def load_session(self, request: web.Request) -> Session:
        key = self.load_cookie(request)
        data = None
        if key and len(key) <= _MAX_KEY_LENGTH:
            data = await asyncio.to_thread(self.store.load, key)
        if data is None:
            if key:
                request[ENDED_KEY] = True
            return Session(None, data=None, new=True, max_age=None)
        created = int(self.store.now().timestamp())
        return Session(key, data={"created": created, "session": data}, new=False, max_age=None)

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session
    ) -> None:
        if session.empty:
            if session.identity is not None:
                await asyncio.to_thread(self.store.delete, session.identity)
                self._forget_cookie(response)
            return
        data = dict(session)
        if session.identity is None:
            key = await asyncio.to_thread(self.store.create, data)
            session.set_new_identity(key)
            self.save_cookie(response, key)
        elif not await asyncio.to_thread(self.store.save, session.identity, data):
            self._forget_cookie(response)

    async def forget(self, session: Session) -> None:
        """Delete a session's row now (before a new session replaces it)."""
        if session.identity is not None:
            await asyncio.to_thread(self.store.delete, session.identity)

    def _forget_cookie(self, response: web.StreamResponse) -> None:
        # Not response.del_cookie: that drops Secure, and a browser then ignores a __Host-
        # cookie's deletion.
        response.set_cookie(
            self.cookie_name,
            "",
            max_age=0,
            expires="Thu, 01 Jan 1970 00:00:00 GMT",
            path="/",
            secure=self.cookie_params.get("secure"),
            httponly=True,
            samesite="Strict",
        )


def _storage(request: web.Request) -> SqlSessionStorage:
    storage = request.get(STORAGE_KEY)
    if not isinstance(storage, SqlSessionStorage):
        raise RuntimeError("the console's session middleware is not installed")
    return storage


async def rotate_session(request: web.Request) -> Session:
    """A new, empty session under a new key, replacing the request's current one (whose row is
    deleted). Call it when the employee's privileges change: at each login step."""
    await _storage(request).forget(await get_session(request))
    return await new_session(request)


async def end_session(request: web.Request) -> None:
    """Log out: the session's row is deleted and the browser told to forget the cookie."""
    (await get_session(request)).invalidate()
