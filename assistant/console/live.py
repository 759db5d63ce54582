"""The console's live feed: one WebSocket per open page, `GET /api/live?csrf_token=…&after=…`.

The socket streams what `Desk.events` lets the employee see, from `after` (the last event id the
page saw, so a page that reconnects misses nothing and gets nothing twice) or else from now
(`Desk.tail`, read before the first state is made, so nothing falls between them). Messages,
all JSON objects with a `type`:

- `{"type": "state", "state": <GET /api/state>}` on connecting, after every batch of events
  that changed the queue (waiting, joined, assistant_back, closed), and every
  `state_every_seconds` (callback requests have no live event of their own);
- `{"type": "event", "id", "kind", "conversation", "message_id", "text", "employee", "at",
  "active"}` (`desk_json.event_json`): `conversation` is the handoff request's id; events of
  conversations outside the employee's municipalities are left out, and the words of a
  conversation only reach the employee who holds it;
- `{"type": "cursor", "after": "<id>"}` on connecting (where the feed starts), and when
  events were read but none was for this employee, so a reconnect starts after them;
- `{"type": "session", "expires_at", "now"}` when the session's end is known or moved, so the
  page can warn before it ends (WCAG 2.2.1) and offer "Ingelogd blijven" (`POST /api/session`).

Sessions still end after inactivity: the socket is one request, which does not renew the
session, and the state is pushed over the socket instead of fetched, so a page left open does
not keep itself logged in. Every `session_check_seconds` the socket reads the session's end
(without renewing it); once it has passed, or the session was ended (logout, new password,
removed account), the socket closes with code 4401 and the page goes to /login. Only what the
employee does renews the session: loading the page, taking over, sending, typing, "Ingelogd
blijven". When the bus or the database fails, the socket closes with 1011 and the page
reconnects with backoff; on shutdown with 1001.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp_session import get_session

from assistant.console.context import SESSIONS
from assistant.console.desk_json import desk_state, event_json
from assistant.handoff.bus import BusUnavailable, parse_id
from assistant.handoff.desk import QUEUE_CHANGES, Desk, Employee

log = logging.getLogger(__name__)

SESSION_ENDED = 4401  # the application's range (4000-4999): the page goes to /login
BAD_AFTER = "De plek in de berichtenstroom (after) klopt niet. Laad de pagina opnieuw."
UNAVAILABLE = "De live berichten zijn nu niet beschikbaar. De pagina probeert het opnieuw."
SOCKETS = web.AppKey("console_live_sockets", weakref.WeakSet)


@dataclass(frozen=True)
class LiveOptions:
    """Timings of the live feed; tests make them short."""

    # How long one read of the bus waits for events; between reads the socket checks the
    # session and the state's age, so this bounds how late those checks can be.
    block_ms: int = 10_000
    session_check_seconds: float = 20.0
    state_every_seconds: float = 30.0
    heartbeat_seconds: float = 30.0


async def session_end(request: web.Request, key: str | None) -> dt.datetime | None:
    """The end of the session `key`, None when it has passed (by the console's clock)."""
    if key is None:
        return None
    ends = await asyncio.to_thread(request.app[SESSIONS].ends_at, key)
    now = request.app[SESSIONS].now()
    return ends if ends is not None and ends > now else None


def _session_json(request: web.Request, ends: dt.datetime) -> dict[str, Any]:
    return {
        "type": "session",
        "expires_at": ends.astimezone(dt.timezone.utc).isoformat(),
        "now": request.app[SESSIONS].now().isoformat(),
    }


async def stay_logged_in(request: web.Request) -> web.Response:
    """POST /api/session: "Ingelogd blijven". The request itself renews the session (the
    session middleware moves its end); the answer says the new end."""
    ends = await session_end(request, (await get_session(request)).identity)
    if ends is None:
        return web.json_response({"error": "U bent niet (meer) ingelogd."}, status=401)
    body = _session_json(request, ends)
    del body["type"]
    return web.json_response(body)


def add_live_route(
    app: web.Application,
    desk: Desk,
    employee_of: Callable[[web.Request], Employee],
    options: LiveOptions,
) -> None:
    """`GET /api/live` on `app`; open sockets are closed (1001) when the app shuts down."""
    app[SOCKETS] = weakref.WeakSet()

    async def live(request: web.Request) -> web.StreamResponse:
        employee = employee_of(request)
        after = request.query.get("after", "")
        try:
            parse_id(after)
        except ValueError:
            return web.json_response({"error": BAD_AFTER}, status=400)
        key = (await get_session(request)).identity
        try:
            start = after or await desk.tail()
        except BusUnavailable as error:
            log.error("console live feed: the bus is unavailable: %s", error)
            return web.json_response({"error": UNAVAILABLE}, status=503)
        socket = web.WebSocketResponse(heartbeat=options.heartbeat_seconds, max_msg_size=4096)
        await socket.prepare(request)
        request.app[SOCKETS].add(socket)
        feed = _Feed(request, socket, desk, employee, key, options)
        pump = asyncio.create_task(feed.run(start), name="console-live-pump")
        reader = asyncio.create_task(_drain(socket), name="console-live-reader")
        try:
            done, _ = await asyncio.wait({pump, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, reader):
                task.cancel()
            for task in (pump, reader):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if pump in done and not socket.closed:
            code, reason = pump.result()
            await socket.close(code=code, message=reason.encode())
        return socket

    async def close_sockets(app: web.Application) -> None:
        for socket in list(app[SOCKETS]):
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopt")

    app.router.add_get("/api/live", live)
    app.on_shutdown.append(close_sockets)


async def _drain(socket: web.WebSocketResponse) -> None:
    """Read what the page sends (nothing is expected) until it closes; this also answers
    pings and notices a page that is gone."""
    async for message in socket:
        if message.type is WSMsgType.ERROR:
            return


class _Feed:
    """What one socket sends, from `start` on, until the session ends or the bus fails."""

    def __init__(
        self,
        request: web.Request,
        socket: web.WebSocketResponse,
        desk: Desk,
        employee: Employee,
        key: str | None,
        options: LiveOptions,
    ) -> None:
        self.request, self.socket, self.desk = request, socket, desk
        self.employee, self.key, self.options = employee, key, options
        # conversation id -> handoff id: of the last two states (`names`), of the last one.
        self.names: dict[str, str] = {}
        self.last_names: dict[str, str] = {}
        self.session_ends: dt.datetime | None = None

    async def run(self, start: str) -> tuple[int, str]:
        """Returns the close code and reason; ends early when the page goes away."""
        try:
            return await self._run(start)
        except BusUnavailable as error:
            log.error("console live feed: the bus is unavailable: %s", error)
        except ConnectionResetError:
            return WSCloseCode.GOING_AWAY, "verbinding verbroken"
        except Exception:
            log.exception("console live feed failed")
        return WSCloseCode.INTERNAL_ERROR, "live berichten niet beschikbaar"

    async def _run(self, after: str) -> tuple[int, str]:
        loop = asyncio.get_running_loop()
        if not await self._check_session():
            return SESSION_ENDED, "sessie verlopen"
        # Where this feed starts, so a page that reconnects before any event came resumes here.
        await self.socket.send_json({"type": "cursor", "after": after})
        await self._send_state()
        next_check = loop.time() + self.options.session_check_seconds
        next_state = loop.time() + self.options.state_every_seconds
        while True:
            events, read_up_to = await self.desk.events(self.employee, after, self.options.block_ms)
            changed = any(event.kind in QUEUE_CHANGES for event in events)
            if changed:
                await self._send_state()
                next_state = loop.time() + self.options.state_every_seconds
            sent = 0
            for event in events:
                handoff_id = await self._name(event.conversation_id)
                if handoff_id is not None:
                    await self.socket.send_json(event_json(event, handoff_id))
                    sent += 1
            if read_up_to != after and (sent == 0 or events[-1].id != read_up_to):
                await self.socket.send_json({"type": "cursor", "after": read_up_to})
            after = read_up_to
            now = loop.time()
            if now >= next_check:
                if not await self._check_session():
                    return SESSION_ENDED, "sessie verlopen"
                next_check = now + self.options.session_check_seconds
            if now >= next_state:
                await self._send_state()
                next_state = now + self.options.state_every_seconds

    async def _name(self, conversation_id: str) -> str | None:
        """The handoff id the page knows a conversation by. The state's queries can miss a
        request that moved between them (taken while the state was read): then the store
        is asked for that one."""
        if conversation_id not in self.names:
            handoff = await self.desk.handoff_of(conversation_id, self.employee)
            if handoff is None:
                return None
            self.names[conversation_id] = handoff.id
        return self.names[conversation_id]

    async def _send_state(self) -> None:
        state = await desk_state(self.desk, self.employee)
        # The last state's names too: a "closed" event names a request the new state lacks.
        self.names = {**self.last_names, **state.names}
        self.last_names = state.names
        await self.socket.send_json({"type": "state", "state": state.body})

    async def _check_session(self) -> bool:
        ends = await session_end(self.request, self.key)
        if ends is None:
            return False
        if ends != self.session_ends:
            self.session_ends = ends
            await self.socket.send_json(_session_json(self.request, ends))
        return True
