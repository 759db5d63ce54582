"""Writing to a conversation's history from outside Rasa's message loop.

While a person has a conversation, what the resident and the employee write never passes
through Rasa's processor, yet belongs in the conversation's tracker: a reload shows it, the
assistant sees it after the hand-back, and retention removes it with the rest. This appends
events exactly as the processor does, under the same lock store, so an append never races a
message Rasa is handling (the Redis lock store makes that hold across processes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rasa.core.agent import Agent
from rasa.core.channels.channel import OutputChannel
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

ACTION_LISTEN = "action_listen"


class AssistantNotReady(RuntimeError):
    """The Rasa agent has not loaded its model yet."""


class ConversationLog:
    """The trackers of the Rasa agent this process serves (looked up per call: Rasa replaces
    the agent when it loads a model)."""

    def __init__(self, agent: Callable[[], Agent | None]) -> None:
        self._agent = agent

    def agent(self, *, to_act: bool = False) -> Agent:
        """The agent; its stores are enough to read and write a history, acting needs the
        model too."""
        agent = self._agent()
        if agent is None or agent.tracker_store is None or agent.lock_store is None:
            raise AssistantNotReady("the assistant has not started yet")
        if to_act and not agent.is_ready():
            raise AssistantNotReady("the assistant's model is not loaded yet")
        return agent

    async def append(self, conversation_id: str, events: Sequence[Event]) -> None:
        agent = self.agent()
        async with agent.lock_store.lock(conversation_id):
            tracker = await agent.tracker_store.get_or_create_tracker(conversation_id)
            for event in events:
                tracker.update(event)
            await agent.tracker_store.save(tracker)

    async def tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        return await self.agent().tracker_store.retrieve(conversation_id)

    async def run_action(self, conversation_id: str, action: str, output: OutputChannel) -> None:
        """Let the assistant speak outside a resident's turn (e.g. when nobody answered in
        time), then listen: the resident's reply is read as the answer to it."""
        agent = self.agent(to_act=True)
        async with agent.lock_store.lock(conversation_id):
            await agent.execute_action(conversation_id, action, output, None, None)
            tracker = await agent.tracker_store.get_or_create_tracker(conversation_id)
            tracker.update(ActionExecuted(ACTION_LISTEN))
            await agent.tracker_store.save(tracker)
