"""What the JCC and Qmatic apps share around their agenda store, so that only the wire differs.

Both run blocking store calls in a thread (so concurrent bookings really race in the database),
run on a fixed date in tests, answer a crash in their vendor's 500 shape, and dispose of their
engine when the app stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar

from aiohttp import web
from sqlalchemy.engine import Engine

from assistant.backends.appointments.calendar import local_today
from assistant.sandbox.agenda import Agenda

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
S = TypeVar("S", bound=Agenda)
T = TypeVar("T")


class AgendaApi(Generic[S]):
    """The handlers' base: `store` is the stand-in's agenda, `today` fixes the date (tests)."""

    def __init__(self, store: S, today: date | None) -> None:
        self.store, self._today = store, today

    def today(self) -> date:
        return self._today or local_today()

    async def db(self, work: Callable[..., T], *args: Any) -> T:
        """Blocking database work, off the event loop."""
        return await asyncio.to_thread(work, *args)

    async def free_on(self, place_id: str, day: date) -> list[datetime]:
        """The free times at the place on `day`: what a booking must pick from."""
        end = day + timedelta(days=1)
        return await self.db(self.store.free_slots, place_id, self.today(), day, end)

    @web.middleware
    async def internal_errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as error:
            return self.crashed(request, error)

    def crashed(self, request: web.Request, error: Exception) -> web.Response:
        """The vendor's answer to an unexpected failure."""
        raise NotImplementedError


def dispose_on_cleanup(app: web.Application, engine: Engine) -> None:
    """Close the stand-in's database connections when the app stops."""

    async def dispose(_: web.Application) -> None:
        engine.dispose()

    app.on_cleanup.append(dispose)
