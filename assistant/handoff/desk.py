"""What a KCC employee does with a conversation: take it, read it, write, and hand it back.

The staff console calls these; each checks in the store that the employee may (a claim is one
atomic UPDATE, and only the employee who holds a conversation can write in it or close it),
records what the resident will read in the conversation's tracker, and puts it on the live bus
for the resident's chat and the other consoles. The tracker write comes first: a message is
never shown live that a reload would not show again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from rasa.shared.core.events import BotUttered

from assistant.handoff import notices
from assistant.handoff.bus import CONSOLE_STREAM, LiveEvent
from assistant.handoff.callbacks import Callback, CallbackStore
from assistant.handoff.router import Router
from assistant.handoff.store import Closed, Handoff, HandoffStore, Status
from assistant.transcript import EMPLOYEE, NOTICE, Line, lines, message_id

# Events that change the queue or who holds what: every console hears of them.
QUEUE_CHANGES = frozenset({"waiting", "joined", "assistant_back", "closed"})
# The end of a window that closed already (`reply_until` when the channel cannot reach them).
CLOSED_WINDOW = datetime.fromtimestamp(0, timezone.utc)


class NotAllowed(Exception):
    """The employee may not do this (not their municipality, not theirs, no longer open)."""


class AlreadyTaken(NotAllowed):
    """A colleague took the conversation first."""


class WindowClosed(NotAllowed):
    """The resident's channel no longer takes free messages (WhatsApp: 24 hours after the
    resident's last message); the employee can still hand back or end the conversation."""


@dataclass(frozen=True)
class Employee:
    id: str
    name: str  # the first name residents read: "Sanne"
    municipalities: frozenset[str] = field(default_factory=frozenset)  # empty: all

    def serves(self, municipality: str) -> bool:
        return not self.municipalities or municipality in self.municipalities


