"""The console's routes for the KCC desk: the queue page's script, the JSON API and the live feed.

`desk_routes(desk)` returns what `create_app(extra_routes=...)` adds (host.py), so every route
is behind the login and CSRF checks of `app.py`. The page itself is `templates/home.html`
(app.py's `/`), driven by `static/desk.js`.

| route | answer |
|---|---|
| GET  /api/state | {now, queue: [Waiting], mine: [Held], held: [Held], callbacks: [Callback]} |
| POST /api/conversations/{id}/take | {conversation: Held}; again by the same employee: the same |
| GET  /api/conversations/{id}/transcript | {lines: [{id, role, text, at, employee}]} |
| GET  /api/conversations/{id}/answers | {municipality_name, answers: [{title, text}]} |
| POST /api/conversations/{id}/messages | {text} → 201 {line} |
| POST /api/conversations/{id}/typing | {active: bool} → 204 |
| POST /api/conversations/{id}/hand-back | 204 ("Terug naar de assistent") |
| POST /api/conversations/{id}/end | 204 ("Afsluiten") |
| POST /api/callbacks/{id}/done | 204 ("Afgehandeld") |
| POST /api/session | {expires_at, now}: the employee stays logged in (renews the session) |
| GET  /api/live?csrf_token=…&after=… | WebSocket, see `live.py` |

The shapes are `desk_json.py`'s. Refusals are `{"error": "<Dutch>"}`: 400 bad input, 403 not
allowed, 404 no such conversation, 409 a colleague was first or it was closed meanwhile, 429
too many messages. `{id}` is a handoff request's id (32 hex digits; anything else is a 404).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from assistant.console.context import current_employee
from assistant.console.desk_input import (
    BadInput,
    active_flag,
    employee_text,
    json_object,
)
from assistant.console.desk_json import (
    answers_json,
    desk_state,
    held_json,
    municipality_name,
    standard_answers,
)
from assistant.console.live import LiveOptions, add_live_route, stay_logged_in
from assistant.console.pages import STATIC_DIR
from assistant.handoff.desk import AlreadyTaken, Desk, Employee, NotAllowed, WindowClosed
from assistant.handoff.store import Handoff, Status
from assistant.ratelimit import Limit, RateLimiter, rate_limiter
from assistant.settings import load_settings

ID = r"{id:[0-9a-f]{32}}"

NO_SUCH_CONVERSATION = "Dit gesprek bestaat niet (meer). Laad de pagina opnieuw."
NOT_YOUR_MUNICIPALITY = "Dit gesprek is van een gemeente waarvoor u niet werkt."
ALREADY_TAKEN = "Een collega heeft dit gesprek al overgenomen."
STOPPED_WAITING = "Deze inwoner wacht niet meer. Het gesprek staat niet meer in de wachtrij."
NOT_YOURS = "Dit gesprek is niet (meer) van u. Een collega heeft het, of het is afgesloten."
CLOSED = "Dit gesprek is al afgesloten."
WINDOW_CLOSED = (
    "U kunt deze inwoner niet meer via WhatsApp schrijven: het laatste bericht is meer dan "
    "24 uur oud. Geef het gesprek terug of sluit het af. Bel de inwoner als dat nodig is."
)
NO_SUCH_CALLBACK = "Dit terugbelverzoek bestaat niet, of is van een andere gemeente."
CALLBACK_DONE = "Een collega heeft dit terugbelverzoek al afgehandeld."
TOO_MANY = "U stuurt veel berichten kort na elkaar. Wacht even en probeer het dan opnieuw."


@dataclass(frozen=True)
class DeskOptions:
    """Limits and timings of the desk's routes; the defaults are production's."""

    # Messages one employee may send in any minute, over all their conversations.
    messages_per_minute: int = 30
    # An employee's "typing: true" reaches the resident at most this often (the page repeats
    # it while the employee types; the widget hides a stale indicator after 10 s).
    typing_every_seconds: float = 2.0
    live: LiveOptions = field(default_factory=LiveOptions)


def employee_of(request: web.Request) -> Employee:
    account = current_employee(request)
    return Employee(account.id, account.display_name, frozenset(account.municipalities))


def refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def desk_routes(
    desk: Desk,
    *,
    limiter: RateLimiter | None = None,
    options: DeskOptions | None = None,
) -> Callable[[web.Application], None]:
    """The routes above on `desk`. `limiter` counts employees' messages (default: Redis when
    REDIS_URL is set, shared by every console process; else in this process)."""
    options = options or DeskOptions()
    own_limiter = limiter is None
    if limiter is None:
        limiter = rate_limiter(load_settings().redis_url, prefix="ratelimit:console:")
    message_limit = Limit(options.messages_per_minute, 60)
    typing_sent: dict[tuple[str, str], float] = {}

    async def refusal_for(handoff_id: str, employee: Employee) -> web.Response:
        """Why the desk refused `employee` a conversation, said as precisely as is safe."""
        handoff = await asyncio.to_thread(desk.store.get, handoff_id)
        if handoff is None:
            return refuse(404, NO_SUCH_CONVERSATION)
        if not employee.serves(handoff.municipality):
            return refuse(403, NOT_YOUR_MUNICIPALITY)
        if handoff.status is Status.CLOSED:
            return refuse(409, CLOSED)
        return refuse(403, NOT_YOURS)

    def held_conversation(
        act: Callable[[web.Request, str, Employee], Awaitable[web.StreamResponse]],
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """A handler on one conversation: bad input is a 400, a refusal of the desk explained."""

        async def handler(request: web.Request) -> web.StreamResponse:
            handoff_id, employee = request.match_info["id"], employee_of(request)
            try:
                return await act(request, handoff_id, employee)
            except BadInput as error:
                return refuse(400, error.message)
            except NotAllowed:
                return await refusal_for(handoff_id, employee)

        return handler

    async def state(request: web.Request) -> web.Response:
        return web.json_response((await desk_state(desk, employee_of(request))).body)

    async def take(request: web.Request) -> web.Response:
        handoff_id, employee = request.match_info["id"], employee_of(request)
        try:
            taken = await desk.take(handoff_id, employee)
        except AlreadyTaken:
            handoff = await asyncio.to_thread(desk.store.get, handoff_id)
            if handoff is not None and handoff.employee_id == employee.id and _taken(handoff):
                until = await desk.reply_until(handoff.conversation_id)  # a double click
                return web.json_response({"conversation": held_json(handoff, until)})
            if handoff is not None and handoff.status is Status.CLOSED:
                return refuse(409, STOPPED_WAITING)
            return refuse(409, ALREADY_TAKEN)
        except NotAllowed:
            return await refusal_for(handoff_id, employee)
        until = await desk.reply_until(taken.conversation_id)
        return web.json_response({"conversation": held_json(taken, until)})

    async def transcript(_: web.Request, handoff_id: str, employee: Employee) -> web.Response:
        found = await desk.transcript(handoff_id, employee)
        return web.json_response({"lines": [line.as_json() for line in found]})

    async def answers(_: web.Request, handoff_id: str, employee: Employee) -> web.Response:
        handoff = await asyncio.to_thread(desk.store.get, handoff_id)
        if handoff is None or not employee.serves(handoff.municipality):
            raise NotAllowed("no such conversation")
        return web.json_response(
            {
                "municipality_name": municipality_name(handoff.municipality),
                "answers": answers_json(standard_answers(handoff.municipality)),
            }
        )

    async def send(request: web.Request, handoff_id: str, employee: Employee) -> web.Response:
        text = employee_text((await json_object(request)).get("text"))
        if not await limiter.allow(f"send:{employee.id}", message_limit):
            return web.json_response({"error": TOO_MANY}, status=429, headers={"Retry-After": "60"})
        try:
            line = await desk.send(handoff_id, employee, text)
        except WindowClosed:
            return refuse(422, WINDOW_CLOSED)
        _forget_typing(employee, handoff_id)
        return web.json_response({"line": line.as_json()}, status=201)

    async def typing(request: web.Request, handoff_id: str, employee: Employee) -> web.Response:
        active = active_flag(await json_object(request))
        key, now = (employee.id, handoff_id), time.monotonic()
        last = typing_sent.get(key)
        if active and last is not None and now - last < options.typing_every_seconds:
            return web.Response(status=204)  # said a moment ago; the resident still sees it
        await desk.typing(handoff_id, employee, active)
        if active:
            _remember_typing(key, now)
        else:
            typing_sent.pop(key, None)
        return web.Response(status=204)

    def _remember_typing(key: tuple[str, str], now: float) -> None:
        if len(typing_sent) > 10_000:  # forget conversations nobody typed in for a minute
            for stale in [k for k, at in typing_sent.items() if now - at > 60]:
                del typing_sent[stale]
        typing_sent[key] = now

    def _forget_typing(employee: Employee, handoff_id: str) -> None:
        typing_sent.pop((employee.id, handoff_id), None)

    async def hand_back(_: web.Request, handoff_id: str, employee: Employee) -> web.Response:
        await desk.hand_back(handoff_id, employee)
        _forget_typing(employee, handoff_id)
        return web.Response(status=204)

    async def end(_: web.Request, handoff_id: str, employee: Employee) -> web.Response:
        await desk.end(handoff_id, employee)
        _forget_typing(employee, handoff_id)
        return web.Response(status=204)

    async def callback_done(request: web.Request) -> web.Response:
        callback_id, employee = request.match_info["id"], employee_of(request)
        try:
            await desk.callback_done(callback_id, employee)
        except NotAllowed:
            callback = await asyncio.to_thread(desk.callbacks.get, callback_id)
            if callback is not None and employee.serves(callback.municipality):
                return refuse(409, CALLBACK_DONE)
            return refuse(404, NO_SUCH_CALLBACK)
        return web.Response(status=204)

    async def script(_: web.Request) -> web.Response:
        body = await asyncio.to_thread((STATIC_DIR / "desk.js").read_bytes)
        return web.Response(body=body, content_type="text/javascript", charset="utf-8")

    async def close_limiter(_: web.Application) -> None:
        close = getattr(limiter, "close", None)
        if own_limiter and close is not None:
            await close()

    def add(app: web.Application) -> None:
        conversation = f"/api/conversations/{ID}"
        app.router.add_get("/static/desk.js", script)
        app.router.add_get("/api/state", state)
        app.router.add_post(f"{conversation}/take", take)
        app.router.add_get(f"{conversation}/transcript", held_conversation(transcript))
        app.router.add_get(f"{conversation}/answers", held_conversation(answers))
        app.router.add_post(f"{conversation}/messages", held_conversation(send))
        app.router.add_post(f"{conversation}/typing", held_conversation(typing))
        app.router.add_post(f"{conversation}/hand-back", held_conversation(hand_back))
        app.router.add_post(f"{conversation}/end", held_conversation(end))
        app.router.add_post(f"/api/callbacks/{ID}/done", callback_done)
        app.router.add_post("/api/session", stay_logged_in)
        add_live_route(app, desk, employee_of, options.live)
        app.on_cleanup.append(close_limiter)

    return add


def _taken(handoff: Handoff) -> bool:
    return handoff.status is Status.TAKEN