class Desk:
    def __init__(self, store: HandoffStore, callbacks: CallbackStore, router: Router) -> None:
        self.store = store
        self.callbacks = callbacks
        self.router = router

    # --- what the console lists ------------------------------------------------------------

    async def queue(self, employee: Employee) -> list[Handoff]:
        waiting = await asyncio.to_thread(self.store.queue)
        return [handoff for handoff in waiting if employee.serves(handoff.municipality)]

    async def held(self, employee: Employee) -> list[Handoff]:
        """Conversations employees hold now (the employee's own and colleagues')."""
        taken = await asyncio.to_thread(self.store.taken)
        return [handoff for handoff in taken if employee.serves(handoff.municipality)]

    async def open_callbacks(self, employee: Employee) -> list[Callback]:
        found = await asyncio.to_thread(self.callbacks.open)
        return [callback for callback in found if employee.serves(callback.municipality)]

    async def callback_done(self, callback_id: str, employee: Employee) -> None:
        callback = await asyncio.to_thread(self.callbacks.get, callback_id)
        if callback is None or not employee.serves(callback.municipality):
            raise NotAllowed("no such callback request")
        if not await asyncio.to_thread(self.callbacks.done, callback_id, employee.id):
            raise NotAllowed("the callback request was already done")

    async def handoff_of(self, conversation_id: str, employee: Employee) -> Handoff | None:
        """The latest request of a conversation the employee's municipalities include."""
        handoff = await asyncio.to_thread(self.store.latest_for, conversation_id)
        return handoff if handoff is not None and employee.serves(handoff.municipality) else None

    async def tail(self) -> str:
        """Where a console that starts now begins reading `events`."""
        return await self.router.bus.tail(CONSOLE_STREAM)

    async def events(
        self, employee: Employee, after: str, block_ms: int
    ) -> tuple[list[LiveEvent], str]:
        """What changed since `after` (a console passes the last id it saw, so a reconnect
        misses nothing), and the id to read after next time.

        Employees see what they need: the words of a conversation only when they hold it; of
        the rest only that the queue changed.
        """
        events = await self.router.bus.read(CONSOLE_STREAM, after=after, block_ms=block_ms)
        if not events:
            return [], after
        mine = {
            handoff.conversation_id
            for handoff in await asyncio.to_thread(self.store.taken)
            if handoff.employee_id == employee.id
        }
        shown = []
        for event in events:
            if event.conversation_id in mine:
                shown.append(event)
            elif event.kind in QUEUE_CHANGES:
                shown.append(replace(event, text="", buttons=()))
        return shown, events[-1].id

    # --- one conversation --------------------------------------------------------------------

    async def take(self, handoff_id: str, employee: Employee) -> Handoff:
        handoff = await asyncio.to_thread(self.store.get, handoff_id)
        if handoff is None or not employee.serves(handoff.municipality):
            raise NotAllowed("no such conversation")
        taken = await asyncio.to_thread(self.store.claim, handoff_id, employee.id, employee.name)
        if taken is None:
            raise AlreadyTaken("a colleague took this conversation")
        at = datetime.now(timezone.utc)
        text = notices.joined(employee.name)
        await self.router.log.append(
            taken.conversation_id,
            [
                BotUttered(
                    text,
                    metadata={NOTICE: True, EMPLOYEE: employee.name},
                    timestamp=at.timestamp(),
                )
            ],
        )
        await self.router.publish(
            LiveEvent("joined", taken.conversation_id, text=text, employee=employee.name, at=at)
        )
        return taken

    async def transcript(self, handoff_id: str, employee: Employee) -> list[Line]:
        handoff = await self._held_by(handoff_id, employee)
        tracker = await self.router.log.tracker(handoff.conversation_id)
        return lines(tracker.events) if tracker is not None else []

    async def reply_until(self, conversation_id: str) -> datetime | None:
        """Until when an employee can write to the resident: None when their channel sets no
        limit (the web chat), else the end of its window (in the past once closed)."""
        channel = self.router.push_channel(conversation_id)
        if channel is None:
            return None
        return await channel.reply_until(conversation_id) or CLOSED_WINDOW

    async def send(self, handoff_id: str, employee: Employee, text: str) -> Line:
        handoff = await self._held_by(handoff_id, employee)
        at = datetime.now(timezone.utc)
        until = await self.reply_until(handoff.conversation_id)
        if until is not None and until <= at:
            raise WindowClosed("the resident's channel takes no messages any more")
        await self.router.log.append(
            handoff.conversation_id,
            [BotUttered(text, metadata={EMPLOYEE: employee.name}, timestamp=at.timestamp())],
        )
        await self.router.publish(
            LiveEvent("employee", handoff.conversation_id, text=text, employee=employee.name, at=at)
        )
        return Line(message_id(at.timestamp(), text), "employee", text, at, employee.name)

    async def typing(self, handoff_id: str, employee: Employee, active: bool) -> None:
        handoff = await self._held_by(handoff_id, employee)
        await self.router.publish(
            LiveEvent("typing", handoff.conversation_id, employee=employee.name, active=active)
        )

    async def hand_back(self, handoff_id: str, employee: Employee) -> None:
        """ "Terug naar de assistent": the assistant answers the resident's next message."""
        await self._close(handoff_id, employee, Closed.TO_ASSISTANT)

    async def end(self, handoff_id: str, employee: Employee) -> None:
        """ "Afsluiten": the employee is done; the assistant takes any later message."""
        await self._close(handoff_id, employee, Closed.ENDED)

    # --- helpers -------------------------------------------------------------------------------

    async def _held_by(self, handoff_id: str, employee: Employee) -> Handoff:
        handoff = await asyncio.to_thread(self.store.get, handoff_id)
        if (
            handoff is None
            or handoff.status is not Status.TAKEN
            or handoff.employee_id != employee.id
        ):
            raise NotAllowed("this conversation is not yours (any more)")
        return handoff

    async def _close(self, handoff_id: str, employee: Employee, how: Closed) -> None:
        handoff = await self._held_by(handoff_id, employee)
        if not await asyncio.to_thread(self.store.close, handoff_id, how, employee_id=employee.id):
            raise NotAllowed("this conversation is not yours (any more)")
        back = how is Closed.TO_ASSISTANT
        notice = notices.handed_back(employee.name) if back else notices.ended(employee.name)
        at = await self.router.resume(handoff.conversation_id, notice, employee.name)
        await self.router.publish(
            LiveEvent(
                "assistant_back" if back else "closed",
                handoff.conversation_id,
                text=notice,
                employee=employee.name,
                at=datetime.fromtimestamp(at, timezone.utc),
            )
        )
